"""Explain a step in plain words, tied to the kernel path that produced each event.

Two tables of rows, each a condition and the sentence it gives, read top to bottom; the first
row that matches speaks, and the last row of each table catches everything else. The rows
read typed trace fields (EventKind, MFMsg, MFResult, InjectSource, VmFault) and a frozen
``Context`` built once per step, never display labels or log text, nor the live kernel.
The widgets show these sentences under the heatmap, so a learner reads *why* the cells
changed, e.g. that the whole hugepage was unmapped because memory_failure() ->
me_huge_page() ran on a memfd without MFD_MF_KEEP_UE_MAPPED.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from ..model import (
    BUS_MCEERR_AO,
    BUS_MCEERR_AR,
    Access,
    EventKind,
    InjectSource,
    MFMsg,
    MFResult,
    TraceEvent,
)
from ..model.mm import VmFault

_SIZE_WORDS = {21: "2 MiB", 30: "1 GiB", 12: "4 KiB"}


@dataclasses.dataclass(frozen=True)
class Context:
    """What one step's explanation may look at, gathered once when the step is taken."""

    events: tuple[TraceEvent, ...]
    access: Access | None = None
    error: str | None = None
    op: str = ""  # the action: "inject", "load", "close", ...
    vmm_pid: int | None = None
    keep_folios: frozenset[int] = frozenset()  # hugepages of a MFD_MF_KEEP_UE_MAPPED memfd
    released: bool = False  # the guest memfd is released after the step
    software_poisoned: bool = False  # the accessed 4 KiB page is hwpoison from a software injection

    @property
    def unmapped(self) -> bool:
        return any(x.kind is EventKind.UNMAP for x in self.events)

    @property
    def dissolved(self) -> bool:
        return any(x.kind is EventKind.DISSOLVE for x in self.events)


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of a table: when ``when`` holds for the event, ``say`` gives the sentence
    (None: this event needs no sentence)."""

    when: Callable[[TraceEvent, Context], bool]
    say: Callable[[TraceEvent, Context], str | None]


def _always(e: TraceEvent, c: Context) -> bool:
    return True


def _where(e: TraceEvent) -> str:
    return f"memory_failure({e.pfn:#x})"


def _free_huge(e: TraceEvent, c: Context) -> str:
    text = (
        f"{_where(e)}: the hugepage was free, so the kernel dissolved it at once "
        "(nr_hugepages - 1); only the bad 4 KiB page stays isolated."
    )
    if e.mf_result is not MFResult.RECOVERED:  # 6.1, a free 1 GiB page (docs/kernel.md R5.4)
        text += " This kernel reports it as Failed all the same."
    return text


#: memory_failure() outcomes: what the kernel did with the poisoned hugepage.
MEMORY_FAILURE_ROWS: tuple[Row, ...] = (
    Row(
        lambda e, c: e.mf_type is MFMsg.ALREADY_POISONED,
        lambda e, c: (
            f"{_where(e)}: this 4 KiB page was already poisoned, so the kernel only re-sends "
            "SIGBUS to the task that touched it (kill_accessing_process); no counter changes."
        ),
    ),
    Row(
        lambda e, c: e.mf_type is MFMsg.FREE_HUGE and not c.dissolved,
        lambda e, c: (
            f"{_where(e)}: the free hugepage could not be dissolved; it stays poisoned, unused."
        ),
    ),
    Row(lambda e, c: e.mf_type is MFMsg.FREE_HUGE, _free_huge),
    Row(
        lambda e, c: e.mf_result is MFResult.FAILED,
        lambda e, c: (
            f"{_where(e)}: a new bad 4 KiB page in a hugepage that is already hard-offlined: "
            "recorded (HardwareCorrupted + 4 kB) but nothing more can be done (Failed)."
        ),
    ),
    Row(
        lambda e, c: c.unmapped,
        lambda e, c: (
            f"{_where(e)} -> me_huge_page() on a memfd without MFD_MF_KEEP_UE_MAPPED: the whole "
            "hugepage was unmapped from every process (hard offline). Any byte of it now "
            "gives SIGBUS."
        ),
    ),
    Row(
        lambda e, c: c.dissolved,
        lambda e, c: f"{_where(e)}: an anonymous hugepage is dissolved at once.",
    ),
    Row(
        lambda e, c: e.folio in c.keep_folios,
        lambda e, c: (
            f"{_where(e)} -> me_huge_page() with MFD_MF_KEEP_UE_MAPPED (proposed): the hugepage "
            "stays mapped; only this 4 KiB page is recorded as lost, in the raw-error list."
        ),
    ),
    Row(
        _always,
        lambda e, c: (
            f"{_where(e)}: hugepage marked hwpoison; nobody had it mapped, so no process was "
            "told. The next access will fault."
        ),
    ),
)


def _kind(kind: EventKind) -> Callable[[TraceEvent, Context], bool]:
    return lambda e, c: e.kind is kind


def _source(source: InjectSource) -> Callable[[TraceEvent, Context], bool]:
    return lambda e, c: e.kind is EventKind.INJECT and e.source is source


#: every other event, in the order things happened.
EVENT_ROWS: tuple[Row, ...] = (
    Row(
        _source(InjectSource.MADV_HWPOISON),
        lambda e, c: (
            f"madvise(MADV_HWPOISON) asked the kernel to treat pfn {e.pfn:#x} as "
            "corrupted: a software injection, the data itself stays intact."
        ),
    ),
    Row(
        _source(InjectSource.CORRUPT_PFN),
        lambda e, c: (
            f"The hwpoison-inject file injected an error at pfn {e.pfn:#x} "
            "(software: the data stays intact; nobody is told unless early-kill)."
        ),
    ),
    Row(
        _source(InjectSource.HW_LATENT),
        lambda e, c: (
            f"A real uncorrected error appeared in DRAM at pfn {e.pfn:#x}: those 4 KiB "
            "are lost, but nothing notices until something reads them."
        ),
    ),
    Row(
        lambda e, c: e.kind is EventKind.MACHINE_CHECK and e.pid is not None,
        lambda e, c: (
            "A load consumed the bad memory: the CPU raised a machine check and the "
            "kernel called memory_failure(pfn, MF_ACTION_REQUIRED)."
        ),
    ),
    Row(
        _kind(EventKind.MACHINE_CHECK),
        lambda e, c: (
            "The patrol scrubber found the error and reported it: "
            "memory_failure(pfn, 0), action optional."
        ),
    ),
    Row(_kind(EventKind.SIGNAL), lambda e, c: f"Signal {e.text} to process {e.pid}."),
    Row(
        _kind(EventKind.RELEASE),
        lambda e, c: (
            "That was the last reference (no fd, no mapping): the memfd is released and "
            "its hugepages are removed (hugetlbfs_evict_inode -> remove_inode_hugepages)."
        ),
    ),
    Row(
        _kind(EventKind.LEAK),
        lambda e, c: (
            f"Stock: poisoned hugepage #{e.folio} left the page cache but is never freed: "
            "it is leaked (nr_hugepages unchanged, HugePages_Free stays lower)."
        ),
    ),
    Row(
        _kind(EventKind.DISSOLVE),
        lambda e, c: (
            f"Hugepage #{e.folio} was dissolved: nr_hugepages - 1; its healthy 4 KiB pages "
            "go back to the buddy allocator and its poisoned ones are isolated forever."
        ),
    ),
    Row(
        _kind(EventKind.FREE),
        lambda e, c: f"Healthy hugepage #{e.folio} went back to the free list.",
    ),
    Row(_kind(EventKind.FAULT), lambda e, c: f"A page fault mapped hugepage #{e.folio} again."),
    Row(_kind(EventKind.EXIT), lambda e, c: f"{e.text}: its mappings and fds were dropped."),
    Row(_always, lambda e, c: None),
)

#: what a step that left no trace of its own says.
QUIET_ROWS: tuple[tuple[Callable[[Context], bool], str], ...] = (
    (
        lambda c: c.op == "close" and not c.released,
        "close() dropped the fd, but the mapping still holds the memfd: nothing is "
        "released, and a poisoned hugepage stays as it is (closed is not released).",
    ),
    (
        lambda c: c.op == "munmap",
        "munmap() removed the mapping; the memfd (still open) keeps its pages.",
    ),
    (lambda c: True, "Nothing changed in the kernel's memory-failure state."),
)


def _first(rows: Sequence[Row], e: TraceEvent, c: Context) -> str | None:
    return next(row.say(e, c) for row in rows if row.when(e, c))


def _signal(e: TraceEvent, c: Context) -> str:
    who = "the VMM" if e.pid == c.vmm_pid else f"process {e.pid}"
    lsb = e.addr_lsb or 0
    if e.si_code == BUS_MCEERR_AR:
        code = "BUS_MCEERR_AR (action required: it touched, or injected, the error)"
    else:
        code = "BUS_MCEERR_AO (action optional: it asked to be told early)"
    text = f"SIGBUS {code} went to {who} at {e.addr:#x} with si_addr_lsb = {lsb}"
    if lsb == 12:
        return text + ": it knows exactly which 4 KiB page is lost, and can keep the rest."
    if lsb in _SIZE_WORDS:
        return text + f": it must treat the whole {_SIZE_WORDS[lsb]} around it as lost."
    return text + "."


_HWPOISON_FAULT = (
    "The page fault found a hard-offlined hugepage (a hwpoison entry, or a poisoned "
    "page in the page cache): do_sigbus() sends SIGBUS at the exact byte."
)


def explain(c: Context) -> list[str]:
    """The sentences for one step, in the order things happened."""
    words: list[str] = []
    if c.error:
        words.append(f"Refused: {c.error}.")
    # kill_procs() signals before action_result() logs the outcome; the learner reads the
    # outcome first, then who was told.
    pending: list[str] = []
    for e in c.events:
        if e.kind is EventKind.SIGNAL and e.si_code in (BUS_MCEERR_AR, BUS_MCEERR_AO):
            if e.fault is VmFault.HWPOISON_LARGE:
                words.append(_HWPOISON_FAULT)
            pending.append(_signal(e, c))
        elif e.kind is EventKind.MEMORY_FAILURE:
            words.append(_first(MEMORY_FAILURE_ROWS, e, c) or "")
            words += pending
            pending = []
        elif (sentence := _first(EVENT_ROWS, e, c)) is not None:
            words.append(sentence)
    words += pending
    if c.access is not None and c.access.ok:
        shown = "" if c.access.data is None else f" and read {c.access.data.hex(' ')}"
        if c.software_poisoned:
            words.append(
                f"The access completed{shown}, with no signal, although this 4 KiB page is "
                "marked hwpoison: a software injection marks the page but leaves its data "
                "intact, and MFD_MF_KEEP_UE_MAPPED keeps the hugepage mapped, so the load "
                "reads it. A real uncorrected error here would have destroyed the data and "
                "raised SIGBUS."
            )
        else:
            words.append(f"The access completed{shown}: healthy memory, no signal.")
    if not words:
        words.append(next(say for when, say in QUIET_ROWS if when(c)))
    return words


def path_stage(c: Context) -> str | None:
    """Which step of the error's path (plots/diagram.py KEYS) this step shows, if any: the
    release when a poisoned hugepage left the page cache, else the policy memory_failure()
    applied, else a hardware error still waiting in DRAM."""
    kinds = {e.kind for e in c.events}
    # A dissolve in the same step as memory_failure() is a free hugepage's, not a release.
    if EventKind.DISSOLVE in kinds and EventKind.MEMORY_FAILURE not in kinds:
        return "keep_release"
    if EventKind.LEAK in kinds:
        return "stock_release"
    for e in c.events:
        if e.kind is EventKind.MEMORY_FAILURE and e.folio is not None:
            return "keep" if e.folio in c.keep_folios else "stock"
    if any(e.kind is EventKind.INJECT and e.source is InjectSource.HW_LATENT for e in c.events):
        return "error"
    return None
