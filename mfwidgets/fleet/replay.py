"""Event-level replay: the same draws, error by error, through real mfwidgets.model Kernels,
one per host that has errors. Slow and exact: the reference the vectorized simulator must
match (tests/fleet/test_replay.py), the way OSTEP's simulators are checked against a reference.

Mirrors: host.py's VMM on the model: docs/kernel.md E4, E5, E7, E9, E11. The VMM keeps
its own books only where a real VMM would: which hugepage it restarted, and which 2**lsb blocks
it has already reported lost to the guest.
"""

from __future__ import annotations

import numpy as np

from ..model import PAGE_SHIFT
from .draws import Draws
from .host import (
    backing_pfn,
    boot_host,
    deliver_ue,
    release_all,
    restart_vm,
    stranded_pages,
)
from .params import FleetParams
from .vectorized import HOST_METRICS, HostOutcome


def replay_host(params: FleetParams, policy: str, events: Draws, idx: np.ndarray) -> dict[str, int]:
    """Replay the errors ``idx`` (all on one host) on a fresh Kernel. Returns the host's
    HOST_METRICS. Raises RuntimeError when a restart finds no spare hugepage."""
    host = boot_host(
        params.hugepage_size, params.host_hugepages, params.vm_hugepages(), policy == "keep"
    )
    nr0 = host.counters()[0]
    out = dict.fromkeys(HOST_METRICS, 0)
    lost_blocks: set[tuple[int, int, int]] = set()
    page_pfn = 0
    first = events.first
    for i in idx:
        slot, subpage = int(events.slot[i]), int(events.subpage[i])
        if first[i]:
            page_pfn = backing_pfn(host, slot)
        out["ues"] += 1
        for sig in deliver_ue(host, slot, page_pfn, subpage, bool(events.scrub[i])):
            out["sigbus"] += 1
            lsb = sig.si_addr_lsb
            page_addr = host.addr(slot)
            assert page_addr <= sig.si_addr < page_addr + host.hugepage_bytes, sig
            block = (sig.si_addr - page_addr) >> lsb
            if (page_pfn, lsb, block) not in lost_blocks:
                lost_blocks.add((page_pfn, lsb, block))
                out["guest_lost_bytes"] += 1 << lsb
            if params.reaction(lsb) == "restart":
                restart_vm(host, slot)
                out["vm_interruptions"] += 1
    out["stranded_bytes"] = stranded_pages(host) << PAGE_SHIFT
    release_all(host)
    nr, free = host.counters()
    out["hugepages_dissolved"] = nr0 - nr
    out["hugepages_leaked"] = nr - free
    return out


def replay(params: FleetParams, policy: str, draws: Draws) -> HostOutcome:
    """Per-host outcomes of one replica, every error run through the kernel model.
    Meant for small fleets: it boots one Kernel per host with errors."""
    values = {name: np.zeros(draws.hosts, dtype=np.int64) for name in HOST_METRICS}
    for h in np.unique(draws.host):
        row = replay_host(params, policy, draws, np.flatnonzero(draws.host == h))
        for name, v in row.items():
            values[name][h] = v
    return HostOutcome(values)
