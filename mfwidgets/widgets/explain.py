"""Explain a step in plain words, tied to the kernel path that produced each event.

Pure functions over trace events: the widgets show these sentences under the heatmap, so a
learner reads *why* the cells changed, e.g. that the whole hugepage was unmapped because
memory_failure() -> me_huge_page() ran on a memfd without MFD_MF_KEEP_UE_MAPPED.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..model import BUS_MCEERR_AO, BUS_MCEERR_AR, Access, EventKind, TraceEvent

if TYPE_CHECKING:
    from .session import Session

_SIZE_WORDS = {21: "2 MiB", 30: "1 GiB", 12: "4 KiB"}


def _signal(e: TraceEvent, s: Session) -> str:
    who = "the VMM" if e.pid == s.vmm.pid else f"process {e.pid}"
    lsb = e.addr_lsb or 0
    if e.si_code == BUS_MCEERR_AR:
        code = "BUS_MCEERR_AR (action required: it touched, or injected, the error)"
    elif e.si_code == BUS_MCEERR_AO:
        code = "BUS_MCEERR_AO (action optional: it asked to be told early)"
    else:
        code = f"si_code {e.si_code}"
    text = f"SIGBUS {code} went to {who} at {e.addr:#x} with si_addr_lsb = {lsb}"
    if lsb == 12:
        return text + ": it knows exactly which 4 KiB page is lost, and can keep the rest."
    if lsb in _SIZE_WORDS:
        return text + f": it must treat the whole {_SIZE_WORDS[lsb]} around it as lost."
    return text + "."


def _memory_failure(e: TraceEvent, events: Sequence[TraceEvent], s: Session) -> str:
    unmapped = any(x.kind is EventKind.UNMAP for x in events)
    dissolved = any(x.kind is EventKind.DISSOLVE for x in events)
    where = f"memory_failure({e.pfn:#x})"
    if e.mf_type == "already poisoned page":
        return (
            f"{where}: this 4 KiB page was already poisoned, so the kernel only re-sends "
            "SIGBUS to the task that touched it (kill_accessing_process); no counter changes."
        )
    if e.mf_type == "free huge page":
        if not dissolved:
            return f"{where}: the free hugepage could not be dissolved; it stays poisoned, unused."
        text = (
            f"{where}: the hugepage was free, so the kernel dissolved it at once "
            "(nr_hugepages - 1); only the bad 4 KiB page stays isolated."
        )
        if e.mf_result != "Recovered":  # 6.1, a free 1 GiB page (docs/kernel.md R5.4)
            text += " This kernel reports it as Failed all the same."
        return text
    if e.mf_result == "Failed":
        return (
            f"{where}: a new bad 4 KiB page in a hugepage that is already hard-offlined: "
            "recorded (HardwareCorrupted + 4 kB) but nothing more can be done (Failed)."
        )
    if unmapped:
        return (
            f"{where} -> me_huge_page() on a memfd without MFD_MF_KEEP_UE_MAPPED: the whole "
            "hugepage was unmapped from every process (hard offline). Any byte of it now "
            "gives SIGBUS."
        )
    if dissolved:
        return f"{where}: an anonymous hugepage is dissolved at once."
    view = s.steps[-1].snapshot.folios[e.folio] if e.folio is not None else None
    if view is not None and view.keep_ue_mapped:
        return (
            f"{where} -> me_huge_page() with MFD_MF_KEEP_UE_MAPPED (proposed): the hugepage "
            "stays mapped; only this 4 KiB page is recorded as lost, in the raw-error list."
        )
    return (
        f"{where}: hugepage marked hwpoison; nobody had it mapped, so no process was told. "
        "The next access will fault."
    )


def explain(
    events: Sequence[TraceEvent], access: Access | None, error: str | None, s: Session
) -> list[str]:
    """The sentences for one step, in the order things happened."""
    words: list[str] = []
    if error:
        words.append(f"Refused: {error}.")
    # kill_procs() signals before action_result() logs the outcome; the learner reads the
    # outcome first, then who was told.
    pending: list[str] = []
    for e in events:
        if e.kind is EventKind.SIGNAL and e.si_code in (BUS_MCEERR_AR, BUS_MCEERR_AO):
            pending.append(_signal(e, s))
            continue
        if e.kind is EventKind.MEMORY_FAILURE:
            words.append(_memory_failure(e, events, s))
            words += pending
            pending = []
            continue
        if e.kind is EventKind.INJECT:
            if e.text == "MADV_HWPOISON":
                words.append(
                    f"madvise(MADV_HWPOISON) asked the kernel to treat pfn {e.pfn:#x} as "
                    "corrupted: a software injection, the data itself stays intact."
                )
            elif e.text == "corrupt-pfn":
                words.append(
                    f"The hwpoison-inject file injected an error at pfn {e.pfn:#x} "
                    "(software: the data stays intact; nobody is told unless early-kill)."
                )
            elif e.text and "latent" in e.text:
                words.append(
                    f"A real uncorrected error appeared in DRAM at pfn {e.pfn:#x}: those 4 KiB "
                    "are lost, but nothing notices until something reads them."
                )
        elif e.kind is EventKind.MACHINE_CHECK:
            words.append(
                "A load consumed the bad memory: the CPU raised a machine check and the "
                "kernel called memory_failure(pfn, MF_ACTION_REQUIRED)."
                if e.pid is not None
                else "The patrol scrubber found the error and reported it: "
                "memory_failure(pfn, 0), action optional."
            )
        elif e.kind is EventKind.SIGNAL:
            words.append(f"Signal {e.text} to process {e.pid}.")
        elif e.kind is EventKind.PRINTK and e.text and e.text.startswith("MCE: Killing"):
            words.append(
                "The page fault found a hard-offlined hugepage (a hwpoison entry, or a poisoned "
                "page in the page cache): do_sigbus() sends SIGBUS at the exact byte."
            )
        elif e.kind is EventKind.RELEASE:
            words.append(
                "That was the last reference (no fd, no mapping): the memfd is released and "
                "its hugepages are removed (hugetlbfs_evict_inode -> remove_inode_hugepages)."
            )
        elif e.kind is EventKind.LEAK:
            words.append(
                f"Stock: poisoned hugepage #{e.folio} left the page cache but is never freed: "
                "it is leaked (nr_hugepages unchanged, HugePages_Free stays lower)."
            )
        elif e.kind is EventKind.DISSOLVE:
            words.append(
                f"Hugepage #{e.folio} was dissolved: nr_hugepages - 1; its healthy 4 KiB pages "
                "go back to the buddy allocator and its poisoned ones are isolated forever."
            )
        elif e.kind is EventKind.FREE:
            words.append(f"Healthy hugepage #{e.folio} went back to the free list.")
        elif e.kind is EventKind.FAULT:
            words.append(f"A page fault mapped hugepage #{e.folio} again.")
        elif e.kind is EventKind.EXIT:
            words.append(f"{e.text}: its mappings and fds were dropped.")
    words += pending
    if access is not None and access.ok:
        shown = "" if access.data is None else f" and read {access.data.hex(' ')}"
        words.append(f"The access completed{shown}: healthy memory, no signal.")
    if not words:
        words.append(_quiet(events, s))
    return words


def _quiet(events: Sequence[TraceEvent], s: Session) -> str:
    calls = [e.text for e in events if e.kind is EventKind.SYSCALL and e.text]
    if any(c.startswith("close(") for c in calls) and not s.kernel.memfds[-1].released:
        return (
            "close() dropped the fd, but the mapping still holds the memfd: nothing is "
            "released, and a poisoned hugepage stays as it is (closed is not released)."
        )
    if any(c.startswith("munmap(") for c in calls):
        return "munmap() removed the mapping; the memfd (still open) keeps its pages."
    return "Nothing changed in the kernel's memory-failure state."
