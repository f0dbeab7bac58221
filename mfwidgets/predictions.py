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
import errno
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


def _order(n: float) -> int:
    """The decimal order of magnitude of a count: 0 for none, else 10**k with 10**k <= n."""
    if n < 1:
        return 0
    return int(10 ** (len(str(int(n))) - 1))


def _lsbs(table: Any) -> tuple[int, ...]:
    return tuple(table.column("si_addr_lsb"))


def _digits(counts: Sequence[int]) -> tuple[int, ...]:
    return tuple(_order(n) for n in counts)


def _access(access: Any) -> Any:
    """A load: "data" when it read, else the si_addr_lsb of its SIGBUS."""
    return "data" if access.ok else access.signal.si_addr_lsb


def _keep_rows_failing(table: Any) -> tuple[str, str]:
    """Per kernel (stock, with the series): which rows that set MFD_MF_KEEP_UE_MAPPED fail."""
    rows = [r for r in table.rows if "MFD_MF_KEEP_UE_MAPPED" in r["flags"]]
    without_hugetlb = {r["flags"] for r in rows if "MFD_HUGETLB" not in r["flags"]}

    def which(column: str) -> str:
        failing = {r["flags"] for r in rows if r[column].startswith("EINVAL")}
        if failing == {r["flags"] for r in rows}:
            return "all"
        if not failing:
            return "none"
        return "without MFD_HUGETLB" if failing == without_hugetlb else "some"

    return which("stock kernel"), which("kernel with the series")


def _errno_name(outcome: Any) -> str:
    return "ok" if outcome.ok else errno.errorcode.get(outcome.errno, str(outcome.errno))


def _where(sig_and_page: tuple[Any, int]) -> tuple[str, int]:
    """(where si_addr points, si_addr_lsb) for a SIGBUS and the page that was poisoned."""
    sig, page = sig_and_page
    where = "page" if sig.si_addr == page else ("hugepage" if sig.si_addr < page else "other")
    return where, sig.si_addr_lsb


def _two_preads(outcomes: tuple[Any, Any]) -> tuple[Any, Any]:
    """Each pread: its byte count, or "EIO"."""
    return tuple("EIO" if not o.ok else len(o.value) for o in outcomes)  # type: ignore[return-value]


def _repeat(access_and_log: tuple[Any, Sequence[str]]) -> tuple[Any, bool]:
    access, log = access_and_log
    return _access(access), any("already poisoned" in line for line in log)


def _scrub_on_offlined(table: Any) -> str:
    """What a VMM gets for a scrubbed error in a hugepage that already has one."""
    row = next(r for r in table.rows() if (r["state"], r["detect"]) == ("other", "scrub"))
    return "no signal" if row["si_code"] == "-" else str(row["si_code"])


def _interruptions(result: Any) -> tuple[int, int]:
    """Order of magnitude of the mean VM interruptions per fleet, (stock, keep)."""
    return tuple(  # type: ignore[return-value]
        _order(float(result.values[p]["vm_interruptions"].mean())) for p in ("stock", "keep")
    )


def _smaller_pages(grid: Any) -> str:
    """Stock, 2 MiB against 1 GiB pages over every rate of a sweep: fewer interruptions, less
    memory per interruption, both or neither (a 10% margin: replicas scatter)."""
    j2, j1 = grid["sizes"].index("2M"), grid["sizes"].index("1G")

    def total(metric: str, j: int) -> float:
        return sum(float(row[j].values["stock"][metric].mean()) for row in grid["results"])

    fewer = total("vm_interruptions", j2) < 0.9 * total("vm_interruptions", j1)
    per = [total("guest_lost_bytes", j) / max(total("vm_interruptions", j), 1) for j in (j2, j1)]
    smaller = per[0] < 0.9 * per[1]
    return {(True, True): "both", (True, False): "fewer", (False, True): "smaller"}.get(
        (fewer, smaller), "neither"
    )


def _all_match(check: Any) -> tuple[bool, bool]:
    """(every observable of 6.12 matches, every one of 6.1 does)."""
    full = {c.kernel: c.matched == c.total for c in check.checks}
    return full["6.12"], full["6.1"]


def _steps_differing(check: Any) -> frozenset[str]:
    """The steps of scenario C on which the real 7.3+v3 kernel and the model disagree."""
    return frozenset(
        m.difference.step
        for c in check.checks
        if c.kernel == "7.3+v3"
        for m in c.mismatches
        if m.difference.scenario == "C"
    )


