"""Draws: the random part of one fleet replica, made once and shared by every policy and by
both simulators (vectorized and event-level), so they see exactly the same errors.

Mirrors: nothing in the kernel; the fault model of the field studies cited in params.py.
Faults arrive per host as a Poisson process; drawing the fleet total (Poisson) and spreading it
uniformly over hosts is the same distribution and costs O(faults), not O(hosts). Faults are
i.i.d., so their order on a host is the order they are drawn in (no clock is needed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .params import FleetParams

MAX_ERRORS_PER_FAULT = 64  # caps the geometric repeat count (one fault, one burst)


@dataclass(frozen=True)
class Draws:
    """Every error of one replica, in the order it happens (host by host).

    Per error: ``host``, ``fault`` (index of the fault it belongs to, non-decreasing),
    ``slot`` (the guest hugepage of the host the fault sits in: VM by VM, page by page),
    ``subpage`` (4 KiB page within that hugepage) and ``scrub`` (found by the patrol scrubber;
    else latent, then consumed by a guest load). A fault's first error comes first, its repeats
    follow at once (SIMPLIFICATION: a burst, before the next fault of that host).
    ``outside``: faults that landed outside guest memory (not simulated).
    """

    hosts: int
    outside: int
    host: np.ndarray
    fault: np.ndarray
    slot: np.ndarray
    subpage: np.ndarray
    scrub: np.ndarray

    @property
    def nr_errors(self) -> int:
        return int(self.host.size)

    @property
    def first(self) -> np.ndarray:
        """True at the first error of each fault."""
        out = np.ones(self.fault.size, dtype=bool)
        out[1:] = self.fault[1:] != self.fault[:-1]
        return out


def draw(params: FleetParams, rng: np.random.Generator) -> Draws:
    """The errors of one replica of ``params.hosts`` hosts over ``params.years``."""
    mean = params.fault_rate * params.years * params.hosts
    nr_all = int(rng.poisson(mean))
    nr_faults = int(rng.binomial(nr_all, params.guest_share))
    fault_host = np.sort(rng.integers(0, params.hosts, nr_faults))
    fault_slot = rng.integers(0, params.guest_hugepages, nr_faults)
    p = params.repeat_probability
    if p > 0:
        extra = np.minimum(rng.geometric(1.0 - p, nr_faults) - 1, MAX_ERRORS_PER_FAULT - 1)
    else:
        extra = np.zeros(nr_faults, dtype=np.int64)
    per_fault = 1 + extra
    # Repeat counts as intp: numpy on wasm32 (the browser workbook) has a 32-bit intp and
    # refuses to cast int64 counts; the values are the same.
    fault = np.repeat(np.arange(nr_faults, dtype=np.int64), per_fault.astype(np.intp))
    subpage = rng.integers(0, params.nr_pages, fault.size)
    scrub = rng.random(fault.size) < params.scrub_fraction
    return Draws(
        hosts=params.hosts,
        outside=nr_all - nr_faults,
        host=fault_host[fault],
        fault=fault,
        slot=fault_slot[fault],
        subpage=subpage,
        scrub=scrub,
    )
