"""What a process sees of the kernel's answer to a memory access: a SigInfo or the data.

Mirrors: struct siginfo fields for SIGBUS (include/uapi/asm-generic/siginfo.h) and
force_sig_mceerr()/send_sig_mceerr() in kernel/signal.c. A SIGBUS is never a Python exception.
"""

from __future__ import annotations

import dataclasses

from .constants import SIGBUS, SIGSEGV, BusCode, SegvCode


@dataclasses.dataclass(frozen=True, slots=True)
class SigInfo:
    """One delivered signal.

    ``si_addr_lsb`` is the log2 of the size of the memory lost around ``si_addr`` (12 for a
    4 KiB page, 21 for 2 MiB, 30 for 1 GiB); it is 0 where the signal carries none.
    """

    si_signo: int
    si_code: int
    si_addr: int
    si_addr_lsb: int
    pid: int

    @property
    def code_name(self) -> str:
        if self.si_signo == SIGBUS:
            return BusCode(self.si_code).name
        return SegvCode(self.si_code).name

    def __repr__(self) -> str:
        signame = "SIGBUS" if self.si_signo == SIGBUS else "SIGSEGV"
        text = f"{signame} {self.code_name} addr={self.si_addr:#x}"
        if self.si_signo == SIGBUS and self.si_code in (
            BusCode.BUS_MCEERR_AR,
            BusCode.BUS_MCEERR_AO,
        ):
            text += f" lsb={self.si_addr_lsb}"
        return text


def sigbus(code: BusCode, addr: int, lsb: int, pid: int) -> SigInfo:
    return SigInfo(SIGBUS, int(code), addr, lsb, pid)


def sigsegv(code: SegvCode, addr: int, pid: int) -> SigInfo:
    return SigInfo(SIGSEGV, int(code), addr, 0, pid)


@dataclasses.dataclass(frozen=True, slots=True)
class Access:
    """The result of a user-space load, store, fill or verify.

    An access stops at the first fault, as a CPU would: then ``ok`` is False, ``signal`` says
    what was delivered and ``data`` is None. For ``verify``, ``first_mismatch`` is the address of
    the first byte that differed (and ``ok`` is False), or None.
    """

    ok: bool
    data: bytes | None = None
    signal: SigInfo | None = None
    first_mismatch: int | None = None
