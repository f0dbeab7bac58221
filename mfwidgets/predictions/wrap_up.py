"""The predictions of notebook 08 Wrap-up, the quiz."""

from __future__ import annotations

from . import classify
from .prompt import Prompt

PROMPTS = (
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
        classify=classify.flag_effect,
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
        classify=classify.release,
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
        classify=classify.lost,
    ),
)
