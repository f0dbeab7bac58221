"""Signal delivery: a signal is generated during a call and delivered, or kills, when the
outermost call returns to user space; exited processes are reaped in the end.

Mirrors: kernel/signal.c (force_sig_mceerr, force_sig_fault, legacy_queue), task_early_kill()
in mm/memory-failure.c, the exit of a task a signal killed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constants import SIGBUS
from .siginfo import SigInfo
from .trace import EventKind, Signal

if TYPE_CHECKING:
    from .kernel import Kernel
    from .mm import VmFault
    from .process import Process


def forget_exited(k: Kernel) -> None:
    """A process exited. Like zombies that init reaps, exited processes leave
    ``processes`` in the end: the newest ``exited_kept`` stay for a notebook to look at,
    so a long session (a guest killed and rebooted every tick) stays bounded. Trimmed
    when twice as many have piled up, so an exit costs O(1) on average."""
    k.nr_exited += 1
    if k.nr_exited <= 2 * k.exited_kept:
        return
    drop = k.nr_exited - k.exited_kept
    kept = []
    for proc in k.processes:
        if drop and not proc.alive:
            drop -= 1
        else:
            kept.append(proc)
    k.processes = kept
    k.nr_exited = k.exited_kept


def early_kill(k: Kernel, proc: Process) -> bool:
    """task_early_kill(): prctl(PR_MCE_KILL) wins over vm.memory_failure_early_kill."""
    if proc.mce_kill == "default":
        return bool(k.sysctls["vm.memory_failure_early_kill"])
    return proc.mce_kill == "early"


def send_signal(
    k: Kernel,
    proc: Process,
    info: SigInfo,
    pfn: int | None = None,
    fault: VmFault | None = None,
) -> SigInfo:
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
    k.signalled.append(proc)
    proc.signals.append(info)
    folio = None if pfn is None else k.folio_of_pfn(pfn)
    k.emit(
        EventKind.SIGNAL,
        pid=proc.pid,
        pfn=pfn,
        folio=None if folio is None else folio.number,
        subpage=None if folio is None or pfn is None else pfn - folio.pfn,
        addr=info.si_addr,
        si_code=info.si_code,
        addr_lsb=info.si_addr_lsb,
        text=repr(info),
        signal=Signal.SIGBUS if info.si_signo == SIGBUS else Signal.SIGSEGV,
        fault=fault,
    )
    if not (proc.handle_sigbus and info.si_signo == SIGBUS):
        k.doomed.append(proc)
    return info


def deliver_signals(k: Kernel) -> None:
    """Every pending signal is delivered (the tasks ran their handlers): none is pending."""
    for proc in k.signalled:
        proc.pending.clear()
    k.signalled.clear()


def return_to_user(k: Kernel) -> None:
    """The outermost call returns: signals are delivered, and those that kill act."""
    k.deliver_signals()
    k.reap()


def reap(k: Kernel) -> None:
    """Let the signals that kill act."""
    while k.doomed:
        proc = k.doomed.pop(0)
        if proc.alive:
            k.depth += 1
            try:
                proc.do_exit(killed=True)
            finally:
                k.depth -= 1
