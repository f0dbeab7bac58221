"""Process: a user of the model, with an fd table and an address space; its methods are the
syscalls of the story.

The file syscalls (memfd_create, ftruncate, read, close, ...) are mixed in from files.py.

Mirrors: mm/mmap.c mmap/munmap, mm/madvise.c madvise_inject_error, kernel/sys.c
prctl(PR_MCE_KILL), kernel/fork.c, kernel/exit.c. Rule IDs (E1...) refer to docs/kernel.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import errno
from .align import ALIGN
from .batch import LoadBatch, load_many
from .constants import (
    F_SEAL_WRITE,
    MAP_NORESERVE,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAX_LFS_FILESIZE,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_WRITE,
    TASK_COMM_LEN,
    TASK_SIZE,
)
from .entry import entry, int_args
from .errors import SyscallError, esrch
from .files import FileSyscalls
from .madvise import madvise_inject_error
from .memfd import OpenFile
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
MCE_KILL_POLICIES = ("early", "late", "default")


class Process(FileSyscalls):
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

    def _log(self, text: str) -> None:
        self._k.emit(EventKind.SYSCALL, pid=self.pid, text=text)

    # -- mappings --
    # Mirrors do_mmap() (with hugetlbfs_file_mmap() and hugetlb_reserve_pages()): one long
    # run of argument checks, the reservation, then the VMA; kept whole to read alongside it.
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

    # -- lifetime --
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
