"""uapi constants and the sizes the model uses, with the real x86-64 values.

Mirrors: include/uapi/linux/memfd.h, include/uapi/asm-generic/mman-common.h,
include/uapi/asm-generic/siginfo.h, include/uapi/linux/falloc.h, include/uapi/linux/fcntl.h,
include/uapi/linux/magic.h.

The values are the kernel's, so that what a learner sees here matches `strace`.
"""

from __future__ import annotations

import enum

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PMD_SHIFT = 21  # a 2 MiB hugepage
PUD_SHIFT = 30  # a 1 GiB (gigantic) hugepage
SZ_2M = 1 << PMD_SHIFT
SZ_1G = 1 << PUD_SHIFT

HUGETLBFS_MAGIC = 0x958458F6
TMPFS_MAGIC = 0x01021994
MFD_NAME_MAX_LEN = 249  # NAME_MAX - strlen("memfd:")
TASK_COMM_LEN = 16  # comm is truncated to 15 characters plus NUL
MAX_LFS_FILESIZE = (1 << 63) - 1  # hugetlbfs's s_maxbytes: offsets past it are EFBIG
# The user address space of x86-64 with 5-level page tables (TASK_SIZE_MAX under LA57).
# SIMPLIFICATION: the model lays mappings out upwards from MMAP_BASE, so it takes the larger
# address space; a mapping longer than it is ENOMEM, a range past it EINVAL, as the kernel.
TASK_SIZE = (1 << 56) - PAGE_SIZE


class MFD(enum.IntFlag):
    """memfd_create() flags (include/uapi/linux/memfd.h)."""

    MFD_CLOEXEC = 0x0001
    MFD_ALLOW_SEALING = 0x0002
    MFD_HUGETLB = 0x0004
    MFD_NOEXEC_SEAL = 0x0008
    MFD_EXEC = 0x0010
    # PROPOSED: added by the MFD_MF_KEEP_UE_MAPPED series (RFC, v2, v3: always 0x0020U); not
    # in mainline, so a stock kernel rejects it with EINVAL (docs/kernel.md A.2, A.3).
    MFD_MF_KEEP_UE_MAPPED = 0x0020


MFD_CLOEXEC = MFD.MFD_CLOEXEC
MFD_ALLOW_SEALING = MFD.MFD_ALLOW_SEALING
MFD_HUGETLB = MFD.MFD_HUGETLB
MFD_NOEXEC_SEAL = MFD.MFD_NOEXEC_SEAL
MFD_EXEC = MFD.MFD_EXEC
MFD_MF_KEEP_UE_MAPPED = MFD.MFD_MF_KEEP_UE_MAPPED

MFD_HUGE_SHIFT = 26
MFD_HUGE_MASK = 0x3F
MFD_HUGE_2MB = PMD_SHIFT << MFD_HUGE_SHIFT
MFD_HUGE_1GB = PUD_SHIFT << MFD_HUGE_SHIFT

PROT_NONE = 0x0
PROT_READ = 0x1
PROT_WRITE = 0x2

MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_FIXED = 0x10
MAP_NORESERVE = 0x4000
MAP_POPULATE = 0x8000

MADV_HWPOISON = 100
MADV_SOFT_OFFLINE = 101

FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02

F_SEAL_SEAL = 0x0001
F_SEAL_SHRINK = 0x0002
F_SEAL_GROW = 0x0004
F_SEAL_WRITE = 0x0008
F_SEAL_EXEC = 0x0020

SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2

SIGBUS = 7
SIGSEGV = 11


class BusCode(enum.IntEnum):
    """si_code of a SIGBUS (include/uapi/asm-generic/siginfo.h)."""

    BUS_ADRERR = 2  # beyond the end of the file, or no hugepage left to fault in
    BUS_MCEERR_AR = 4  # action required: this task consumed (or injected) the error
    BUS_MCEERR_AO = 5  # action optional: an early-kill task is told in advance
    SI_KERNEL = 0x80  # "Memory error not recovered" (arch/x86/kernel/cpu/mce/core.c)


class SegvCode(enum.IntEnum):
    """si_code of a SIGSEGV."""

    SEGV_MAPERR = 1  # no mapping at that address
    SEGV_ACCERR = 2  # the mapping forbids this access


BUS_ADRERR = BusCode.BUS_ADRERR
BUS_MCEERR_AR = BusCode.BUS_MCEERR_AR
BUS_MCEERR_AO = BusCode.BUS_MCEERR_AO
SEGV_MAPERR = SegvCode.SEGV_MAPERR
SEGV_ACCERR = SegvCode.SEGV_ACCERR

# memory_failure() flags (include/linux/mm.h enum mf_flags)
MF_COUNT_INCREASED = 1 << 0
MF_ACTION_REQUIRED = 1 << 1
MF_MUST_KILL = 1 << 2
MF_SOFT_OFFLINE = 1 << 3
MF_UNPOISON = 1 << 4
MF_SW_SIMULATED = 1 << 5

# Hugepage sizes by the names the API uses, and their shifts.
HUGEPAGE_SHIFTS: dict[str, int] = {"2M": PMD_SHIFT, "1G": PUD_SHIFT}
SIZE_BY_SHIFT: dict[int, str] = {shift: name for name, shift in HUGEPAGE_SHIFTS.items()}
DEFAULT_HUGEPAGE_SIZE = "2M"  # default_hugepagesz on x86-64
