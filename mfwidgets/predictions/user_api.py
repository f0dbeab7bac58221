"""The predictions of notebook 02 User API."""

from __future__ import annotations

from . import classify
from .prompt import Prompt

PROMPTS = (
    Prompt(
        key="02-flags",
        question=(
            "The next cell tries ten flag combinations on a stock kernel and on one that "
            "carries the proposed series. Which rows that set "
            "<code>MFD_MF_KEEP_UE_MAPPED</code> fail with EINVAL on each?"
        ),
        choices=(
            ("stock: none, unknown bits are ignored; series: none", ("none", "none")),
            ("stock: every one; series: none", ("all", "none")),
            (
                "stock: every one; series: those without MFD_HUGETLB",
                ("all", "without MFD_HUGETLB"),
            ),
            (
                "stock: those without MFD_HUGETLB; series: those without MFD_HUGETLB",
                ("without MFD_HUGETLB", "without MFD_HUGETLB"),
            ),
        ),
        why=(
            "On a stock kernel <code>0x20</code> is an unknown flag, so every row with "
            "<code>MFD_MF_KEEP_UE_MAPPED</code> fails; the real kernels tested did the "
            "same. On the kernel with the series the flag works only together with "
            "<code>MFD_HUGETLB</code>; the proposed documentation says: "
            "<blockquote><code>MFD_MF_KEEP_UE_MAPPED</code> currently only works for "
            "HugeTLB, so <code>MFD_HUGETLB</code> must also be set when setting "
            "<code>MFD_MF_KEEP_UE_MAPPED</code>. Otherwise <code>memfd_create</code> "
            "returns EINVAL.</blockquote>(Jiaqi Yan, "
            "<code>Documentation/userspace-api/mfd_mfr_policy.rst</code>, added by the "
            "proposed series; GPL-2.0 kernel text, quoted as posted.) A size without "
            "<code>MFD_HUGETLB</code>, and <code>MFD_EXEC</code> with "
            "<code>MFD_NOEXEC_SEAL</code>, fail on both kernels."
        ),
        classify=classify.keep_rows_failing,
    ),
    Prompt(
        key="02-ftruncate",
        question=(
            "What does <code>ftruncate(fd, 1.5 GiB)</code> do on a memfd of 1 GiB hugepages?"
        ),
        choices=(
            ("it fails with ENOMEM: the pool cannot back half a hugepage", "ENOMEM"),
            ("it succeeds: the kernel rounds to whole hugepages", "ok"),
            ("it fails with EINVAL", "EINVAL"),
        ),
        why=(
            "A hugetlbfs file grows and shrinks in whole hugepages: a size that is not a "
            "multiple of the hugepage size is refused with EINVAL, nothing is rounded."
        ),
        classify=classify.errno_name,
    ),
    Prompt(
        key="02-siginfo",
        question=(
            "The VMM poisons page 37 of a 1 GiB hugepage of a memfd created with the "
            "proposed flag. Which <code>si_addr</code> and which <code>si_addr_lsb</code> "
            "does its SIGBUS handler see?"
        ),
        choices=(
            ("the start of the hugepage, 30", ("hugepage", 30)),
            ("the poisoned page, 12", ("page", 12)),
            ("the poisoned page, 30", ("page", 30)),
            ("the start of the hugepage, 12", ("hugepage", 12)),
        ),
        why=(
            "<code>si_addr</code> is exactly the page passed to <code>madvise()</code>, and "
            "<code>si_addr_lsb</code> is 12: one 4 KiB page. With the proposed flag, "
            "<code>__add_to_kill()</code> in <code>mm/memory-failure.c</code> reports "
            "<code>PAGE_SHIFT</code> instead of the hugepage's shift."
        ),
        classify=classify.where,
    ),
    Prompt(
        key="02-stock-range",
        question=("The same error on a stock kernel: how large is the range the VMM must give up?"),
        choices=(
            ("4 KiB, as with the flag", 12),
            ("2 MiB", 21),
            ("1 GiB: the whole hugepage", 30),
            ("all 4 GiB of the memfd", 32),
        ),
        why=(
            "1 GiB: <code>si_addr_lsb = 30</code>, and the whole hugepage is unmapped. The "
            "VMM must treat all of it as lost, although only 4 KiB are bad."
        ),
        classify=lambda signal: signal.si_addr_lsb,
    ),
    Prompt(
        key="02-pread",
        question=(
            "Page 37 is the poisoned one. What do <code>pread(fd, buf, 16384, 36 * 4096)"
            "</code> (pages 36 to 39) and <code>pread(fd, buf, 4096, 37 * 4096)</code> "
            "(page 37 alone) return?"
        ),
        choices=(
            ("EIO, then EIO", ("EIO", "EIO")),
            ("16384, then 4096: the file is still readable", (16384, 4096)),
            ("4096 (a short count), then EIO", (4096, "EIO")),
            ("12288 (skipping page 37), then EIO", (12288, "EIO")),
        ),
        why=(
            "The first copies page 36 and stops at the poisoned page: a short count of "
            "4096. The second fails with EIO, because it starts inside the poisoned page."
        ),
        classify=classify.two_preads,
    ),
)
