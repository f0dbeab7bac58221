"""The predictions of notebooks 00 Index and 01 Motivation."""

from __future__ import annotations

from . import classify
from .prompt import Prompt

PROMPTS = (
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
        key="01-loss",
        question=(
            "A VMM backs a guest's 4 GiB with four 1 GiB hugepages of one memfd, and one "
            "4 KiB page of the first hugepage gets an uncorrected error. How much of the "
            "guest's memory is reported lost on a stock kernel, and with the memfd created "
            "with <code>MFD_MF_KEEP_UE_MAPPED</code> (proposed)?"
        ),
        choices=(
            ("stock: 4 KiB; keep: 4 KiB", (12, 12)),
            ("stock: 1 GiB (the hugepage); keep: 4 KiB", (30, 12)),
            ("stock: 1 GiB; keep: 1 GiB as well", (30, 30)),
            ("stock: 2 MiB; keep: 4 KiB", (21, 12)),
        ),
        why=(
            "Stock Linux hard-offlines the whole hugepage: the SIGBUS reports "
            "<code>si_addr_lsb = 30</code>, 2<sup>30</sup> bytes, and the guest keeps 3 GiB "
            "of its 4 GiB. Under the proposed flag the SIGBUS reports "
            "<code>si_addr_lsb = 12</code>: one 4 KiB page lost, everything else still "
            "mapped."
        ),
        classify=classify.lsbs,
    ),
    Prompt(
        key="01-rest",
        question=(
            "After the error, the guest reads a byte 512 MiB away from the bad page, in the "
            "same 1 GiB hugepage. Does the read succeed on a stock kernel?"
        ),
        choices=(
            ("yes: the DRAM there is healthy, it returns the data", "data"),
            ("no: SIGBUS, the whole 1 GiB hugepage is gone", 30),
            ("no: SIGBUS for that 4 KiB page only", 12),
        ),
        why=(
            "It does not: the kernel replaced the whole 1 GiB mapping with a hwpoison "
            "entry, so every byte of it raises SIGBUS with <code>si_addr_lsb = 30</code>, "
            "even though the DRAM behind it is healthy."
        ),
        classify=classify.access,
    ),
    Prompt(
        key="01-tlb",
        question=(
            "A host maps 1 TiB of guest memory. Roughly how many translations does that "
            "take with 4 KiB pages, and with 1 GiB pages?"
        ),
        choices=(
            ("4 KiB: hundreds of thousands; 1 GiB: a handful", (100_000, 1)),
            ("4 KiB: hundreds of millions; 1 GiB: about a thousand", (100_000_000, 1_000)),
            ("4 KiB: hundreds of millions; 1 GiB: about a million", (100_000_000, 1_000_000)),
            ("4 KiB: about a million; 1 GiB: about a thousand", (1_000_000, 1_000)),
        ),
        why=(
            "2<sup>40</sup> / 2<sup>12</sup> = 268,435,456 translations at 4 KiB against "
            "2<sup>40</sup> / 2<sup>30</sup> = 1,024 at 1 GiB. With 1,536 entries the TLB "
            "covers 6 MiB of 4 KiB pages but all of the 1 TiB with 1 GiB pages."
        ),
        classify=classify.digits,
    ),
)
