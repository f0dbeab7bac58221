"""How each prediction turns what the model did into one of its choices: one function per kind
of result, shared by the notebooks' prompts. Imports no UI library."""

from __future__ import annotations

import errno
from collections.abc import Mapping, Sequence
from typing import Any

from ..model.trace import MFMsg, TraceEvent


def names_with_signals(processes: Mapping[str, Sequence[object]]) -> frozenset[str]:
    return frozenset(name for name, signals in processes.items() if signals)


def read_pages(data: bytes) -> str:
    if len(data) == 0:
        return "nothing"
    return "short" if len(data) % (2 << 20) else "all"


def pool_change(before_after: tuple[int, int]) -> str:
    before, after = before_after
    return "same" if before == after else ("fewer" if after < before else "more")


def cells_changed(steps: tuple[Any, Any]) -> tuple[int, int]:
    stock, keep = steps
    return len(stock.changed), len(keep.changed)


def flag_effect(loads: tuple[bool, bool]) -> str:
    neighbour_ok, poisoned_ok = loads
    if poisoned_ok:
        return "corrected"
    return "mapped" if neighbour_ok else "offlined"


def release(totals: tuple[int, int, int]) -> str:
    before, after_close, after_munmap = totals
    if after_close < before:
        return "close"
    return "release" if after_munmap < before else "never"


def lost(nbytes: int) -> str:
    if nbytes == 0:
        return "nothing"
    return "4k" if nbytes <= 4096 else "hugepage"


def order(n: float) -> int:
    """The decimal order of magnitude of a count: 0 for none, else 10**k with 10**k <= n."""
    if n < 1:
        return 0
    return int(10 ** (len(str(int(n))) - 1))


def lsbs(table: Any) -> tuple[int, ...]:
    return tuple(table.column("si_addr_lsb"))


def digits(counts: Sequence[int]) -> tuple[int, ...]:
    return tuple(order(n) for n in counts)


def access(access: Any) -> Any:
    """A load: "data" when it read, else the si_addr_lsb of its SIGBUS."""
    return "data" if access.ok else access.signal.si_addr_lsb


def keep_rows_failing(table: Any) -> tuple[str, str]:
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


def errno_name(outcome: Any) -> str:
    return "ok" if outcome.ok else errno.errorcode.get(outcome.errno, str(outcome.errno))


def where(sig_and_page: tuple[Any, int]) -> tuple[str, int]:
    """(where si_addr points, si_addr_lsb) for a SIGBUS and the page that was poisoned."""
    sig, page = sig_and_page
    where = "page" if sig.si_addr == page else ("hugepage" if sig.si_addr < page else "other")
    return where, sig.si_addr_lsb


def two_preads(outcomes: tuple[Any, Any]) -> tuple[Any, Any]:
    """Each pread: its byte count, or "EIO"."""
    return tuple("EIO" if not o.ok else len(o.value) for o in outcomes)  # type: ignore[return-value]


def repeat(access_and_events: tuple[Any, Sequence[TraceEvent]]) -> tuple[Any, bool]:
    """A load again, and whether memory_failure() found the page already poisoned."""
    load, events = access_and_events
    return access(load), any(e.mf_type is MFMsg.ALREADY_POISONED for e in events)


def scrub_on_offlined(table: Any) -> str:
    """What a VMM gets for a scrubbed error in a hugepage that already has one."""
    row = next(r for r in table.rows() if (r["state"], r["detect"]) == ("other", "scrub"))
    return "no signal" if row["si_code"] == "-" else str(row["si_code"])


def interruptions(result: Any) -> tuple[int, int]:
    """Order of magnitude of the mean VM interruptions per fleet, (stock, keep)."""
    return tuple(  # type: ignore[return-value]
        order(float(result.values[p]["vm_interruptions"].mean())) for p in ("stock", "keep")
    )


def smaller_pages(grid: Any) -> str:
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


def all_match(check: Any) -> tuple[bool, bool]:
    """(every observable of 6.12 matches, every one of 6.1 does)."""
    full = {c.kernel: c.matched == c.total for c in check.checks}
    return full["6.12"], full["6.1"]


def steps_differing(check: Any) -> frozenset[str]:
    """The steps of scenario C on which the real 7.3+v3 kernel and the model disagree."""
    return frozenset(
        m.difference.step
        for c in check.checks
        if c.kernel == "7.3+v3"
        for m in c.mismatches
        if m.difference.scenario == "C"
    )


def second_error(outcome: tuple[Any, Any]) -> str:
    signal, pool = outcome
    if signal is None:
        return "none"
    kept_in_pool = pool.free_hugepages == pool.nr_hugepages  # nothing left the pool
    if signal.si_code == 0x80:  # SI_KERNEL: "Memory error not recovered", no address
        return "kernel-free" if kept_in_pool else "kernel-dissolved"
    return "ar-dissolved"
