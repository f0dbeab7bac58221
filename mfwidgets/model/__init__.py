"""mfwidgets.model: a simulation of how Linux recovers from uncorrected memory errors in
HugeTLB memory created with memfd_create(), stock and with the proposed
MFD_MF_KEEP_UE_MAPPED. Standard library and numpy only: no UI imports.

The public names are the contract in the project's API page; ``Kernel`` is where to start.
"""

from __future__ import annotations

from .batch import LoadBatch
from .constants import (
    BUS_ADRERR,
    BUS_MCEERR_AO,
    BUS_MCEERR_AR,
    F_SEAL_GROW,
    F_SEAL_SEAL,
    F_SEAL_SHRINK,
    F_SEAL_WRITE,
    FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_PUNCH_HOLE,
    HUGETLBFS_MAGIC,
    MADV_HWPOISON,
    MADV_SOFT_OFFLINE,
    MAP_NORESERVE,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    MFD,
    MFD_ALLOW_SEALING,
    MFD_CLOEXEC,
    MFD_EXEC,
    MFD_HUGE_1GB,
    MFD_HUGE_2MB,
    MFD_HUGE_SHIFT,
    MFD_HUGETLB,
    MFD_MF_KEEP_UE_MAPPED,
    MFD_NOEXEC_SEAL,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    SEEK_CUR,
    SEEK_END,
    SEEK_SET,
    SEGV_ACCERR,
    SEGV_MAPERR,
    SIGBUS,
    SIGSEGV,
    SZ_1G,
    SZ_2M,
    BusCode,
    SegvCode,
)
from .errors import EHWPOISON, KernelPanic, SyscallError
from .files import StatFs
from .folio import FolioState
from .hstate import HstateCounters as Hstate
from .invariants import InvariantError, check_invariants
from .kernel import Kernel
from .memory_failure import MFStats
from .process import Process
from .siginfo import Access, SigInfo
from .snapshot import FolioView, Snapshot, SubpageState
from .trace import EventKind, InjectSource, MFMsg, MFResult, Signal, Trace, TraceEvent

__all__ = [
    "BUS_ADRERR",
    "BUS_MCEERR_AO",
    "BUS_MCEERR_AR",
    "EHWPOISON",
    "F_SEAL_GROW",
    "F_SEAL_SEAL",
    "F_SEAL_SHRINK",
    "F_SEAL_WRITE",
    "FALLOC_FL_KEEP_SIZE",
    "FALLOC_FL_PUNCH_HOLE",
    "HUGETLBFS_MAGIC",
    "MADV_HWPOISON",
    "MADV_SOFT_OFFLINE",
    "MAP_NORESERVE",
    "MAP_POPULATE",
    "MAP_PRIVATE",
    "MAP_SHARED",
    "MFD",
    "MFD_ALLOW_SEALING",
    "MFD_CLOEXEC",
    "MFD_EXEC",
    "MFD_HUGE_1GB",
    "MFD_HUGE_2MB",
    "MFD_HUGE_SHIFT",
    "MFD_HUGETLB",
    "MFD_MF_KEEP_UE_MAPPED",
    "MFD_NOEXEC_SEAL",
    "PAGE_SHIFT",
    "PAGE_SIZE",
    "PROT_NONE",
    "PROT_READ",
    "PROT_WRITE",
    "SEEK_CUR",
    "SEEK_END",
    "SEEK_SET",
    "SEGV_ACCERR",
    "SEGV_MAPERR",
    "SIGBUS",
    "SIGSEGV",
    "SZ_1G",
    "SZ_2M",
    "Access",
    "BusCode",
    "EventKind",
    "FolioState",
    "FolioView",
    "Hstate",
    "InjectSource",
    "InvariantError",
    "Kernel",
    "LoadBatch",
    "KernelPanic",
    "MFMsg",
    "MFResult",
    "MFStats",
    "Process",
    "SegvCode",
    "Signal",
    "SigInfo",
    "Snapshot",
    "StatFs",
    "SubpageState",
    "SyscallError",
    "Trace",
    "TraceEvent",
    "check_invariants",
]
