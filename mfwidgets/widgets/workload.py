"""Workload: a guest under load on each recovery policy, the same loads and the same hardware
errors on both, counted tick by tick. Pure simulation, no UI.

Mirrors: nothing new in the kernel. Each tick, latent DRAM errors appear (``Kernel.hw_ue``) and
the guest issues a batch of 8-byte loads (``Process.load_many``); a load that consumes an error
raises the machine check, memory_failure() runs, and the guest, which has no SIGBUS handler, is
killed. Stock hard-offlines the whole hugepage; MFD_MF_KEEP_UE_MAPPED (PROPOSED) keeps it
mapped and loses only the 4 KiB subpage.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..model import (
    MAP_SHARED,
    MFD_HUGE_1GB,
    MFD_HUGETLB,
    MFD_MF_KEEP_UE_MAPPED,
    PAGE_SHIFT,
    PROT_READ,
    PROT_WRITE,
    SZ_1G,
    FolioState,
    Kernel,
    Process,
    SigInfo,
    Snapshot,
)
from ..params import param, violations

PATTERNS = ("uniform", "hot set", "sequential")
POLICIES = ("stock", "keep")
POLICY_LABELS = {"stock": "stock (hard offline)", "keep": "MFD_MF_KEEP_UE_MAPPED (proposed)"}
HOT_SHARE = 0.9  # the share of the loads that go to the hot set
LOAD_BYTES = 8
FILL_BYTE = 0x5A
MEMFD_NAME = "guest"
# A hugepage in one of these states is gone from the guest as a whole (stock hard offline).
LOST_STATES = (FolioState.OFFLINED, FolioState.LEAKED, FolioState.DISSOLVED)
COUNTERS = (  # per policy, in Workload.totals()
    *("ticks", "loads_issued", "good_loads", "sigbus", "vm_deaths", "loads_dropped"),
    *("hardware_ues", "usable_bytes", "usable_fraction"),
)


@dataclasses.dataclass(frozen=True)
class WorkloadParams:
    """What the learner sets; checked on construction (ValueError naming the field)."""

    pattern: str = param(
        "uniform",
        "where the loads go: uniform over the guest memory; 90% into a hot set at its start; "
        "or a sequential scan, one load per 4 KiB subpage in turn",
        choices=PATTERNS,
    )
    loads_per_tick: int = param(
        10_000, "8-byte loads the guest issues per tick", bounds=(1, 100_000)
    )
    ue_rate: float = param(
        0.5,
        "expected new hardware errors (UEs) per tick, Poisson-distributed, at uniformly random "
        "4 KiB subpages of the guest memory; latent until a load consumes one",
        bounds=(0.0, 50.0),
        step=0.1,
    )
    hot_fraction: float = param(
        0.01,
        'for "hot set": the fraction of the guest memory that gets 90% of the loads',
        bounds=(0.001, 1.0),
        step=0.001,
    )
    nr_hugepages: int = param(1, "guest memory, in 1 GiB hugepages", bounds=(1, 4))
    seed: int = param(0, "seeds every random draw: the same seed, the same run", bounds=(0, 2**31))

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raises ValueError naming the field and its allowed values or range."""
        for v in violations(self):
            if v.rule == "choice":
                allowed = ", ".join(repr(c) for c in v.param.choices or ())
                raise ValueError(f"{v.name}: {v.value!r} is not one of {allowed}")
            lo, hi = v.param.bounds or (0, 0)
            raise ValueError(f"{v.name}: {v.value!r} is not a number in {lo}..{hi}")


@dataclasses.dataclass(frozen=True)
class TickResult:
    """What one tick did on one policy's side. Offsets are bytes into the guest memory."""

    issued: int  # loads that ran (the rest were dropped: the VM was rebooting)
    good: int
    dropped: int  # loads not run: the guest was killed before them
    sigbus: tuple[int, ...]  # offsets of the loads that raised SIGBUS
    signals: tuple[SigInfo, ...]  # what those loads got (si_addr_lsb: 12 keep, 30 stock)
    died: bool  # the guest was killed (and restarted)


def usable_bytes(snap: Snapshot, name: str = MEMFD_NAME) -> int:
    """The bytes of the memfd ``name`` whose data is still there and reachable.

    Rule: a hugepage hard-offlined by stock (OFFLINED, or LEAKED/DISSOLVED after a truncate)
    is lost as a whole; otherwise a 4 KiB subpage is lost when its DRAM holds an error (``bad``,
    found or still latent: the data is gone either way) or memory_failure() recorded it
    (``raw_hwp``). A hugepage no longer in the memfd counts as lost."""
    usable = 0
    for view in snap.folios:
        if view.memfd == name and view.state not in LOST_STATES:
            usable += (view.nr_pages - len(view.bad | view.raw_hwp)) << PAGE_SHIFT
    return usable


