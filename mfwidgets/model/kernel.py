"""Kernel: the one state object: hugepage pools, processes, memfds, the trace and counters.

A façade: the state lives here, the syscall-named public surface is here, and the work is in
one-noun modules that take the kernel as their first argument: pool.py (the hugepage pools),
pagecache.py (memfd page cache and references), signals.py (delivery), mce.py (machine checks
and hwpoison-inject), procfs.py (meminfo, sysfs, sysctl). They reach the kernel through
``emit``/``printk`` and the few calls bound below. Rule IDs (E1...) refer to docs/kernel.md;
differences from real kernels follow its section R.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import mce, pagecache, pool, procfs, signals
from .constants import HUGEPAGE_SHIFTS
from .entry import entry
from .errors import KernelPanic
from .folio import HugetlbFolio
from .hstate import HstateCounters
from .invariants import check_invariants
from .memfd import Memfd
from .memory_failure import KEPT_SECOND_ERRORS, MFStats
from .mm import VmFault
from .pool import MAX_HUGEPAGES, HstatePool, grow_pool
from .process import Process
from .procfs import MEMINFO_KEYS, SYSCTL_DEFAULTS
from .snapshot import Snapshot, take_snapshot
from .trace import EventKind, InjectSource, MFMsg, MFResult, Signal, Trace, TraceEvent
from .version import KERNEL_VERSIONS, KernelVersion

VERSIONS = tuple(KERNEL_VERSIONS)  # "7.3", "6.12", "6.1"
FIRST_PFN = 0x100000  # the pools start at 4 GiB of physical memory
__all__ = ["FIRST_PFN", "MAX_HUGEPAGES", "MEMINFO_KEYS", "VERSIONS", "Kernel", "KernelPanic"]


def _checked_arguments(
    hugepages: Mapping[str, int] | None, version: str, seed: int, kept_second_error: str
) -> dict[str, int]:
    """The boot pools (size -> count) of ``Kernel(...)``'s arguments; ValueError or TypeError
    for an argument out of range, before any state is built."""
    pools = {"2M": 8} if hugepages is None else dict(hugepages)
    for size, count in pools.items():
        if size not in HUGEPAGE_SHIFTS:
            raise ValueError(f"hugepages: size {size!r} is not one of '2M', '1G'")
        if not isinstance(count, int) or not 0 <= count <= MAX_HUGEPAGES:
            raise ValueError(f"hugepages[{size!r}]: {count!r} is not an int in 0..{MAX_HUGEPAGES}")
    if not isinstance(version, str) or version not in KERNEL_VERSIONS:
        raise ValueError(
            f"version: {version!r} is not modelled; choose one of {', '.join(VERSIONS)}"
        )
    if not isinstance(seed, int):
        raise TypeError("seed must be an int")
    if kept_second_error not in KEPT_SECOND_ERRORS:
        raise ValueError(
            f"kept_second_error: {kept_second_error!r} is not one of "
            + ", ".join(repr(x) for x in KEPT_SECOND_ERRORS)
        )
    return pools


class Kernel:
    # CONFIG_DEBUG_VM: run check_invariants() after every outermost call (tests turn it on).
    debug_vm = False
    # Exited processes kept in ``processes`` (see forget_exited()).
    exited_kept = 1024

    """A simulated Linux kernel with HugeTLB pools.

    ``hugepages`` is the boot-time pool per size, e.g. ``{"2M": 8, "1G": 2}``.
    ``supports_keep_ue_mapped``: the kernel carries the PROPOSED MFD_MF_KEEP_UE_MAPPED series
    (False: stock mainline, where the flag is EINVAL). ``seed`` seeds ``rng``, the only source
    of randomness. ``version``: "7.3" (default), "6.12" (which behaves alike) or "6.1": the
    behaviours that differ are in ``version.KERNEL_VERSIONS`` (docs/kernel.md R3); ``behaviour``
    is the chosen one. ``kept_second_error`` (PROPOSED series only): what a second hardware
    error in an already kept hugepage does: "ignored" (default) as the v3 kernel really does,
    "intent" as the series says it should (docs/kernel.md V4).
    """

    def __init__(
        self,
        hugepages: Mapping[str, int] | None = None,
        supports_keep_ue_mapped: bool = True,
        seed: int = 0,
        *,
        version: str = "7.3",
        kept_second_error: str = "ignored",
    ) -> None:
        pools = _checked_arguments(hugepages, version, seed, kept_second_error)
        self.boot_hugepages = {size: pools.get(size, 0) for size in HUGEPAGE_SHIFTS}
        self.supports_keep_ue_mapped = bool(supports_keep_ue_mapped)
        self.version = version
        self.kept_second_error = kept_second_error
        self.behaviour: KernelVersion = KERNEL_VERSIONS[version]
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.trace = Trace()
        self.seq = 0
        self.step = 0
        self.depth = 0
        self.panicked = False
        self.hw_memory_failure = False  # any real hardware error so far disables unpoison
        self.soft_offline_warned = False
        self.num_poisoned_pages = 0
        self.mf_stats = MFStats()
        self.sysctls = dict(SYSCTL_DEFAULTS)
        if not self.behaviour.enable_soft_offline_sysctl:
            del self.sysctls["vm.enable_soft_offline"]  # soft offline is always enabled
        self.hstates = {name: HstatePool(name, shift) for name, shift in HUGEPAGE_SHIFTS.items()}
        self.folios: list[HugetlbFolio] = []
        self.folio_pfns: list[int] = []  # head pfns of self.folios, ascending, for bisect
        self.next_pfn = FIRST_PFN
        self.processes: list[Process] = []
        self.nr_exited = 0  # exited processes still in ``processes``
        self.memfds: list[Memfd] = []
        self._next_pid = 1000
        self.doomed: list[Process] = []
        self.signalled: list[Process] = []  # processes with a pending signal
        self.invariant_state: dict[str, Any] = {"seq": 0, "failed": set()}
        # SIMPLIFICATION: the 1 GiB pool sits below the 2 MiB pool, each contiguous.
        for size in ("1G", "2M"):
            grow_pool(self, self.hstates[size], pools.get(size, 0))

    @property
    def kernel(self) -> Kernel:
        return self

    # -- the trace and the log --
    def emit(
        self,
        kind: EventKind,
        *,
        pid: int | None = None,
        pfn: int | None = None,
        folio: int | None = None,
        subpage: int | None = None,
        addr: int | None = None,
        mf_type: MFMsg | None = None,
        mf_result: MFResult | None = None,
        si_code: int | None = None,
        addr_lsb: int | None = None,
        errno: int | None = None,
        text: str | None = None,
        source: InjectSource | None = None,
        signal: Signal | None = None,
        fault: VmFault | None = None,
    ) -> TraceEvent:
        """Append one event (the tracepoint), typed field by field."""
        self.seq += 1
        event = TraceEvent(
            self.seq, self.step, kind, pid, pfn, folio, subpage, addr, mf_type, mf_result,
            si_code, addr_lsb, errno, text, source, signal, fault,
        )  # fmt: skip
        self.trace._append(event)
        if event.folio is not None and event.subpage is not None:
            self.folios[event.folio].last_event[event.subpage] = event.seq
        return event

    def printk(self, line: str) -> None:
        self.emit(EventKind.PRINTK, text=line)

    def dmesg(self) -> list[str]:
        """The kernel log, oldest first (E7, §B.0 formats)."""
        return self.trace.dmesg()

    # -- processes and signals --
    def check(self) -> None:
        """check_invariants(self): raise InvariantError if the model broke a rule."""
        check_invariants(self)

    def check_alive(self) -> None:
        if self.panicked:
            raise KernelPanic("the simulated kernel has panicked; make a new Kernel")

    @entry
    def spawn(
        self, name: str, *, handle_sigbus: bool = False, cap_sys_admin: bool = True
    ) -> Process:
        """A new process. Without a SIGBUS handler any SIGBUS kills it (then E11 applies)."""
        if not isinstance(name, str) or not name:
            raise ValueError("spawn: name must be a non-empty str")
        proc = Process(self, self._next_pid, name, handle_sigbus, cap_sys_admin)
        self._next_pid += 1
        self.processes.append(proc)
        self.emit(EventKind.SYSCALL, pid=proc.pid, text=f"spawn({name!r}) = {proc.pid}")
        return proc

    def new_pid(self) -> int:
        self._next_pid += 1
        return self._next_pid - 1

    def live_processes(self) -> list[Process]:
        return [p for p in self.processes if p.alive]

    def hstate(self, size: str) -> HstateCounters:
        """The pool counters of one size ("2M" or "1G")."""
        if size not in self.hstates:
            raise ValueError(f"hstate: size {size!r} is not one of '2M', '1G'")
        return self.hstates[size].counters()

    # -- the pools (pool.py) --
    folio_of_pfn = pool.folio_of_pfn
    alloc_folio = pool.alloc_folio
    free_folio = pool.free_folio
    dissolve = pool.dissolve
    set_nr_hugepages = pool.set_nr_hugepages

    # -- signal delivery (signals.py) --
    forget_exited = signals.forget_exited
    early_kill = signals.early_kill
    send_signal = signals.send_signal
    deliver_signals = signals.deliver_signals
    return_to_user = signals.return_to_user
    reap = signals.reap

    # -- the memfd page cache (pagecache.py) --
    add_to_pagecache = pagecache.add_to_pagecache
    remove_from_pagecache = pagecache.remove_from_pagecache
    get_memfd = pagecache.get_memfd
    put_memfd = pagecache.put_memfd

    # -- machine checks and hwpoison-inject (mce.py) --
    memory_failure = mce.call_memory_failure
    machine_check = mce.machine_check
    corrupt_pfn = mce.corrupt_pfn
    unpoison_pfn = mce.unpoison_pfn
    hw_ue = mce.hw_ue
    peek = mce.peek

    # -- counters and files (procfs.py) --
    meminfo = procfs.meminfo
    cat = procfs.cat
    sysctl = procfs.sysctl

    def snapshot(self) -> Snapshot:
        """An immutable view for plots: per folio, state codes per 4 KiB subpage; counters."""
        return take_snapshot(self)
