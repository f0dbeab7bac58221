"""Machine checks and error injection: the ways an error reaches memory_failure().

Mirrors: arch/x86/kernel/cpu/mce (kill_me_maybe: a consumed error is MF_ACTION_REQUIRED; the
patrol scrubber's SRAO is action optional), mm/hwpoison-inject.c (corrupt-pfn, unpoison-pfn)
and vm.memory_failure_recovery (0: panic). Rule IDs refer to docs/kernel.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import errno
from .constants import MF_ACTION_REQUIRED, MF_SW_SIMULATED, PAGE_SHIFT, SIGBUS, BusCode
from .entry import entry, int_args
from .errors import EHWPOISON, KernelPanic, SyscallError
from .folio import HugetlbFolio
from .memory_failure import memory_failure, unpoison_memory
from .siginfo import SigInfo, sigbus
from .trace import EventKind, InjectSource

if TYPE_CHECKING:
    from .kernel import Kernel
    from .mm import Vma
    from .process import Process


@int_args("pfn", "flags")
@entry
def call_memory_failure(k: Kernel, pfn: int, flags: int = 0) -> int:
    """Call memory_failure(pfn, flags) directly, as an error handler in the kernel would.
    Returns 0 or a negative errno (never raises for a recovery outcome)."""
    return do_memory_failure(k, pfn, flags, None)


def do_memory_failure(k: Kernel, pfn: int, flags: int, current: Process | None) -> int:
    if not k.sysctls["vm.memory_failure_recovery"]:
        k.printk(f"Kernel panic - not syncing: Memory failure on page {pfn:x}")
        k.panicked = True
        raise KernelPanic(f"Memory failure on page {pfn:x} with vm.memory_failure_recovery = 0")
    return memory_failure(k, pfn, flags, current)


def machine_check(k: Kernel, proc: Process, folio: HugetlbFolio, subpage: int, vma: Vma) -> SigInfo:
    """A load (or store) consumed a hardware error: the x86 MCE handler logs it and calls
    memory_failure(pfn, MF_ACTION_REQUIRED) from kill_me_maybe() (E5, docs/kernel.md R4)."""
    pfn = folio.pfn + subpage
    k.emit(EventKind.MACHINE_CHECK, pid=proc.pid, pfn=pfn, folio=folio.number, subpage=subpage)
    # Every machine check is logged first (mce_log(); docs/kernel.md R3, recorded H_AR).
    k.printk("mce: [Hardware Error]: Machine check events logged")
    k.printk(f"mce: Uncorrected hardware memory error in user-access at {pfn << PAGE_SHIFT:x}")
    ret = do_memory_failure(k, pfn, MF_ACTION_REQUIRED, proc)
    signal = proc.pending.get(SIGBUS)
    if ret in (0, -EHWPOISON, -errno.EOPNOTSUPP) and signal is not None:
        return signal
    k.printk("mce: Memory error not recovered")
    return k.send_signal(proc, sigbus(BusCode.SI_KERNEL, 0, 0, proc.pid), pfn)


def checked_pfn(k: Kernel, call: str, pfn: int) -> HugetlbFolio:
    if isinstance(pfn, bool) or not isinstance(pfn, (int, np.integer)):
        raise TypeError(f"{call}: pfn must be an int")
    folio = k.folio_of_pfn(pfn)
    if folio is None:
        raise SyscallError(errno.ENXIO, call, f"pfn {pfn:#x} is not memory this model simulates")
    return folio


@int_args("pfn")
@entry
def corrupt_pfn(k: Kernel, pfn: int) -> int:
    """echo pfn > /sys/kernel/debug/hwpoison/corrupt-pfn: a software-simulated error (the
    data stays intact): memory_failure(pfn, MF_SW_SIMULATED), no AR signal (E7 variants).

    Returns 0. Raises SyscallError like the write(2): ENXIO (no such pfn), EHWPOISON
    (already poisoned; stock: also a new raw page of a poisoned hugepage, which is still
    counted), EBUSY (Failed). Those failures are the kernel's verdict: the poison and its
    counters are recorded as the kernel does.
    SIMPLIFICATION: the writer of the debugfs file is not a modelled process (it would get
    an AO only if it mapped the page and were early-kill, like any other process)."""
    checked_pfn(k, "corrupt-pfn", pfn)
    k.printk(f"Injecting memory failure at pfn {pfn:#x}")
    folio = k.folio_of_pfn(pfn)
    assert folio is not None
    k.emit(
        EventKind.INJECT,
        pfn=pfn,
        folio=folio.number,
        subpage=pfn - folio.pfn,
        text=str(InjectSource.CORRUPT_PFN),
        source=InjectSource.CORRUPT_PFN,
    )
    ret = do_memory_failure(k, pfn, MF_SW_SIMULATED, None)
    if ret < 0:
        raise SyscallError(-ret, "corrupt-pfn", f"memory_failure({pfn:#x}) returned {ret}")
    return 0


@int_args("pfn")
@entry
def unpoison_pfn(k: Kernel, pfn: int) -> int:
    """echo pfn > /sys/kernel/debug/hwpoison/unpoison-pfn (E13). Returns 0. Raises
    SyscallError: ENXIO, EOPNOTSUPP (after a hardware error), EBUSY (not poisoned: use the
    head pfn of a hugepage; or still referenced)."""
    checked_pfn(k, "unpoison-pfn", pfn)
    ret = unpoison_memory(k, pfn)
    if ret < 0:
        raise SyscallError(-ret, "unpoison-pfn", f"unpoison_memory({pfn:#x}) returned {ret}")
    return 0


@int_args("pfn")
@entry
def hw_ue(k: Kernel, pfn: int, *, detect: str = "latent") -> int:
    """A real uncorrected error in DRAM at the 4 KiB frame ``pfn``: its data is lost.

    ``detect="latent"``: nothing happens until a load consumes it (AR, E5).
    ``detect="scrub"``: the patrol scrubber reports it now: memory_failure(pfn, 0), action
    optional (SRAO, docs/kernel.md R4). Returns memory_failure()'s result (0 for latent).
    Raises SyscallError ENXIO for a pfn the model does not simulate, ValueError for a bad
    ``detect``.
    """
    if detect not in ("latent", "scrub"):
        raise ValueError(f"hw_ue: detect must be 'latent' or 'scrub', not {detect!r}")
    folio = checked_pfn(k, "hw_ue", pfn)
    subpage = pfn - folio.pfn
    folio.bad.add(subpage)
    source = InjectSource.HW_LATENT if detect == "latent" else InjectSource.HW_SCRUB
    k.emit(
        EventKind.INJECT,
        pfn=pfn,
        folio=folio.number,
        subpage=subpage,
        text=str(source),
        source=source,
    )
    if detect == "latent":
        return 0
    k.emit(EventKind.MACHINE_CHECK, pfn=pfn, folio=folio.number, subpage=subpage)
    k.printk("mce: [Hardware Error]: Machine check events logged")
    return do_memory_failure(k, pfn, 0, None)


@int_args("pfn", "length")
def peek(k: Kernel, pfn: int, length: int = 64) -> bytes | None:
    """The first ``length`` bytes of the 4 KiB frame ``pfn``, as a debugger reading physical
    memory would see them; None where the data is lost (a hardware error) or the frame
    holds no hugepage data. Not a syscall: no fault, no signal, nothing traced."""
    folio = k.folio_of_pfn(pfn)
    if folio is None or folio.contents is None or not 0 < length <= 4096:
        return None
    subpage = pfn - folio.pfn
    if subpage in folio.bad:
        return None
    return folio.contents.read(subpage << PAGE_SHIFT, length)
