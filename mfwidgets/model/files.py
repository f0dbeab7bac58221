"""The file syscalls of a Process: memfd_create, the fd table (dup, close), the size and
seals of a memfd (ftruncate, fallocate, fcntl), and read/pread/lseek/write through it.

Mirrors: mm/memfd.c memfd_create, fs/open.c ftruncate/fallocate, fs/fcntl.c F_ADD_SEALS,
fs/read_write.c read/pread/lseek/write, fs/file.c dup/close. Rule IDs (E1...) refer to
docs/kernel.md.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from . import errno, hugetlbfs
from .constants import (
    F_SEAL_EXEC,
    F_SEAL_GROW,
    F_SEAL_SEAL,
    F_SEAL_SHRINK,
    F_SEAL_WRITE,
    FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_PUNCH_HOLE,
    HUGETLBFS_MAGIC,
    MAX_LFS_FILESIZE,
    MFD,
    MFD_HUGE_MASK,
    MFD_HUGE_SHIFT,
    PAGE_SIZE,
    PROT_WRITE,
    SEEK_CUR,
    SEEK_END,
    SEEK_SET,
    TMPFS_MAGIC,
)
from .entry import entry, int_args
from .errors import SyscallError
from .memfd import Memfd, OpenFile, check_memfd_create

if TYPE_CHECKING:
    from .kernel import Kernel

FIRST_FD = 3  # 0, 1 and 2 are the standard streams


@dataclasses.dataclass(frozen=True, slots=True)
class StatFs:
    f_type: int
    f_bsize: int


def _flag_names(flags: int) -> str:
    """memfd_create flags as strace shows them: MFD_HUGETLB|MFD_HUGE_1GB."""
    names = [m.name or "" for m in MFD if flags & m]
    size = (flags >> MFD_HUGE_SHIFT) & MFD_HUGE_MASK
    if size:
        names.append({21: "MFD_HUGE_2MB", 30: "MFD_HUGE_1GB"}.get(size, f"{size}<<MFD_HUGE_SHIFT"))
    rest = flags & ~sum(int(m) for m in MFD) & ~(MFD_HUGE_MASK << MFD_HUGE_SHIFT)
    if rest:
        names.append(f"{rest:#x}")
    return "|".join(names) or "0"


class FileSyscalls:
    """The file syscalls, mixed into Process: they work on its fd table (``fds``)."""

    if TYPE_CHECKING:
        _k: Kernel
        pid: int
        fds: dict[int, OpenFile]

        @property
        def kernel(self) -> Kernel: ...

        def _live(self, call: str) -> None: ...

        def _log(self, text: str) -> None: ...

    # -- the fd table --
    def _file(self, call: str, fd: int) -> OpenFile:
        self._live(call)
        if isinstance(fd, bool) or not isinstance(fd, int):
            raise TypeError(f"{call}: fd must be an int")
        file = self.fds.get(fd)
        if file is None:
            raise SyscallError(errno.EBADF, call, f"fd {fd} is not open")
        return file

    def _hugetlb(self, call: str, fd: int) -> Memfd:
        memfd = self._file(call, fd).memfd
        if not memfd.hugetlb:
            # SIMPLIFICATION: a memfd without MFD_HUGETLB (shmem) can be created, truncated and
            # closed; the model simulates no shmem pages.
            raise SyscallError(errno.EOPNOTSUPP, call, "the model simulates only hugetlbfs memfds")
        return memfd

    def _install(self, file: OpenFile) -> int:
        fd = FIRST_FD
        while fd in self.fds:
            fd += 1
        self.fds[fd] = file
        file.refs += 1
        self._k.get_memfd(file.memfd)
        return fd

    # -- memfds --
    @int_args("flags")
    @entry
    def memfd_create(self, name: str, flags: int = 0) -> int:
        """E1. Returns an fd. Raises SyscallError: EFAULT, EINVAL, ENODEV (see
        memfd.check_memfd_create)."""
        self._live("memfd_create")
        k = self._k
        shift = check_memfd_create(
            name, flags, k.supports_keep_ue_mapped, k.behaviour.memfd_exec_flags
        )
        hstate = None
        if shift is not None:
            hstate = next(
                h for h in k.hstates.values() if h.shift == (shift or k.hstates["2M"].shift)
            )
        memfd = Memfd(len(k.memfds) + 1, name, flags, hstate)
        if not flags & (MFD.MFD_ALLOW_SEALING | MFD.MFD_NOEXEC_SEAL):
            memfd.seals = F_SEAL_SEAL
        if flags & MFD.MFD_NOEXEC_SEAL:
            memfd.seals |= F_SEAL_EXEC
        k.memfds.append(memfd)
        fd = self._install(OpenFile(memfd))
        self._log(f'memfd_create("{name}", {_flag_names(flags)}) = {fd}')
        return fd

    @int_args("fd")
    def fstatfs(self, fd: int) -> StatFs:
        """f_type HUGETLBFS_MAGIC and f_bsize the hugepage size (E1). Raises EBADF."""
        memfd = self._file("fstatfs", fd).memfd
        if memfd.hugetlb:
            return StatFs(HUGETLBFS_MAGIC, memfd.size)
        return StatFs(TMPFS_MAGIC, PAGE_SIZE)

    @int_args("fd", "length")
    @entry
    def ftruncate(self, fd: int, length: int) -> None:
        """E2. Shrinking unmaps and removes the pages past ``length`` (poisoned ones: stock
        leaks, PROPOSED keep dissolves). Raises SyscallError: EBADF; EINVAL (negative, or not a
        multiple of the hugepage size); EPERM (F_SEAL_SHRINK / F_SEAL_GROW)."""
        memfd = self._file("ftruncate", fd).memfd
        hugetlbfs.truncate(self._k, memfd, length)
        self._log(f"ftruncate({fd}, {length:#x}) = 0")

    @int_args("fd", "mode", "offset", "length")
    @entry
    def fallocate(self, fd: int, mode: int, offset: int, length: int) -> None:
        """E2. mode 0 or FALLOC_FL_KEEP_SIZE allocates (present pages are skipped);
        FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE removes whole hugepages in the range and zeroes
        partial ones. Raises SyscallError: EBADF; EOPNOTSUPP (other modes, or a punch without
        KEEP_SIZE); EINVAL (offset < 0 or length <= 0); EFBIG (offset + length past the file
        size limit, vfs_fallocate()); EPERM (seals); ENOSPC (not enough free hugepages;
        SIMPLIFICATION: checked up front, so nothing is allocated)."""
        memfd = self._hugetlb("fallocate", fd)
        if mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE) or mode == FALLOC_FL_PUNCH_HOLE:
            raise SyscallError(
                errno.EOPNOTSUPP, "fallocate", f"mode {mode:#x} is not supported by hugetlbfs"
            )
        if offset < 0 or length <= 0:
            raise SyscallError(errno.EINVAL, "fallocate", "offset < 0 or length <= 0")
        if offset + length > MAX_LFS_FILESIZE:
            raise SyscallError(errno.EFBIG, "fallocate", "the range ends past the file size limit")
        if mode & FALLOC_FL_PUNCH_HOLE:
            hugetlbfs.punch_hole(self._k, memfd, offset, length)
        else:
            hugetlbfs.allocate(self._k, memfd, mode, offset, length)
        self._log(f"fallocate({fd}, {mode:#x}, {offset:#x}, {length:#x}) = 0")

    @int_args("fd", "seals")
    @entry
    def fcntl_add_seals(self, fd: int, seals: int) -> None:
        """fcntl(fd, F_ADD_SEALS, seals). Raises SyscallError: EBADF; EPERM (no
        MFD_ALLOW_SEALING, or F_SEAL_SEAL set); EINVAL (unknown seal); EBUSY (F_SEAL_WRITE
        while a shared writable mapping exists)."""
        memfd = self._file("fcntl", fd).memfd
        known = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_EXEC
        if seals & ~known:
            raise SyscallError(errno.EINVAL, "fcntl", f"unknown seals {seals & ~known:#x}")
        if memfd.seals & F_SEAL_SEAL:
            raise SyscallError(
                errno.EPERM,
                "fcntl",
                "sealing is not allowed (no MFD_ALLOW_SEALING, or F_SEAL_SEAL)",
            )
        if seals & F_SEAL_WRITE and any(
            v.memfd is memfd and v.shared and v.prot & PROT_WRITE
            for p in self._k.live_processes()
            for v in p.vmas
        ):
            raise SyscallError(errno.EBUSY, "fcntl", "F_SEAL_WRITE with a shared writable mapping")
        memfd.seals |= seals
        self._log(f"fcntl({fd}, F_ADD_SEALS, {seals:#x}) = 0")

    # -- read, write, seek -----------------------------------------------------------------------
    @int_args("fd", "count")
    @entry
    def read(self, fd: int, count: int) -> bytes:
        """read(2) at the file position, which advances by what was read (not on EIO).
        Raises SyscallError: EBADF, EINVAL, EIO."""
        file = self._file("read", fd)
        memfd = self._hugetlb("read", fd)
        data = hugetlbfs.read_iter(self._k, memfd, "read", count, file.pos)
        file.pos += len(data)
        self._log(f"read({fd}, {count:#x}) = {len(data):#x}")
        return data

    @int_args("fd", "count", "offset")
    @entry
    def pread(self, fd: int, count: int, offset: int) -> bytes:
        """pread(2). Raises SyscallError: EBADF, EINVAL (negative offset or count, or one past
        the file size limit), EIO."""
        memfd = self._hugetlb("pread", fd)
        if not 0 <= offset <= MAX_LFS_FILESIZE:
            raise SyscallError(errno.EINVAL, "pread", f"offset {offset:#x} is out of range")
        data = hugetlbfs.read_iter(self._k, memfd, "pread", count, offset)
        self._log(f"pread({fd}, {count:#x}, {offset:#x}) = {len(data):#x}")
        return data

    @int_args("fd", "offset", "whence")
    @entry
    def lseek(self, fd: int, offset: int, whence: int = SEEK_SET) -> int:
        """lseek(2). Returns the new position. Raises SyscallError: EBADF; EINVAL (bad whence,
        or a result that is negative or past the file size limit: vfs_setpos())."""
        file = self._file("lseek", fd)
        bases = {SEEK_SET: 0, SEEK_CUR: file.pos, SEEK_END: file.memfd.i_size}
        if whence not in bases:
            raise SyscallError(errno.EINVAL, "lseek", f"whence {whence!r} is not SEEK_SET/CUR/END")
        pos = bases[whence] + offset
        if not 0 <= pos <= MAX_LFS_FILESIZE:
            raise SyscallError(errno.EINVAL, "lseek", f"the resulting offset {pos:#x} is invalid")
        file.pos = pos
        return pos

    @int_args("fd")
    def write(self, fd: int, data: bytes) -> int:
        """write(2): hugetlbfs has no write method. Raises SyscallError EBADF or EINVAL (E6)."""
        self._file("write", fd)
        raise SyscallError(
            errno.EINVAL, "write", "hugetlbfs files cannot be written with write(2); use mmap"
        )

    @int_args("fd", "offset")
    def pwrite(self, fd: int, data: bytes, offset: int) -> int:
        """pwrite(2): as write(), EINVAL (E6)."""
        self._file("pwrite", fd)
        raise SyscallError(
            errno.EINVAL, "pwrite", "hugetlbfs files cannot be written with pwrite(2); use mmap"
        )

    # -- fds --
    @int_args("fd")
    @entry
    def dup(self, fd: int) -> int:
        """dup(2): a new fd for the same open file. Raises SyscallError EBADF."""
        new = self._install(self._file("dup", fd))
        self._log(f"dup({fd}) = {new}")
        return new

    @int_args("fd")
    @entry
    def close(self, fd: int) -> None:
        """close(2). The memfd is released only when no fd and no mapping is left (E11).
        Raises SyscallError EBADF."""
        file = self._file("close", fd)
        del self.fds[fd]
        file.refs -= 1
        self._log(f"close({fd}) = 0")
        self._k.put_memfd(file.memfd)
