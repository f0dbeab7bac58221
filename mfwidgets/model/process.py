"""Process: a user of the model, with an fd table and an address space; its methods are the
syscalls of the story.

Mirrors: mm/memfd.c memfd_create, fs/open.c ftruncate/fallocate, mm/mmap.c mmap/munmap,
mm/madvise.c madvise_inject_error, fs/read_write.c read/pread/lseek/write, kernel/sys.c
prctl(PR_MCE_KILL), kernel/fork.c, kernel/exit.c. Rule IDs (E1...) refer to docs/kernel.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import errno, hugetlbfs
from .align import ALIGN
from .batch import LoadBatch, load_many
from .constants import (
    F_SEAL_EXEC,
    F_SEAL_GROW,
    F_SEAL_SEAL,
    F_SEAL_SHRINK,
    F_SEAL_WRITE,
    FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_PUNCH_HOLE,
    HUGETLBFS_MAGIC,
    MAP_NORESERVE,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAX_LFS_FILESIZE,
    MFD,
    MFD_HUGE_MASK,
    MFD_HUGE_SHIFT,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_WRITE,
    SEEK_CUR,
    SEEK_END,
    SEEK_SET,
    TASK_COMM_LEN,
    TASK_SIZE,
    TMPFS_MAGIC,
)
from .entry import entry, int_args
from .errors import SyscallError, esrch
from .madvise import madvise_inject_error
from .memfd import Memfd, OpenFile, check_memfd_create
from .mm import (
    Vma,
    VmFault,
    dup_mmap,
    find_vma,
    hugetlb_fault,
    unmap_vma_range,
    user_access,
)
from .siginfo import Access, SigInfo
from .trace import EventKind

if TYPE_CHECKING:
    from .kernel import Kernel

MMAP_BASE = 0x7F0000000000
FIRST_FD = 3  # 0, 1 and 2 are the standard streams
MCE_KILL_POLICIES = ("early", "late", "default")


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


class Process:
    """A process. ``signals`` lists every SigInfo delivered to it, in order; ``pending`` holds
    the signals generated during the current call, by number (delivered, and emptied, on the
    way back to user space); ``alive`` turns False at exit() or when a SIGBUS without a
    handler kills it."""

    def __init__(
        self, k: Kernel, pid: int, name: str, handle_sigbus: bool, cap_sys_admin: bool
    ) -> None:
        self._k = k
        self.pid = pid
        self.name = name
        self.alive = True
        self.handle_sigbus = handle_sigbus
        self.cap_sys_admin = cap_sys_admin
        self.mce_kill = "default"  # prctl(PR_MCE_KILL) policy, inherited by fork()
        self.signals: list[SigInfo] = []
        self.pending: dict[int, SigInfo] = {}
        self.fds: dict[int, OpenFile] = {}
        self.vmas: list[Vma] = []
        self._next_addr = MMAP_BASE

    @property
    def kernel(self) -> Kernel:
        return self._k

    @property
    def comm(self) -> str:
        """The name the kernel log shows (truncated to 15 characters)."""
        return self.name[: TASK_COMM_LEN - 1]

    def __repr__(self) -> str:
        return f"<Process {self.comm}:{self.pid} {'alive' if self.alive else 'exited'}>"

    # -- helpers --
    def _live(self, call: str) -> None:
        if not self.alive:
            raise esrch(call, self.pid)

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

    def _log(self, text: str) -> None:
        self._k.emit(EventKind.SYSCALL, pid=self.pid, text=text)

    # -- files --
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

    # -- mappings --
    @int_args("length", "prot", "flags", "fd", "offset")
    @entry
    def mmap(self, length: int, prot: int, flags: int, fd: int, offset: int = 0) -> int:
        """E3. Returns a hugepage-aligned address. MAP_SHARED reserves the pages not yet in the
        page cache (HugePages_Rsvd); MAP_PRIVATE reserves the whole range; MAP_NORESERVE
        neither; MAP_POPULATE faults every page in. A writable mapping past EOF extends i_size
        (hugetlbfs_file_mmap). Raises SyscallError: EBADF; EINVAL (length 0, neither or both of
        MAP_SHARED/MAP_PRIVATE, offset not hugepage-aligned, or the range past the file size
        limit); EPERM (shared writable mapping of an F_SEAL_WRITE memfd); ENOMEM (longer than
        the address space, or not enough hugepages to reserve). Nothing it checks costs more
        than the pages already in the page cache: a huge length is answered at once."""
        memfd = self._hugetlb("mmap", fd)
        if length <= 0:
            raise SyscallError(errno.EINVAL, "mmap", f"length {length!r} must be positive")
        if length > TASK_SIZE:
            raise SyscallError(
                errno.ENOMEM, "mmap", f"length {length:#x} exceeds the address space"
            )
        if bool(flags & MAP_SHARED) == bool(flags & MAP_PRIVATE):
            raise SyscallError(
                errno.EINVAL, "mmap", "exactly one of MAP_SHARED and MAP_PRIVATE is needed"
            )
        if offset < 0 or offset % memfd.size:
            raise SyscallError(
                errno.EINVAL, "mmap", f"offset {offset:#x} is not a multiple of the hugepage size"
            )
        if offset + length > MAX_LFS_FILESIZE:
            raise SyscallError(errno.EINVAL, "mmap", "the range ends past the file size limit")
        shared = bool(flags & MAP_SHARED)
        if shared and prot & PROT_WRITE and memfd.seals & F_SEAL_WRITE:
            raise SyscallError(errno.EPERM, "mmap", "the memfd is sealed with F_SEAL_WRITE")
        assert memfd.hstate is not None
        length = ALIGN(length, memfd.size)
        first = offset >> memfd.shift
        indices = range(first, first + (length >> memfd.shift))
        nr_need = 0
        if not flags & MAP_NORESERVE:
            nr_need = len(indices)
            if shared:  # count what is there already, never the (maybe huge) range
                there = [i for i in (*memfd.pagecache, *memfd.reserved) if i in indices]
                nr_need -= len(set(there))
        if nr_need > memfd.hstate.available:
            raise SyscallError(
                errno.ENOMEM,
                "mmap",
                f"{nr_need} hugepages to reserve, {max(0, memfd.hstate.available)} free",
            )
        addr = ALIGN(self._next_addr, memfd.size)
        if addr + length > TASK_SIZE:
            raise SyscallError(errno.ENOMEM, "mmap", "no room left in the address space")
        need: set[int] = set()
        if nr_need and not shared:  # at most the free hugepages, now
            need = set(indices)
        elif nr_need:
            need = {i for i in indices if i not in memfd.pagecache and i not in memfd.reserved}
        self._next_addr = addr + length + memfd.size  # a guard gap: a stray access faults
        vma = Vma(addr, length, prot, shared, memfd, first)
        memfd.hstate.resv_hugepages += len(need)
        if shared:
            memfd.reserved |= need
        else:
            vma.resv = need
        self.vmas.append(vma)
        self._k.get_memfd(memfd)
        if prot & PROT_WRITE and memfd.i_size < offset + length:
            memfd.i_size = offset + length
        self._log(f"mmap(NULL, {length:#x}, {prot:#x}, {flags:#x}, {fd}, {offset:#x}) = {addr:#x}")
        if flags & MAP_POPULATE:
            for index in indices:
                # __mm_populate() gives up on a VMA at its first failing fault
                if hugetlb_fault(self._k, self, vma, vma.addr_of(index), False) is not VmFault.OK:
                    break
        return addr

    @int_args("addr", "length")
    @entry
    def munmap(self, addr: int, length: int) -> None:
        """E10: no effect on poison. Raises SyscallError EINVAL (length 0, a range outside the
        address space, or a hugetlb range not aligned to the hugepage size)."""
        self._live("munmap")
        if length <= 0 or addr % PAGE_SIZE:
            raise SyscallError(errno.EINVAL, "munmap", "addr not page aligned, or length 0")
        if not 0 <= addr <= TASK_SIZE or length > TASK_SIZE - addr:
            raise SyscallError(errno.EINVAL, "munmap", "the range is outside the address space")
        end = addr + length
        hit = [v for v in self.vmas if v.start < end and addr < v.end]
        for vma in hit:
            size = 1 << vma.shift
            if (max(addr, vma.start) % size) or (
                min(end, vma.end) % size and min(end, vma.end) != vma.end
            ):
                raise SyscallError(
                    errno.EINVAL, "munmap", "a hugetlb range must be hugepage-aligned"
                )
        for vma in hit:
            lo = max(addr, vma.start)
            hi = min(ALIGN(end, 1 << vma.shift), vma.end)
            unmap_vma_range(self._k, self, vma, lo, hi)
        self._log(f"munmap({addr:#x}, {length:#x}) = 0")

    # -- user-space accesses --
    def _check_range(self, call: str, addr: int, length: int) -> None:
        self._live(call)
        for name, value in (("addr", addr), ("length", length)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{call}: {name} must be an int")
            if value < 0:
                raise ValueError(f"{call}: {name} must not be negative")

    @int_args("addr", "length")
    @entry
    def load(self, addr: int, length: int = 1) -> Access:
        """Loads of ``length`` bytes (E4, E5). A fault stops the access: ``signal`` tells why."""
        self._check_range("load", addr, length)
        data, signal, _ = user_access(self._k, self, addr, length)
        return Access(signal is None, data if signal is None else None, signal)

    @int_args("length")
    @entry
    def load_many(self, addrs: Sequence[int] | np.ndarray, length: int = 8) -> LoadBatch:
        """Loads of ``length`` bytes at each address, in order, as a workload issues them:
        the same outcomes as calling load() for each, with plain hits counted in bulk. Stops
        early if a signal kills the process. Returns a LoadBatch."""
        self._check_range("load_many", 0, length)
        batch = np.asarray(addrs)
        if batch.size and batch.dtype.kind not in "iu":
            raise TypeError(f"load_many: addrs must be integers, not {batch.dtype}")
        batch = batch.astype(np.int64)
        if batch.ndim != 1 or (len(batch) and batch.min() < 0):
            raise ValueError("load_many: addrs must be a flat sequence of non-negative addresses")
        return load_many(self._k, self, batch, length)

    @int_args("addr")
    @entry
    def store(self, addr: int, data: bytes) -> Access:
        """Stores of ``data`` (E4, E5; a store to a hardware-poisoned subpage is a machine
        check too, docs/kernel.md E5, marked [open] there)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("store: data must be bytes")
        self._check_range("store", addr, len(data))
        _, signal, _ = user_access(self._k, self, addr, len(data), write=bytes(data))
        return Access(signal is None, None, signal)

    @int_args("addr", "length", "byte")
    @entry
    def fill(self, addr: int, length: int, byte: int) -> Access:
        """memset(addr, byte, length), held sparsely whatever ``length`` is."""
        self._check_range("fill", addr, length)
        if isinstance(byte, bool) or not isinstance(byte, int) or not 0 <= byte <= 255:
            raise ValueError("fill: byte must be an int in 0..255")
        _, signal, _ = user_access(self._k, self, addr, length, write=byte)
        return Access(signal is None, None, signal)

    @int_args("addr", "length", "byte")
    @entry
    def verify(self, addr: int, length: int, byte: int) -> Access:
        """Load every byte of the range and compare it with ``byte`` (the selftest's check
        loop), without building the bytes. Stops at the first fault or mismatch; ``ok`` means
        every byte was loaded and equal."""
        self._check_range("verify", addr, length)
        if isinstance(byte, bool) or not isinstance(byte, int) or not 0 <= byte <= 255:
            raise ValueError("verify: byte must be an int in 0..255")
        _, signal, miss = user_access(self._k, self, addr, length, expect=byte)
        return Access(signal is None and miss is None, None, signal, miss)

    @int_args("addr")
    def virt_to_pfn(self, addr: int) -> int | None:
        """/proc/self/pagemap: the pfn mapped at ``addr``, or None if nothing is present."""
        self._live("virt_to_pfn")
        vma = find_vma(self, addr)
        if vma is None:
            return None
        pte = vma.ptes.get(vma.index_of(addr))
        if pte is None or pte.hwpoison:
            return None
        return pte.folio.pfn + ((addr - vma.addr_of(vma.index_of(addr))) >> PAGE_SHIFT)

    # -- error injection --
    @int_args("addr", "length", "advice")
    @entry
    def madvise(self, addr: int, length: int, advice: int) -> int:
        """madvise(MADV_HWPOISON) and madvise(MADV_SOFT_OFFLINE) (madvise_inject_error()).

        One raw page per hugepage: the loop takes the page at ``addr``, then steps by the
        hugepage size (docs/kernel.md §C). MADV_HWPOISON calls memory_failure(pfn,
        MF_ACTION_REQUIRED | MF_COUNT_INCREASED | MF_SW_SIMULATED): the caller gets SIGBUS AR
        (E7). Returns 0. Raises SyscallError: EINVAL (other advice, or addr not page aligned);
        EPERM (no CAP_SYS_ADMIN); EFAULT (unmapped, or a stock hard-offlined hugepage: E9a);
        EHWPOISON (PROPOSED keep: the same raw page again, after the SIGBUS); EBUSY (Failed);
        EOPNOTSUPP (soft offline disabled)."""
        self._live("madvise")
        name = madvise_inject_error(self._k, self, addr, length, advice)
        self._log(f"madvise({addr:#x}, {length:#x}, {name}) = 0")
        return 0

    @entry
    def prctl_mce_kill(self, policy: str) -> None:
        """prctl(PR_MCE_KILL, PR_MCE_KILL_SET, EARLY/LATE) or PR_MCE_KILL_CLEAR ("default").
        Raises SyscallError EINVAL for another policy."""
        self._live("prctl")
        if policy not in MCE_KILL_POLICIES:
            raise SyscallError(
                errno.EINVAL,
                "prctl",
                f"PR_MCE_KILL policy {policy!r} is not early, late or default",
            )
        self.mce_kill = policy
        self._log(f"prctl(PR_MCE_KILL, {policy}) = 0")

    # -- fds and lifetime --
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

    @entry
    def fork(self) -> Process:
        """fork(2) (E12): the child shares the open files and the shared mappings (it faults
        them in afresh); private mappings are copied entry by entry, to be copied on write;
        the child gets no reservation. The PR_MCE_KILL policy is inherited."""
        self._live("fork")
        k = self._k
        child = Process(k, k.new_pid(), self.name, self.handle_sigbus, self.cap_sys_admin)
        child.mce_kill = self.mce_kill
        child._next_addr = self._next_addr
        k.processes.append(child)
        for fd, file in self.fds.items():
            child.fds[fd] = file
            file.refs += 1
            k.get_memfd(file.memfd)
        dup_mmap(k, self, child)
        self._log(f"fork() = {child.pid}")
        return child

    @entry
    def exit(self) -> None:
        """exit(2): every mapping is unmapped and every fd closed (E11)."""
        self._live("exit")
        self.do_exit(killed=False)

    def do_exit(self, killed: bool) -> None:
        k = self._k
        for vma in list(self.vmas):
            unmap_vma_range(k, self, vma, vma.start, vma.end)
        for fd in sorted(self.fds):
            file = self.fds.pop(fd)
            file.refs -= 1
            k.put_memfd(file.memfd)
        self.alive = False
        why = (
            "killed by SIGBUS"
            if killed and self.signals and self.signals[-1].si_signo == 7
            else ("killed" if killed else "exited")
        )
        k.emit(EventKind.EXIT, pid=self.pid, text=f"{self.comm}:{self.pid} {why}")
        k.forget_exited()
