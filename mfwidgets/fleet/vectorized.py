"""Vectorized simulator: a replica's errors (draws.py) through a consequence table, in numpy.

Mirrors: what host.py does error by error on a Kernel, as array operations. The only state an
error's outcome depends on is its hugepage's history (consequences.STATES), so errors are sorted
by physical hugepage and each one's state comes from group-wise first-occurrence and cumulative
sums. A physical hugepage is (host, slot, generation): a restart replaces the slot's hugepage,
so later faults in that slot start a new generation. Generations depend on restarts, which
depend on generations; a fixpoint loop settles them (one pass per restart in the same slot).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .consequences import CLEAN, GONE_OTHER, GONE_SAME, OTHER, SAME, ConsequenceTable
from .draws import Draws
from .params import FleetParams

PAGE_SIZE = 4096
HOST_METRICS = (
    "ues",
    "sigbus",
    "vm_interruptions",
    "guest_lost_bytes",
    "stranded_bytes",
    "hugepages_dissolved",
    "hugepages_leaked",
    "hosts_out_of_spare",
)


@dataclass(frozen=True)
class HostOutcome:
    """Per host (arrays of length ``hosts``), one entry per name in HOST_METRICS."""

    values: dict[str, np.ndarray]

    def totals(self) -> dict[str, int]:
        return {name: int(v.sum()) for name, v in self.values.items()}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HostOutcome) and all(
            np.array_equal(self.values[n], other.values[n]) for n in HOST_METRICS
        )

    __hash__ = None  # type: ignore[assignment]


def _firsts(keys: list[np.ndarray]) -> np.ndarray:
    """True for the first element (in array order) of each distinct key tuple."""
    n = keys[0].size
    order = np.lexsort([np.arange(n), *reversed(keys)])
    new = np.ones(n, dtype=bool)
    if n:
        diff = np.zeros(n - 1, dtype=bool)
        for k in keys:
            ks = k[order]
            diff |= ks[1:] != ks[:-1]
        new[1:] = diff
    out = np.empty(n, dtype=bool)
    out[order] = new
    return out


def _exclusive_group_cumsum(x: np.ndarray, keys: list[np.ndarray]) -> np.ndarray:
    """For each element: the sum of ``x`` over earlier elements (array order) with equal keys."""
    n = x.size
    order = np.lexsort([np.arange(n), *reversed(keys)])
    xs = x[order].astype(np.int64)
    c = np.cumsum(xs) - xs
    start = np.ones(n, dtype=bool)
    for k in keys:
        ks = k[order]
        start[1:] &= ks[1:] == ks[:-1]
    start = ~start
    start[:1] = True
    base = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    out = np.empty(n, dtype=np.int64)
    out[order] = c - c[base]
    return out


def restart_lut(params: FleetParams) -> np.ndarray:
    """lut[lsb] is True when the VMM restarts the VM on a SIGBUS with that si_addr_lsb."""
    lut = np.zeros(64, dtype=bool)
    for lsb in (12, 21, 30):
        lut[lsb] = params.reaction(lsb) == "restart"
    return lut


def _event_states(
    draws: Draws, table: ConsequenceTable, lut: np.ndarray, slot_key: np.ndarray, scrub: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Each event's state (clean, same page, other page, gone) under the table, found as a fixed
    point: a restart starts a new generation of its slot's hugepage, which changes the states
    of the events after it. Returns (state, restart, generation, prior_any, prior_same)."""
    fault_start = np.flatnonzero(draws.first)
    gen = np.zeros(fault_start.size, dtype=np.int64)
    while True:
        ev_gen = gen[draws.fault]
        page = [slot_key, ev_gen]
        prior_any = ~_firsts(page)
        prior_same = ~_firsts([*page, draws.subpage])
        base = np.where(prior_any, np.where(prior_same, SAME, OTHER), CLEAN)
        would = lut[table.lsb[base, scrub]]
        gone = _exclusive_group_cumsum(would, page) > 0
        state = np.where(gone, np.where(prior_same, GONE_SAME, GONE_OTHER), base)
        restart = would & ~gone
        new_gen = _exclusive_group_cumsum(restart, [slot_key])[fault_start]
        if np.array_equal(new_gen, gen):
            return state, restart, ev_gen, prior_any, prior_same
        gen = new_gen


def simulate_hosts(params: FleetParams, draws: Draws, table: ConsequenceTable) -> HostOutcome:
    """Per-host outcomes of one replica under one policy's table."""
    host, slot, sub = draws.host, draws.slot, draws.subpage
    scrub = draws.scrub.astype(np.int64)
    slot_key = host.astype(np.int64) * params.guest_hugepages + slot
    state, restart, ev_gen, prior_any, prior_same = _event_states(
        draws, table, restart_lut(params), slot_key, scrub
    )
    page = [slot_key, ev_gen]
    lsb = table.lsb[state, scrub]
    signal = lsb > 0
    # Guest memory lost: each 2**lsb block of a physical hugepage counts once.
    block = sub >> np.maximum(lsb - 12, 0)
    new_block = _firsts([slot_key, ev_gen, lsb, block]) & signal
    lost = np.where(new_block, np.left_shift(1, lsb, dtype=np.int64), 0)
    # Per physical hugepage: distinct bad 4 KiB pages, punched or still in the guest.
    page_first = ~prior_any
    distinct = (~prior_same).astype(np.int64)
    page_id = np.cumsum(page_first[_order(page)]) - 1
    pages = int(page_first.sum())
    inv = np.empty_like(page_id)
    inv[_order(page)] = page_id
    # bincount indexes with intp, 32-bit on wasm32 (the browser workbook): cast, same values.
    inv_ix = inv.astype(np.intp)
    host_ix = host.astype(np.intp)
    nr_bad = np.bincount(inv_ix, weights=distinct, minlength=pages).astype(np.int64)
    punched = np.bincount(inv_ix, weights=restart, minlength=pages) > 0
    page_host = np.zeros(pages, dtype=np.int64)
    page_host[inv] = host
    strands = np.where(punched, table.punched_strands, table.kept_strands)
    stranded = strands * (params.nr_pages - nr_bad) * PAGE_SIZE
    dissolved = np.where(punched, table.punch[0], table.release[0])
    leaked = np.where(punched, table.punch[1], table.release[1])
    n = draws.hosts
    restarts = np.bincount(host_ix, weights=restart, minlength=n).astype(np.int64)
    spare = params.host_hugepages - params.guest_hugepages
    return HostOutcome(
        {
            "ues": np.bincount(host_ix, minlength=n).astype(np.int64),
            "sigbus": np.bincount(host_ix, weights=signal, minlength=n).astype(np.int64),
            "vm_interruptions": restarts,
            "guest_lost_bytes": _sum_by(host, lost, n),
            "stranded_bytes": _sum_by(page_host, stranded, n),
            "hugepages_dissolved": _sum_by(page_host, dissolved, n),
            "hugepages_leaked": _sum_by(page_host, leaked, n),
            "hosts_out_of_spare": (restarts > spare).astype(np.int64),
        }
    )


def _order(keys: list[np.ndarray]) -> np.ndarray:
    return np.lexsort([np.arange(keys[0].size), *reversed(keys)])


def _sum_by(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Exact int64 sums of ``values`` per ``index`` (bincount's float weights would round)."""
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, index, np.asarray(values, dtype=np.int64))
    return out
