"""Kernel: the one state object: hugepage pools, processes, memfds, the trace and counters.

Mirrors: the parts of mm/hugetlb.c (alloc_hugetlb_folio, free_huge_folio,
dissolve_free_hugetlb_folio, set_max_huge_pages), fs/hugetlbfs/inode.c
(remove_inode_hugepages, hugetlb_vmdelete_list, hugetlbfs_evict_inode), mm/hwpoison-inject.c,
/proc/meminfo and sysfs that the memory-failure story needs. Rule IDs (E1...) refer to
docs/kernel.md; differences from real kernels follow its section R.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import errno, hugetlbfs
from .constants import (
    DEFAULT_HUGEPAGE_SIZE,
    HUGEPAGE_SHIFTS,
    MF_ACTION_REQUIRED,
    MF_SW_SIMULATED,
    PAGE_SHIFT,
    SIGBUS,
    TASK_COMM_LEN,
    BusCode,
)
from .contents import Contents
from .entry import entry, int_arg, int_args
from .errors import EHWPOISON, SyscallError
from .folio import FolioState, HugetlbFolio
from .hstate import Hstate, HstateCounters
from .invariants import check_invariants
from .memfd import Memfd
from .memory_failure import KEPT_SECOND_ERRORS, MFStats, memory_failure, unpoison_memory
from .mm import Vma
from .process import Process
from .siginfo import SigInfo, sigbus
from .snapshot import Snapshot, take_snapshot
from .trace import EventKind, Trace, TraceEvent
from .version import KERNEL_VERSIONS, KernelVersion

VERSIONS = tuple(KERNEL_VERSIONS)  # "7.3", "6.12", "6.1"
MAX_HUGEPAGES = 1 << 20  # per size: 2 TiB of 2 MiB pages, 1 PiB of 1 GiB pages
FIRST_PFN = 0x100000  # the pools start at 4 GiB of physical memory
MEMINFO_KEYS = (
    "HardwareCorrupted",
    "HugePages_Total",
    "HugePages_Free",
    "HugePages_Rsvd",
    "HugePages_Surp",
    "Hugepagesize",
    "Hugetlb",
)
_SYSCTL_DEFAULTS = {
    "vm.memory_failure_early_kill": 0,
    "vm.memory_failure_recovery": 1,
    "vm.enable_soft_offline": 1,
}


class KernelPanic(RuntimeError):
    """The simulated kernel panicked (vm.memory_failure_recovery = 0); it accepts no more calls."""


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
        pools = {"2M": 8} if hugepages is None else dict(hugepages)
        for size, count in pools.items():
            if size not in HUGEPAGE_SHIFTS:
                raise ValueError(f"hugepages: size {size!r} is not one of '2M', '1G'")
            if not isinstance(count, int) or not 0 <= count <= MAX_HUGEPAGES:
                raise ValueError(
                    f"hugepages[{size!r}]: {count!r} is not an int in 0..{MAX_HUGEPAGES}"
                )
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
        self.sysctls = dict(_SYSCTL_DEFAULTS)
        if not self.behaviour.enable_soft_offline_sysctl:
            del self.sysctls["vm.enable_soft_offline"]  # soft offline is always enabled
        self.hstates = {name: Hstate(name, shift) for name, shift in HUGEPAGE_SHIFTS.items()}
        self.folios: list[HugetlbFolio] = []
        self._folio_pfns: list[int] = []  # head pfns of self.folios, ascending, for bisect
        self._next_pfn = FIRST_PFN
        self.processes: list[Process] = []
        self._nr_exited = 0  # exited processes still in ``processes``
        self.memfds: list[Memfd] = []
        self._next_pid = 1000
        self.doomed: list[Process] = []
        self.signalled: list[Process] = []  # processes with a pending signal
        self.invariant_state: dict[str, Any] = {"seq": 0, "failed": set()}
        # SIMPLIFICATION: the 1 GiB pool sits below the 2 MiB pool, each contiguous.
        for size in ("1G", "2M"):
            self._grow_pool(self.hstates[size], pools.get(size, 0))

    @property
    def kernel(self) -> Kernel:
        return self

    # -- the trace and the log --
    def emit(self, kind: EventKind, **fields: object) -> TraceEvent:
        self.seq += 1
        event = TraceEvent(self.seq, self.step, kind, **fields)  # type: ignore[arg-type]
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

    def forget_exited(self) -> None:
        """A process exited. Like zombies that init reaps, exited processes leave
        ``processes`` in the end: the newest ``exited_kept`` stay for a notebook to look at,
        so a long session (a guest killed and rebooted every tick) stays bounded. Trimmed
        when twice as many have piled up, so an exit costs O(1) on average."""
        self._nr_exited += 1
        if self._nr_exited <= 2 * self.exited_kept:
            return
        drop = self._nr_exited - self.exited_kept
        kept = []
        for proc in self.processes:
            if drop and not proc.alive:
                drop -= 1
            else:
                kept.append(proc)
        self.processes = kept
        self._nr_exited = self.exited_kept

    def live_processes(self) -> list[Process]:
        return [p for p in self.processes if p.alive]

    def early_kill(self, proc: Process) -> bool:
        """task_early_kill(): prctl(PR_MCE_KILL) wins over vm.memory_failure_early_kill."""
        if proc.mce_kill == "default":
            return bool(self.sysctls["vm.memory_failure_early_kill"])
        return proc.mce_kill == "early"

    def send_signal(self, proc: Process, info: SigInfo, pfn: int | None = None) -> SigInfo:
        """Generate a signal (force_sig_mceerr(), force_sig_fault()): it is pending until the
        task returns to user space (``return_to_user()``). A standard signal that is pending
        already is not queued a second time (legacy_queue() in kernel/signal.c): kill_procs()
        may send one SIGBUS per mapping of a poisoned page, the task sees the first one only
        (docs/kernel.md E7, recorded in scenarios T and T_AR).

        Returns the SigInfo the task will see. A SIGBUS with no handler (or any SIGSEGV) kills
        the process when the current call returns (force_sig_mceerr resets a blocked or
        ignored SIGBUS).
        SIMPLIFICATION: ``proc.signals`` records a signal when it is queued, not when the
        task's handler runs; nothing can tell the two apart from outside the call."""
        queued = proc.pending.get(info.si_signo)
        if queued is not None:
            return queued
        proc.pending[info.si_signo] = info
        self.signalled.append(proc)
        proc.signals.append(info)
        folio = None if pfn is None else self.folio_of_pfn(pfn)
        self.emit(
            EventKind.SIGNAL,
            pid=proc.pid,
            pfn=pfn,
            folio=None if folio is None else folio.number,
            subpage=None if folio is None or pfn is None else pfn - folio.pfn,
            addr=info.si_addr,
            si_code=info.si_code,
            addr_lsb=info.si_addr_lsb,
            text=repr(info),
        )
        if not (proc.handle_sigbus and info.si_signo == SIGBUS):
            self.doomed.append(proc)
        return info

    def deliver_signals(self) -> None:
        """Every pending signal is delivered (the tasks ran their handlers): none is pending."""
        for proc in self.signalled:
            proc.pending.clear()
        self.signalled.clear()

    def return_to_user(self) -> None:
        """The outermost call returns: signals are delivered, and those that kill act."""
        self.deliver_signals()
        self.reap()

    def reap(self) -> None:
        """Let the signals that kill act."""
        while self.doomed:
            proc = self.doomed.pop(0)
            if proc.alive:
                self.depth += 1
                try:
                    proc.do_exit(killed=True)
                finally:
                    self.depth -= 1

    # -- the pools --
    def _grow_pool(self, hstate: Hstate, count: int) -> None:
        nr_pages = 1 << (hstate.shift - PAGE_SHIFT)
        for _ in range(count):
            pfn = -(-self._next_pfn // nr_pages) * nr_pages
            folio = HugetlbFolio(len(self.folios), pfn, hstate.shift)
            self.folios.append(folio)
            self._folio_pfns.append(pfn)
            hstate.folios.append(folio)
            self._next_pfn = pfn + nr_pages

    def folio_of_pfn(self, pfn: int) -> HugetlbFolio | None:
        """The hugepage (live or dissolved) that holds ``pfn``, or None.

        SIMPLIFICATION: the model's physical memory is the hugepage pools; a pfn outside them
        is "not memory this model simulates" (ENXIO), as an invalid pfn is for the kernel."""
        if not isinstance(pfn, (int, np.integer)):
            return None
        i = bisect.bisect_right(self._folio_pfns, int(pfn)) - 1
        if i < 0:
            return None
        folio = self.folios[i]
        return folio if pfn < folio.pfn + folio.nr_pages else None

    def hstate(self, size: str) -> HstateCounters:
        """The pool counters of one size ("2M" or "1G")."""
        if size not in self.hstates:
            raise ValueError(f"hstate: size {size!r} is not one of '2M', '1G'")
        return self.hstates[size].counters()

    def alloc_folio(self, hstate: Hstate, reserved: bool) -> HugetlbFolio | None:
        """alloc_hugetlb_folio(): a zeroed hugepage, taken from a reservation or from the free
        pages nobody reserved; None when there is none."""
        if not reserved and hstate.available < 1:
            return None
        folio = hstate.dequeue()
        if folio is None:
            return None
        if reserved:
            hstate.resv_hugepages -= 1
        folio.state = FolioState.IN_USE
        folio.contents = Contents(folio.nr_pages)
        folio.alloc_seq = self.seq + 1
        self.emit(EventKind.ALLOC, pfn=folio.pfn, folio=folio.number)
        return folio

    def free_folio(self, folio: HugetlbFolio) -> None:
        """free_huge_folio(): back to the free list, or out of the pool if it is surplus."""
        folio.mapping = folio.index = None
        folio.anon = False
        folio.contents = None
        hstate = self.hstates[folio.hstate_name]
        if hstate.surplus_hugepages:
            hstate.surplus_hugepages -= 1
            self.dissolve(folio)
            return
        folio.state = FolioState.FREE
        self.emit(EventKind.FREE, pfn=folio.pfn, folio=folio.number)

    def dissolve(self, folio: HugetlbFolio) -> None:
        """dissolve_free_hugetlb_folio(): the hugepage leaves the pool (nr_hugepages - 1); its
        healthy 4 KiB pages go to the buddy allocator and its poisoned ones stay isolated
        (free_has_hwpoisoned(), docs/kernel.md D.7)."""
        folio.isolated |= set(folio.raw_hwp)
        folio.raw_hwp.clear()
        folio.state = FolioState.DISSOLVED
        folio.mapping = folio.index = None
        folio.anon = False
        folio.contents = None
        # A surplus page that leaves the pool takes its surplus count along
        # (remove_hugetlb_folio(..., adjust_surplus)).
        hstate = self.hstates[folio.hstate_name]
        hstate.surplus_hugepages = min(hstate.surplus_hugepages, hstate.nr_hugepages)
        self.emit(EventKind.DISSOLVE, pfn=folio.pfn, folio=folio.number)

    def add_to_pagecache(self, memfd: Memfd, index: int, folio: HugetlbFolio) -> None:
        memfd.pagecache[index] = folio
        folio.mapping, folio.index = memfd, index

    def remove_from_pagecache(self, folio: HugetlbFolio) -> None:
        assert folio.mapping is not None and folio.index is not None
        del folio.mapping.pagecache[folio.index]
        folio.mapping = folio.index = None

    @int_args("count")
    @entry
    def set_nr_hugepages(self, size: str, count: int) -> None:
        """echo count > /sys/kernel/mm/hugepages/hugepages-<kB>kB/nr_hugepages
        (set_max_huge_pages()): grow with new pages, or free unused ones; pages still in use
        above ``count`` become surplus. Raises SyscallError EINVAL for a bad count."""
        if size not in self.hstates:
            raise ValueError(f"set_nr_hugepages: size {size!r} is not one of '2M', '1G'")
        if not 0 <= count <= MAX_HUGEPAGES:
            raise SyscallError(
                errno.EINVAL, "write nr_hugepages", f"{count!r} is not in 0..{MAX_HUGEPAGES}"
            )
        hstate = self.hstates[size]
        nr = hstate.nr_hugepages
        if count > nr:
            cut = min(hstate.surplus_hugepages, count - nr + hstate.surplus_hugepages)
            hstate.surplus_hugepages -= cut
            self._grow_pool(hstate, count - nr)
        else:
            floor = max(count, hstate.resv_hugepages + nr - hstate.free_hugepages)
            for folio in list(hstate.folios):
                if hstate.nr_hugepages <= floor:
                    break
                if folio.state is FolioState.FREE:
                    self.dissolve(folio)
            hstate.surplus_hugepages = max(0, hstate.nr_hugepages - count)
        self.emit(EventKind.SYSCALL, text=f"echo {count} > hugepages-{hstate.kb}kB/nr_hugepages")

    # -- memfd page cache --
    def get_memfd(self, memfd: Memfd) -> None:
        memfd.refs += 1

    def put_memfd(self, memfd: Memfd) -> None:
        """Drop a reference; the last one releases the memfd (hugetlbfs_evict_inode(), E11)."""
        memfd.refs -= 1
        if memfd.refs == 0:
            memfd.released = True
            self.emit(EventKind.RELEASE, text=f"memfd:{memfd.name} released")
            hugetlbfs.remove_inode_hugepages(self, memfd, 0, hugetlbfs.END_OF_FILE)

    # -- memory failure --
    @int_args("pfn", "flags")
    @entry
    def memory_failure(self, pfn: int, flags: int = 0) -> int:
        """Call memory_failure(pfn, flags) directly, as an error handler in the kernel would.
        Returns 0 or a negative errno (never raises for a recovery outcome)."""
        return self._memory_failure(pfn, flags, None)

    def _memory_failure(self, pfn: int, flags: int, current: Process | None) -> int:
        if not self.sysctls["vm.memory_failure_recovery"]:
            self.printk(f"Kernel panic - not syncing: Memory failure on page {pfn:x}")
            self.panicked = True
            raise KernelPanic(f"Memory failure on page {pfn:x} with vm.memory_failure_recovery = 0")
        return memory_failure(self, pfn, flags, current)

    def machine_check(self, proc: Process, folio: HugetlbFolio, subpage: int, vma: Vma) -> SigInfo:
        """A load (or store) consumed a hardware error: the x86 MCE handler logs it and calls
        memory_failure(pfn, MF_ACTION_REQUIRED) from kill_me_maybe() (E5, docs/kernel.md R4)."""
        pfn = folio.pfn + subpage
        self.emit(
            EventKind.MACHINE_CHECK, pid=proc.pid, pfn=pfn, folio=folio.number, subpage=subpage
        )
        # Every machine check is logged first (mce_log(); docs/kernel.md R3, recorded H_AR).
        self.printk("mce: [Hardware Error]: Machine check events logged")
        self.printk(
            f"mce: Uncorrected hardware memory error in user-access at {pfn << PAGE_SHIFT:x}"
        )
        ret = self._memory_failure(pfn, MF_ACTION_REQUIRED, proc)
        signal = proc.pending.get(SIGBUS)
        if ret in (0, -EHWPOISON, -errno.EOPNOTSUPP) and signal is not None:
            return signal
        self.printk("mce: Memory error not recovered")
        return self.send_signal(proc, sigbus(BusCode.SI_KERNEL, 0, 0, proc.pid), pfn)

    def _checked_pfn(self, call: str, pfn: int) -> HugetlbFolio:
        if isinstance(pfn, bool) or not isinstance(pfn, (int, np.integer)):
            raise TypeError(f"{call}: pfn must be an int")
        folio = self.folio_of_pfn(pfn)
        if folio is None:
            raise SyscallError(
                errno.ENXIO, call, f"pfn {pfn:#x} is not memory this model simulates"
            )
        return folio

    @int_args("pfn")
    @entry
    def corrupt_pfn(self, pfn: int) -> int:
        """echo pfn > /sys/kernel/debug/hwpoison/corrupt-pfn: a software-simulated error (the
        data stays intact): memory_failure(pfn, MF_SW_SIMULATED), no AR signal (E7 variants).

        Returns 0. Raises SyscallError like the write(2): ENXIO (no such pfn), EHWPOISON
        (already poisoned; stock: also a new raw page of a poisoned hugepage, which is still
        counted), EBUSY (Failed). Those failures are the kernel's verdict: the poison and its
        counters are recorded as the kernel does.
        SIMPLIFICATION: the writer of the debugfs file is not a modelled process (it would get
        an AO only if it mapped the page and were early-kill, like any other process)."""
        self._checked_pfn("corrupt-pfn", pfn)
        self.printk(f"Injecting memory failure at pfn {pfn:#x}")
        folio = self.folio_of_pfn(pfn)
        assert folio is not None
        self.emit(
            EventKind.INJECT,
            pfn=pfn,
            folio=folio.number,
            subpage=pfn - folio.pfn,
            text="corrupt-pfn",
        )
        ret = self._memory_failure(pfn, MF_SW_SIMULATED, None)
        if ret < 0:
            raise SyscallError(-ret, "corrupt-pfn", f"memory_failure({pfn:#x}) returned {ret}")
        return 0

    @int_args("pfn")
    @entry
    def unpoison_pfn(self, pfn: int) -> int:
        """echo pfn > /sys/kernel/debug/hwpoison/unpoison-pfn (E13). Returns 0. Raises
        SyscallError: ENXIO, EOPNOTSUPP (after a hardware error), EBUSY (not poisoned: use the
        head pfn of a hugepage; or still referenced)."""
        self._checked_pfn("unpoison-pfn", pfn)
        ret = unpoison_memory(self, pfn)
        if ret < 0:
            raise SyscallError(-ret, "unpoison-pfn", f"unpoison_memory({pfn:#x}) returned {ret}")
        return 0

    @int_args("pfn")
    @entry
    def hw_ue(self, pfn: int, *, detect: str = "latent") -> int:
        """A real uncorrected error in DRAM at the 4 KiB frame ``pfn``: its data is lost.

        ``detect="latent"``: nothing happens until a load consumes it (AR, E5).
        ``detect="scrub"``: the patrol scrubber reports it now: memory_failure(pfn, 0), action
        optional (SRAO, docs/kernel.md R4). Returns memory_failure()'s result (0 for latent).
        Raises SyscallError ENXIO for a pfn the model does not simulate, ValueError for a bad
        ``detect``.
        """
        if detect not in ("latent", "scrub"):
            raise ValueError(f"hw_ue: detect must be 'latent' or 'scrub', not {detect!r}")
        folio = self._checked_pfn("hw_ue", pfn)
        subpage = pfn - folio.pfn
        folio.bad.add(subpage)
        self.emit(
            EventKind.INJECT,
            pfn=pfn,
            folio=folio.number,
            subpage=subpage,
            text=f"hardware UE ({detect})",
        )
        if detect == "latent":
            return 0
        self.emit(EventKind.MACHINE_CHECK, pfn=pfn, folio=folio.number, subpage=subpage)
        self.printk("mce: [Hardware Error]: Machine check events logged")
        return self._memory_failure(pfn, 0, None)

    @int_args("pfn", "length")
    def peek(self, pfn: int, length: int = 64) -> bytes | None:
        """The first ``length`` bytes of the 4 KiB frame ``pfn``, as a debugger reading physical
        memory would see them; None where the data is lost (a hardware error) or the frame
        holds no hugepage data. Not a syscall: no fault, no signal, nothing traced."""
        folio = self.folio_of_pfn(pfn)
        if folio is None or folio.contents is None or not 0 < length <= 4096:
            return None
        subpage = pfn - folio.pfn
        if subpage in folio.bad:
            return None
        return folio.contents.read(subpage << PAGE_SHIFT, length)

    # -- counters and files --
    def meminfo(self) -> dict[str, int]:
        """/proc/meminfo keys of this story; sizes in kB, HugePages_* for the default size."""
        h = self.hstates[DEFAULT_HUGEPAGE_SIZE]
        return {
            "HardwareCorrupted": self.num_poisoned_pages << (PAGE_SHIFT - 10),
            "HugePages_Total": h.nr_hugepages,
            "HugePages_Free": h.free_hugepages,
            "HugePages_Rsvd": h.resv_hugepages,
            "HugePages_Surp": h.surplus_hugepages,
            "Hugepagesize": h.kb,
            "Hugetlb": sum(s.nr_hugepages * s.kb for s in self.hstates.values()),
        }

    def _files(self) -> dict[str, str]:
        m = self.meminfo()
        files = {
            "/proc/meminfo": (
                f"HardwareCorrupted: {m['HardwareCorrupted']:5d} kB\n"
                f"HugePages_Total:   {m['HugePages_Total']:5d}\n"
                f"HugePages_Free:    {m['HugePages_Free']:5d}\n"
                f"HugePages_Rsvd:    {m['HugePages_Rsvd']:5d}\n"
                f"HugePages_Surp:    {m['HugePages_Surp']:5d}\n"
                f"Hugepagesize:   {m['Hugepagesize']:8d} kB\n"
                f"Hugetlb:        {m['Hugetlb']:8d} kB\n"
            ),
        }
        for name, value in self.sysctls.items():
            files["/proc/sys/" + name.replace(".", "/")] = f"{value}\n"
        for h in self.hstates.values():
            c = h.counters()
            for field in ("nr_hugepages", "free_hugepages", "resv_hugepages", "surplus_hugepages"):
                files[f"/sys/kernel/mm/hugepages/hugepages-{h.kb}kB/{field}"] = (
                    f"{getattr(c, field)}\n"
                )
        for field in ("total", "ignored", "failed", "delayed", "recovered"):
            if self.behaviour.node_mf_stats:
                path = f"/sys/devices/system/node/node0/memory_failure/{field}"
                files[path] = f"{getattr(self.mf_stats, field)}\n"
        return files

    def cat(self, path: str) -> str:
        """The text of a procfs or sysfs file. Raises SyscallError ENOENT for others."""
        files = self._files()
        if path not in files:
            raise SyscallError(errno.ENOENT, "open", f"{path}: no such file in this model")
        return files[path]

    @entry
    def sysctl(self, name: str, value: int | None = None) -> int:
        """Read, or set, a sysctl: vm.memory_failure_early_kill, vm.memory_failure_recovery,
        vm.enable_soft_offline (0 or 1), vm.nr_hugepages (the default size's pool).
        Raises SyscallError ENOENT (unknown name) or EINVAL (bad value)."""
        if value is not None:
            value = int_arg("sysctl", "value", value)
        if name == "vm.nr_hugepages":
            if value is not None:
                self.set_nr_hugepages(DEFAULT_HUGEPAGE_SIZE, value)
            return self.hstates[DEFAULT_HUGEPAGE_SIZE].nr_hugepages
        if name not in self.sysctls:
            raise SyscallError(errno.ENOENT, "sysctl", f"{name}: no such sysctl in this model")
        if value is not None:
            if value not in (0, 1):
                raise SyscallError(errno.EINVAL, "sysctl", f"{name} takes 0 or 1, not {value!r}")
            self.sysctls[name] = value
            self.emit(EventKind.SYSCALL, text=f"sysctl {name}={value}")
        return self.sysctls[name]

    def snapshot(self) -> Snapshot:
        """An immutable view for plots: per folio, state codes per 4 KiB subpage; counters."""
        return take_snapshot(self)

    def comm(self, name: str) -> str:
        return name[: TASK_COMM_LEN - 1]
