"""Errors a model syscall raises: an OSError carrying the kernel's errno.

Mirrors: the "Return values" of each syscall. The values are Linux's, from the model's own
table (``errno.py``), whatever platform Python runs on.
"""

from __future__ import annotations

from . import errno
from .errno import EHWPOISON

__all__ = ["EHWPOISON", "ProcessGone", "SyscallError", "errno_name", "esrch"]


def errno_name(err: int) -> str:
    """The symbolic name of a Linux errno value: 22 -> "EINVAL"."""
    return errno.errorcode.get(err, str(err))


class SyscallError(OSError):
    """A failed model syscall. ``.errno`` is the kernel's errno; the message names the call
    and the rule that was broken, e.g. ``EINVAL: memfd_create: MFD_MF_KEEP_UE_MAPPED requires
    MFD_HUGETLB``."""

    def __init__(self, err: int, call: str, rule: str) -> None:
        super().__init__(err, f"{errno_name(err)}: {call}: {rule}")
        self.call = call
        self.rule = rule

    def __str__(self) -> str:
        return str(self.strerror)


class ProcessGone(SyscallError, ProcessLookupError):
    """A call on a process that has exited (ESRCH)."""


def esrch(call: str, pid: int) -> ProcessGone:
    return ProcessGone(errno.ESRCH, call, f"process {pid} has exited")


class KernelPanic(RuntimeError):
    """The simulated kernel panicked (vm.memory_failure_recovery = 0); it accepts no more calls."""
