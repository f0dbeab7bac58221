"""A memfd: an anonymous hugetlbfs file (inode, page cache, reservations) and its open files.

Mirrors: mm/memfd.c (sanitize_flags, alloc_file, memfd_create); fs/hugetlbfs/inode.c
(hugetlbfs_read_iter, adjust_range_hwpoison, hugetlbfs_setattr, hugetlbfs_fallocate).
The removal of folios (remove_inode_hugepages) needs the pool, so it lives in kernel.py.
"""

from __future__ import annotations

from . import errno
from .constants import (
    MFD,
    MFD_HUGE_MASK,
    MFD_HUGE_SHIFT,
    MFD_NAME_MAX_LEN,
    PAGE_SHIFT,
    SIZE_BY_SHIFT,
)
from .errors import SyscallError
from .folio import HugetlbFolio
from .pool import HstatePool

_MFD_ALL_FLAGS = MFD.MFD_CLOEXEC | MFD.MFD_ALLOW_SEALING | MFD.MFD_HUGETLB
_MFD_EXEC_FLAGS = MFD.MFD_NOEXEC_SEAL | MFD.MFD_EXEC  # v6.3


def check_memfd_create(
    name: object, flags: int, supports_keep: bool, exec_flags: bool = True
) -> int | None:
    """sanitize_flags() and the name checks of memfd_create().

    Returns: the hugepage shift the flags ask for (0 = the default size), or None for a
    plain (shmem) memfd.
    Raises SyscallError:
      EFAULT  name is None (a NULL pointer);
      EINVAL  an unknown flag (MFD_EXEC and MFD_NOEXEC_SEAL are, without ``exec_flags``: 6.1);
              MFD_EXEC with MFD_NOEXEC_SEAL; a size without MFD_HUGETLB;
              MFD_MF_KEEP_UE_MAPPED without MFD_HUGETLB (PROPOSED) or on a kernel without the
              series (where 0x20 is an unknown flag); a name longer than 249 bytes;
      ENODEV  a hugepage size this kernel has no hstate for (hugetlb_file_setup).
    """
    call = "memfd_create"
    if name is None:
        raise SyscallError(errno.EFAULT, call, "name is a NULL pointer")
    if not isinstance(name, str):
        raise TypeError(f"memfd_create: name must be a str, not {type(name).__name__}")
    if not isinstance(flags, int) or flags < 0 or flags >= 1 << 32:
        raise SyscallError(errno.EINVAL, call, f"flags {flags!r} is not an unsigned int")
    # Plain ints: an IntFlag's ~ covers only its own members and would hide unknown bits.
    allowed = int(_MFD_ALL_FLAGS)
    if exec_flags:
        allowed |= int(_MFD_EXEC_FLAGS)
    if supports_keep:
        allowed |= int(MFD.MFD_MF_KEEP_UE_MAPPED)
    hugetlb = bool(flags & MFD.MFD_HUGETLB)
    if hugetlb:
        allowed |= MFD_HUGE_MASK << MFD_HUGE_SHIFT
    unknown = flags & ~allowed
    if unknown:
        if unknown & MFD.MFD_MF_KEEP_UE_MAPPED and not supports_keep:
            rule = "MFD_MF_KEEP_UE_MAPPED (0x20) is unknown to a kernel without the proposed series"
        elif unknown & (MFD_HUGE_MASK << MFD_HUGE_SHIFT):
            rule = "a hugepage size needs MFD_HUGETLB"
        else:
            rule = f"unknown flags {unknown:#x}"
        raise SyscallError(errno.EINVAL, call, rule)
    if flags & MFD.MFD_EXEC and flags & MFD.MFD_NOEXEC_SEAL:
        raise SyscallError(errno.EINVAL, call, "MFD_EXEC and MFD_NOEXEC_SEAL exclude each other")
    # PROPOSED: v3 sanitize_flags() tests MFD_MF_KEEP_UE_MAPPED alone (v2 wrongly tested
    # MFD_HUGETLB | MFD_MF_KEEP_UE_MAPPED); docs/kernel.md A.3.
    if flags & MFD.MFD_MF_KEEP_UE_MAPPED and not hugetlb:
        raise SyscallError(errno.EINVAL, call, "MFD_MF_KEEP_UE_MAPPED requires MFD_HUGETLB")
    if len(name.encode()) > MFD_NAME_MAX_LEN:
        raise SyscallError(errno.EINVAL, call, f"name is longer than {MFD_NAME_MAX_LEN} bytes")
    if not hugetlb:
        return None
    shift = (flags >> MFD_HUGE_SHIFT) & MFD_HUGE_MASK
    if shift and shift not in SIZE_BY_SHIFT:
        raise SyscallError(errno.ENODEV, call, f"no hugepage size 2^{shift} on this machine")
    return shift


class Memfd:
    """The inode of a memfd and everything hanging off it.

    ``refs`` counts what keeps the file alive: open files (fd table entries) and mappings. The
    memfd is *released* (the inode evicted) when it drops to 0, not at close() (E11).
    """

    def __init__(self, ino: int, name: str, flags: int, hstate: HstatePool | None) -> None:
        self.ino = ino
        self.name = name
        self.flags = flags
        self.hstate = hstate  # None for a plain shmem memfd
        # PROPOSED: AS_MF_KEEP_UE_MAPPED on file->f_mapping, set once at creation (A.3).
        self.keep_ue_mapped = bool(flags & MFD.MFD_MF_KEEP_UE_MAPPED)
        self.i_size = 0
        self.pagecache: dict[int, HugetlbFolio] = {}
        self.reserved: set[int] = set()  # indices reserved for shared mappings, not yet faulted
        self.seals = 0
        self.refs = 0
        self.released = False

    @property
    def hugetlb(self) -> bool:
        return self.hstate is not None

    @property
    def shift(self) -> int:
        return self.hstate.shift if self.hstate is not None else PAGE_SHIFT

    @property
    def size(self) -> int:
        """The hugepage size (f_bsize of fstatfs)."""
        return 1 << self.shift

    def __repr__(self) -> str:
        return f"<Memfd memfd:{self.name} ino={self.ino} size={self.i_size:#x}>"


class OpenFile:
    """struct file: shared by dup() and fork(); holds the file position."""

    def __init__(self, memfd: Memfd) -> None:
        self.memfd = memfd
        self.pos = 0
        self.refs = 0