def _second_error(outcome: tuple[Any, Any]) -> str:
    signal, pool = outcome
    if signal is None:
        return "none"
    kept_in_pool = pool.free_hugepages == pool.nr_hugepages  # nothing left the pool
    if signal.si_code == 0x80:  # SI_KERNEL: "Memory error not recovered", no address
        return "kernel-free" if kept_in_pool else "kernel-dissolved"
    return "ar-dissolved"


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
            classify=_lsbs,
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
            classify=_access,
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
            classify=_digits,
        ),
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
            classify=_keep_rows_failing,
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
            classify=_errno_name,
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
            classify=_where,
        ),
        Prompt(
            key="02-stock-range",
            question=(
                "The same error on a stock kernel: how large is the range the VMM must give up?"
            ),
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
            classify=_two_preads,
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
            classify=_access,
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
            classify=lambda loads: tuple(_access(a) for a in loads),
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
            classify=_repeat,
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
            classify=_pool_change,
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
            key="06-second",
            question=(
                "Under stock Linux, a <i>second</i> error found by the scrubber in a 1 GiB "
                "hugepage that is already offlined: does the VMM get a signal?"
            ),
            choices=(
                ("yes: BUS_MCEERR_AO, an advance notice", "BUS_MCEERR_AO"),
                ("yes: BUS_MCEERR_AR", "BUS_MCEERR_AR"),
                ("no: nobody maps that hugepage any more", "no signal"),
            ),
            why=(
                "No: the hugepage is already hard-offlined and unmapped, so nobody maps it and "
                "nobody is told. Under keep (proposed) the same error is a new 4 KiB loss, and "
                "the early-kill VMM gets an AO SIGBUS with <code>lsb=12</code>."
            ),
            classify=_scrub_on_offlined,
        ),
        Prompt(
            key="06-fleet",
            question=(
                "10,000 hosts of 1 TiB in 1 GiB pages over 5 years: roughly how many VM "
                "interruptions under stock Linux, and under keep?"
            ),
            choices=(
                ("stock: tens; keep: none", (10, 0)),
                ("stock: hundreds; keep: none", (100, 0)),
                ("stock: thousands; keep: none", (1_000, 0)),
                ("stock: hundreds; keep: hundreds too", (100, 100)),
            ),
            why=(
                "With 1.3% of hosts seeing a fault per year, about 650 faults happen over "
                "50,000 host-years; about 550 land in guest memory (84% of each host is guest "
                "hugepages) and, with repeats, they make about 1,100 errors. Under stock each "
                "one costs a whole 1 GiB hugepage: the VM is interrupted, the data is lost, and "
                "the hugepage is leaked (it stays in <code>nr_hugepages</code> but is never "
                "free again). Under keep the same errors cost 4 KiB each: no interruption, a "
                "few MiB lost across the whole fleet, and each poisoned hugepage is dissolved "
                "at release (<code>nr_hugepages</code> −1, its healthy 4 KiB pages back to the "
                "allocator)."
            ),
            classify=_interruptions,
        ),
        Prompt(
            key="06-sweep",
            question=(
                "With 2 MiB pages instead of 1 GiB, does stock Linux interrupt fewer VMs, or "
                "lose less memory per interruption?"
            ),
            choices=(
                ("fewer interruptions, the same loss each", "fewer"),
                ("about as many interruptions, less memory each", "smaller"),
                ("both", "both"),
                ("neither", "neither"),
            ),
            why=(
                "The number of interruptions hardly depends on the hugepage size: each fault "
                "still takes down one hugepage, so one VM, under stock. What changes is the size "
                "of the loss: 2 MiB instead of 1 GiB per fault (the colour scale is "
                "logarithmic). Under keep nothing is interrupted at any rate; the loss is 4 KiB "
                "per error either way."
            ),
            classify=_smaller_pages,
        ),
        Prompt(
            key="07-match",
            question=(
                "The model was written from the 7.3 behaviour. Will every observable of 6.12 "
                "match? And of 6.1?"
            ),
            choices=(
                ("6.12 in full, 6.1 not", (True, False)),
                ("both match in full", (True, True)),
                ("neither in full", (False, False)),
            ),
            why=(
                "Both match in full: the model knows the differences of 6.1 and 6.12, and each "
                "recorded kernel is replayed on the model of its own version (the sentences "
                "under the table say which one). The check is only as strong as the scenarios "
                "recorded."
            ),
            classify=_all_match,
        ),
        Prompt(
            key="07-keep-c",
            question=(
                "Scenario <b>C</b> poisons one 4 KiB page of a keep hugepage, closes the memfd "
                "with the mapping still live, loads the poisoned page, unmaps, and finally looks "
                "for that page's frame in a brand-new process. On which steps will the model "
                "and the real v3 kernel disagree?"
            ),
            choices=(
                ("none", frozenset()),
                ("only the last: the search in a new process", frozenset({"poisoned_page_reused"})),
                ("the load of the poisoned page", frozenset({"load_poisoned"})),
                (
                    "the close: the real kernel frees the hugepage there",
                    frozenset({"close_mapped"}),
                ),
            ),
            why=(
                "Every step matches but the last: without the series' missing prerequisite the "
                "real kernel handed the poisoned page to a new process (the search returns 1); "
                "the model never does, and neither does the build with the stand-in."
            ),
            classify=_steps_differing,
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
            classify=_second_error,
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