class _Side:
    """One policy: a kernel, a VMM process that owns the guest memfd, and the guest."""

    def __init__(self, params: WorkloadParams, keep: bool) -> None:
        self.kernel = Kernel({"1G": params.nr_hugepages}, keep, params.seed)
        self.size = params.nr_hugepages * SZ_1G
        # The VMM never touches the memory after filling it, so it never gets a SIGBUS; it
        # keeps the memfd open and mapped, so a guest's death releases nothing.
        self.vmm = self.kernel.spawn("vmm")
        flags = MFD_HUGETLB | MFD_HUGE_1GB | (MFD_MF_KEEP_UE_MAPPED if keep else 0)
        fd = self.vmm.memfd_create(MEMFD_NAME, flags)
        self.vmm.ftruncate(fd, self.size)
        self.addr = self.vmm.mmap(self.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd)
        self.vmm.fill(self.addr, self.size, FILL_BYTE)
        pfns = [self.vmm.virt_to_pfn(self.addr + i * SZ_1G) for i in range(params.nr_hugepages)]
        self.pfns = [p for p in pfns if p is not None]  # head pfn per hugepage, by memfd index
        self.guest = self.boot_guest()
        self.totals = dict.fromkeys(COUNTERS, 0.0)

    def boot_guest(self) -> Process:
        """(Re)start the VM: fork() of the VMM, which inherits the shared mapping."""
        guest = self.vmm.fork()
        # SIMPLIFICATION: fork()+exec() of the guest; exec would set its comm, and the model
        # has no execve, so the name is set here (dmesg then says "guest:<pid>").
        guest.name = "guest"
        return guest

    def inject(self, offsets: np.ndarray) -> None:
        for offset in offsets.tolist():
            hugepage, rest = divmod(offset, SZ_1G)
            self.kernel.hw_ue(self.pfns[hugepage] + (rest >> PAGE_SHIFT), detect="latent")
        self.totals["hardware_ues"] += len(offsets)

    def run(self, offsets: np.ndarray) -> TickResult:
        batch = self.guest.load_many(self.addr + offsets, LOAD_BYTES)
        died = not self.guest.alive
        t = self.totals
        t["ticks"] += 1
        t["loads_issued"] += batch.done
        t["good_loads"] += batch.ok
        t["sigbus"] += len(batch.faults)
        dropped = len(offsets) - batch.done
        t["loads_dropped"] += dropped
        if died:
            t["vm_deaths"] += 1
            self.guest = self.boot_guest()
        sigbus = tuple(int(offsets[i]) for i, _ in batch.faults)
        signals = tuple(s for _, s in batch.faults)
        return TickResult(batch.done, batch.ok, dropped, sigbus, signals, died)


class Workload:
    """One guest per policy ("stock" and "keep"), driven by the same draws.

    ``tick()`` runs one tick; ``totals()`` gives the running counters; ``kernels`` and
    ``guests`` (by policy) are the live model objects, for the next cell to analyse.
    """

    def __init__(self, params: WorkloadParams | None = None) -> None:
        self.params = WorkloadParams() if params is None else params
        self.params.check()
        self.rng = np.random.default_rng(self.params.seed)
        self._sides = {"stock": _Side(self.params, False), "keep": _Side(self.params, True)}
        self.size = self.params.nr_hugepages * SZ_1G
        self.ticks = 0
        self._cursor = 0  # the next subpage of the sequential scan

    @property
    def kernels(self) -> dict[str, Kernel]:
        return {policy: side.kernel for policy, side in self._sides.items()}

    @property
    def guests(self) -> dict[str, Process]:
        """The guest process running now on each side (a new one after each VM death)."""
        return {policy: side.guest for policy, side in self._sides.items()}

    def _draw_offsets(self) -> np.ndarray:
        p, n = self.params, self.params.loads_per_tick
        if p.pattern == "sequential":
            nr_subpages = self.size >> PAGE_SHIFT
            subpages = (self._cursor + np.arange(n, dtype=np.int64)) % nr_subpages
            self._cursor = (self._cursor + n) % nr_subpages
            return subpages << PAGE_SHIFT
        words = self.size // LOAD_BYTES
        if p.pattern == "uniform":
            return self.rng.integers(0, words, n) * LOAD_BYTES
        # "hot set": the first hot_fraction of the memory (think: the guest kernel and a busy
        # heap) gets HOT_SHARE of the loads, the rest of the memory the others.
        hot_words = max(1, int(words * p.hot_fraction))
        hot = self.rng.random(n) < HOT_SHARE
        in_hot = self.rng.integers(0, hot_words, n)
        in_cold = hot_words + self.rng.integers(0, max(1, words - hot_words), n)
        return np.where(hot | (hot_words >= words), in_hot, in_cold) * LOAD_BYTES

    def inject_ue(self, offset: int) -> None:
        """A latent hardware error at the subpage holding byte ``offset`` of the guest memory,
        on both sides. Raises ValueError for an offset outside the guest memory."""
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset < self.size:
            raise ValueError(f"inject_ue: offset {offset!r} is not in 0..{self.size - 1}")
        for side in self._sides.values():
            side.inject(np.array([offset]))

    def tick(self) -> dict[str, TickResult]:
        """New latent errors (Poisson(ue_rate), the same on both sides), then the same loads on
        both; a killed guest is restarted and the rest of its loads are dropped."""
        nr_ues = int(self.rng.poisson(self.params.ue_rate))
        ues = self.rng.integers(0, self.size >> PAGE_SHIFT, nr_ues) << PAGE_SHIFT
        offsets = self._draw_offsets()
        self.ticks += 1
        out = {}
        for policy, side in self._sides.items():
            side.inject(ues)
            out[policy] = side.run(offsets)
        return out

    def totals(self) -> dict[str, dict[str, float]]:
        """Policy -> the running counters of COUNTERS (usable memory as of now)."""
        out = {}
        for policy, side in self._sides.items():
            t = dict(side.totals)
            t["usable_bytes"] = float(usable_bytes(side.kernel.snapshot()))
            t["usable_fraction"] = t["usable_bytes"] / self.size
            out[policy] = t
        return out


__all__ = ["POLICIES", "POLICY_LABELS", "TickResult", "Workload", "WorkloadParams", "usable_bytes"]
