"""Errors a model syscall raises: an OSError carrying the kernel's errno.

Mirrors: the "Return values" of each syscall; include/uapi/asm-generic/errno.h for EHWPOISON.
"""

from __future__ import annotations

import errno as _errno

# Python's errno module has no EHWPOISON. 133 is its value on x86 and arm64 (other
# architectures differ, e.g. 168 on MIPS); os.strerror(133) is "Memory page has hardware error".
EHWPOISON = 133

_NAMES = {EHWPOISON: "EHWPOISON"}


def errno_name(err: int) -> str:
    """The symbolic name of an errno value: 22 -> "EINVAL"."""
    return _NAMES.get(err) or _errno.errorcode.get(err, str(err))


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
    return ProcessGone(_errno.ESRCH, call, f"process {pid} has exited")
