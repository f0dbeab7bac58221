"""The predictions of notebook 04 Limitations."""

from __future__ import annotations

from . import classify
from .prompt import Prompt

PROMPTS = (
    Prompt(
        key="04-injected",
        question=(
            "The VMM poisons subpage 5 with <code>madvise(MADV_HWPOISON)</code> (the memfd "
            "has the proposed flag), then reads it. SIGBUS, or the data?"
        ),
        choices=(
            ("SIGBUS, 4 KiB lost", 12),
            ("the data", "data"),
            ("SIGBUS, the 2 MiB hugepage lost", 21),
        ),
        why=(
            "The data: a software injection changes only the kernel's bookkeeping, and "
            "under the proposed flag the page stays mapped, so the load succeeds. The v3 "
            "selftest relies on exactly this: it reads <code>0xab</code> back from the "
            "pages it poisoned."
        ),
        classify=classify.access,
    ),
    Prompt(
        key="04-real",
        question=(
            "A <i>real</i> uncorrected error is in the DRAM of subpage 9, undetected until "
            "someone reads it. What does a load of subpage 9 give? And of subpage 10?"
        ),
        choices=(
            ("9: the data, as after MADV_HWPOISON; 10: the data", ("data", "data")),
            ("9: SIGBUS, the hugepage lost; 10: SIGBUS as well", (21, 21)),
            ("9: SIGBUS, 4 KiB lost; 10: the data", (12, "data")),
            ("9: SIGBUS, 4 KiB lost; 10: SIGBUS as well", (12, 12)),
        ),
        why=(
            "The load of subpage 9 consumes the error: a machine check, "
            "<code>memory_failure()</code>, and a SIGBUS <code>BUS_MCEERR_AR</code> with "
            "<code>si_addr_lsb = 12</code>. Subpage 10, in the same hugepage, reads fine: "
            "only the bad 4 KiB are lost."
        ),
        classify=lambda loads: tuple(classify.access(a) for a in loads),
    ),
    Prompt(
        key="04-again",
        question=(
            "The guest touches subpage 9 again. SIGBUS again, and what does the kernel log say?"
        ),
        choices=(
            ("SIGBUS, 4 KiB; the log: a new error, recovered", (12, False)),
            ("SIGBUS, 4 KiB; the log: an already poisoned page, nothing new lost", (12, True)),
            ("SIGBUS, the whole hugepage: a second error costs all of it", (21, False)),
            ("no SIGBUS: the page was dealt with the first time", ("data", False)),
        ),
        why=(
            "SIGBUS again, with <code>si_addr_lsb = 12</code>; the log calls the repeat "
            "<code>already poisoned page: Failed</code>, because nothing new was lost, and "
            "no counter moves."
        ),
        classify=classify.repeat,
    ),
    Prompt(
        key="04-close",
        question=(
            "The VMM closes its fd but keeps the mapping. Does the poisoned hugepage leave "
            "the pool (<code>nr_hugepages</code> 4 → 3)?"
        ),
        choices=(
            ("no: nr_hugepages stays 4", "same"),
            ("yes: 4 → 3", "fewer"),
        ),
        why=(
            "Nothing changes: the mapping still holds a reference to the file, so it is not "
            "released, and the kept hugepage is still usable. Only when the last mapping "
            "goes too is the memfd released and the poisoned hugepage dissolved: "
            "<code>nr_hugepages</code> drops by one and its healthy 4 KiB pages go back to "
            "the page allocator."
        ),
        classify=classify.pool_change,
    ),
    Prompt(
        key="04-reused",
        question=(
            "After the last <code>munmap</code>, a brand-new process looks for the poisoned "
            "page's frame among its own pages. What does the search return on each build, "
            "1 (found) or 0: the series as posted, and with the stand-in?"
        ),
        choices=(
            ("0 on both", (0, 0)),
            ("as posted: 1; with the stand-in: 0", (1, 0)),
            ("1 on both", (1, 1)),
            ("as posted: 0; with the stand-in: 1", (0, 1)),
        ),
        why=(
            "1 on the series as posted, 0 with the stand-in: without the missing "
            "prerequisite the dissolved hugepage's poisoned 4 KiB page went back to the free "
            "lists. On real hardware that would be a process given known-bad memory; the "
            "model, like the missing series, never hands it out."
        ),
        classify=lambda rets: tuple(rets),
    ),
    Prompt(
        key="04-ignored",
        question=(
            "The same steps on a default kernel, which does what the real v3 kernel did, "
            "then the memfd is released. What does the load of subpage 9 give, and where "
            "does the hugepage go at release?"
        ),
        choices=(
            ("SIGBUS BUS_MCEERR_AR, si_addr_lsb 12; the hugepage is dissolved", "ar-dissolved"),
            (
                "SIGBUS with si_code SI_KERNEL and no address; the hugepage goes back to "
                "the free pool, bad page and all",
                "kernel-free",
            ),
            ("no signal at all; the hugepage is dissolved", "none"),
        ),
        why=(
            "The first error left the hugepage without the reference a second real error "
            "needs, so the v3 code logs <code>get hwpoison page: Ignored</code> and signals "
            "nobody from <code>memory_failure()</code>; the machine check then ends in "
            "<code>Memory error not recovered</code>: a SIGBUS with <code>SI_KERNEL</code> "
            "and no address, so the VMM cannot tell which 4 KiB were lost. At release the "
            "hugepage cannot be dissolved (<code>failed to dissolve hugetlb folio: -16</code>) "
            "and goes back to the free pool with its bad page, still counted in "
            "<code>nr_hugepages</code>."
        ),
        classify=classify.second_error,
    ),
)
