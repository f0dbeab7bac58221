"""Predictions: the questions a notebook asks before it runs something, their choices, and the
reveal each one earns once the student has predicted and run the cell.

Mirrors: nothing in the kernel. The reveals live here, not in the notebooks, so that a student
reading a notebook top to bottom meets no answer before predicting (``mfwidgets.widgets.predict``
shows them). What the model did is always passed in by the notebook (``Prediction.reveal(actual)``)
and classified here; nothing is hard-coded as "the answer" except the explanation of why.
Imports no UI library.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any


@dataclasses.dataclass(frozen=True)
class Prompt:
    """One prediction: the question, the choices (label, value), how to turn what the model did
    into one of those values, and why the model did it (HTML, shown only in the reveal)."""

    key: str
    question: str
    choices: tuple[tuple[str, Any], ...]
    why: str
    classify: Callable[[Any], Any] = lambda actual: actual

    def label_of(self, value: Any) -> str:
        for label, v in self.choices:
            if v == value:
                return label
        return repr(value)

    def verdict(self, predicted: Any, actual: Any) -> tuple[bool, str]:
        """(right?, one sentence) for a prediction against what the model did."""
        happened = self.classify(actual)
        said = self.label_of(happened)
        if predicted == happened:
            return True, f"Right: {said}."
        return False, f"Not quite: you predicted “{self.label_of(predicted)}”; the model: {said}."


def _names_with_signals(processes: Mapping[str, Sequence[object]]) -> frozenset[str]:
    return frozenset(name for name, signals in processes.items() if signals)


def _read_pages(data: bytes) -> str:
    if len(data) == 0:
        return "nothing"
    return "short" if len(data) % (2 << 20) else "all"


def _pool_change(before_after: tuple[int, int]) -> str:
    before, after = before_after
    return "same" if before == after else ("fewer" if after < before else "more")


def _cells_changed(steps: tuple[Any, Any]) -> tuple[int, int]:
    stock, keep = steps
    return len(stock.changed), len(keep.changed)


def _flag_effect(loads: tuple[bool, bool]) -> str:
    neighbour_ok, poisoned_ok = loads
    if poisoned_ok:
        return "corrected"
    return "mapped" if neighbour_ok else "offlined"


def _release(totals: tuple[int, int, int]) -> str:
    before, after_close, after_munmap = totals
    if after_close < before:
        return "close"
    return "release" if after_munmap < before else "never"


def _lost(nbytes: int) -> str:
    if nbytes == 0:
        return "nothing"
    return "4k" if nbytes <= 4096 else "hugepage"


PROMPTS: dict[str, Prompt] = {
    p.key: p
    for p in (
        Prompt(
            key="00-lsb",
            question=(
                "We poison one 4 KiB page of a guest memfd created with "
                "<code>MFD_MF_KEEP_UE_MAPPED</code>. What <code>si_addr_lsb</code> will the "
                "VMM's SIGBUS carry?"
            ),
            choices=(("12: 4 KiB lost", 12), ("21: 2 MiB lost", 21), ("30: 1 GiB lost", 30)),
            why=(
                "<code>si_addr_lsb</code> is log2 of the size the kernel reports lost. Under "
                "the proposed flag only the poisoned 4 KiB page is lost (2<sup>12</sup> bytes); "
                "a stock kernel would report the whole 1 GiB hugepage (2<sup>30</sup>)."
            ),
            classify=lambda signal: signal.si_addr_lsb,
        ),
        Prompt(
            key="03-cells",
            question=(
                "We poison subpage 37 of hugepage 0 in both guests with "
                "<code>madvise(MADV_HWPOISON)</code>. How many of the 512 cells of hugepage 0 "
                "change colour in each?"
            ),
            choices=(
                ("stock: all 512; keep: 1", (512, 1)),
                ("stock: 1; keep: 1", (1, 1)),
                ("stock: all 512; keep: all 512", (512, 512)),
                ("stock: 1; keep: all 512", (1, 512)),
            ),
            why=(
                "Stock turned the whole hugepage yellow: <i>offlined</i>. "
                "<code>memory_failure()</code> handled a hugepage of a memfd without the flag by "
                "unmapping all 2 MiB from every process. With the flag one cell turned pink: "
                "only that 4 KiB page is recorded as lost, and the hugepage stays mapped."
            ),
            classify=_cells_changed,
        ),
        Prompt(
            key="03-who",
            question=(
                "The VMM poisons subpage 3 of hugepage 0 on a stock memfd that three processes "
                "map. Which of them gets a SIGBUS <i>now</i>?"
            ),
            choices=(
                ("only the VMM", frozenset({"vmm"})),
                ("the VMM and the watcher (early kill)", frozenset({"vmm", "watcher"})),
                ("all three", frozenset({"vmm", "watcher", "bystander"})),
            ),
            why=(
                "The VMM caused it, so it gets <code>BUS_MCEERR_AR</code> (action required). "
                "The watcher asked for early kill, so it is told at once with "
                "<code>BUS_MCEERR_AO</code> (action optional). The bystander is told nothing "
                "until it touches the hugepage."
            ),
            classify=_names_with_signals,
        ),
        Prompt(
            key="03-read",
            question=(
                "Subpage 3 of the first hugepage is poisoned. What does <code>pread()</code> of "
                "the whole first hugepage (2 MiB from offset 0) return?"
            ),
            choices=(
                ("it fails with EIO", "nothing"),
                ("a short count: the pages before the poisoned one", "short"),
                ("all 2 MiB", "all"),
            ),
            why=(
                "A read copies page by page and stops at the poisoned 4 KiB page: it returns "
                "what it copied so far (3 pages). Only a read that <i>starts</i> in the poisoned "
                "page fails, with EIO."
            ),
            classify=_read_pages,
        ),
        Prompt(
            key="03-close",
            question=(
                "The VMM closes its fd; its mapping and its children's mappings remain. What "
                "happens to <code>nr_hugepages</code>?"
            ),
            choices=(
                ("it stays the same", "same"),
                ("it drops: the poisoned hugepage leaves the pool", "fewer"),
            ),
            why=(
                "<code>close()</code> drops a reference to the file, but the mappings still "
                "hold it: the memfd is not released, so nothing is freed, dissolved or leaked "
                "yet. Closed is not released."
            ),
            classify=_pool_change,
        ),
        Prompt(
            key="quiz-flag",
            question=(
                "1. A 1 GiB hugepage of a guest memfd gets an uncorrected error. What does "
                "<code>MFD_MF_KEEP_UE_MAPPED</code> change?"
            ),
            choices=(
                ("the hugepage stays mapped; only the bad 4 KiB page is lost", "mapped"),
                ("nothing: the whole hugepage is unmapped, as on a stock kernel", "offlined"),
                ("the kernel corrects the error, so the page reads back fine", "corrected"),
            ),
            why=(
                "Without the flag <code>memory_failure()</code> hard-offlines the hugepage: "
                "every byte of it faults. With the flag it stays mapped: the guest reads its "
                "neighbours as before, and only the poisoned 4 KiB page faults (notebooks 01 "
                "and 03)."
            ),
            classify=_flag_effect,
        ),
        Prompt(
            key="quiz-release",
            question=(
                "2. Under the flag, when does the kernel free the poisoned hugepage, and what "
                "happens to <code>HugePages_Total</code>?"
            ),
            choices=(
                ("at close() of the fd; HugePages_Total drops by one", "close"),
                (
                    "at release, when the last fd and mapping are gone; it is dissolved and "
                    "HugePages_Total drops by one",
                    "release",
                ),
                ("never: it is leaked and HugePages_Total stays", "never"),
            ),
            why=(
                "The memfd is released when its last fd <i>and</i> its last mapping are gone "
                "(or the hugepage is truncated away). Then the kept hugepage is dissolved: its "
                "healthy 4 KiB pages go back to the page allocator and the pool shrinks by one, "
                "so <code>HugePages_Total</code> (the default size's <code>nr_hugepages</code>) "
                "drops by one. A stock kernel leaks the hugepage instead (notebooks 03 and 04)."
            ),
            classify=_release,
        ),
        Prompt(
            key="quiz-lsb",
            question=(
                "3. A VMM backs its guest with 1 GiB hugepages. What <code>si_addr_lsb</code> "
                "does its SIGBUS carry on a stock memfd, and with the flag?"
            ),
            choices=(
                ("stock 30, with the flag 12", (30, 12)),
                ("stock 12, with the flag 12", (12, 12)),
                ("stock 12, with the flag 30", (12, 30)),
                ("stock 30, with the flag 30", (30, 30)),
            ),
            why=(
                "<code>si_addr_lsb</code> is log2 of the size reported lost: the whole hugepage "
                "on a stock kernel (30 for 1 GiB, 21 for 2 MiB), one 4 KiB page (12) with the "
                "flag (notebook 02)."
            ),
            classify=lambda lsbs: tuple(lsbs),
        ),
        Prompt(
            key="quiz-lost",
            question="4. With the flag, what does the guest still lose?",
            choices=(
                ("nothing: the flag saves every byte", "nothing"),
                ("the poisoned 4 KiB page: its data, and a SIGBUS on touching it", "4k"),
                ("the whole hugepage, but only after release", "hugepage"),
            ),
            why=(
                "A real uncorrected error destroys the data of its 4 KiB page; the flag cannot "
                "bring it back. The guest must give that page up, and a load of it still "
                "raises SIGBUS. The flag does not cover memory that is not a HugeTLB memfd, "
                "and it does not make the page usable again (notebook 04)."
            ),
            classify=_lost,
        ),
    )
}
