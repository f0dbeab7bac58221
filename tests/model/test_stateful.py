"""Random operation sequences on random pools (hypothesis RuleBasedStateMachine).

After every model call the conftest runs mf.check_invariants (Kernel.debug_vm); the machine also
calls it in an @invariant, and checks rules the model's own invariants do not:

- HardwareCorrupted never decreases, except by a successful unpoison;
- no SigInfo with si_addr_lsb == 12 is ever delivered by a kernel without the series;
- every SigInfo has si_signo SIGBUS (7) or SIGSEGV (11), the receiver's pid, and an lsb that
  fits its code (12/21/30 for BUS_MCEERR_*; 21/30 only on a stock kernel; 0 otherwise).

Each rule catches only the OSErrors the kernel may legitimately answer with for that call
(listed per rule), and ProcessLookupError for a process that had already exited. memfd_create
is checked against an oracle of its flag rules (docs/kernel.md §C, A.2, A.3).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import mfwidgets as mf
from mfwidgets.model import errno

PS = mf.PAGE_SIZE
KEEP = mf.MFD_MF_KEEP_UE_MAPPED
HUGE = mf.MFD_HUGETLB
FLAGS = [
    # valid (on a kernel with the series, for the KEEP ones)
    HUGE,
    HUGE,
    HUGE | mf.MFD_HUGE_2MB,
    HUGE | mf.MFD_HUGE_1GB,
    HUGE | mf.MFD_CLOEXEC | mf.MFD_ALLOW_SEALING,
    HUGE | mf.MFD_NOEXEC_SEAL,
    HUGE | mf.MFD_EXEC,
    KEEP | HUGE,
    KEEP | HUGE,
    KEEP | HUGE | mf.MFD_HUGE_2MB,
    KEEP | HUGE | mf.MFD_HUGE_1GB,
    0,  # a plain shmem memfd: created, but the model maps no shmem
    # invalid
    KEEP,
    KEEP | mf.MFD_HUGE_2MB,
    0x40 | HUGE,
    mf.MFD_EXEC | mf.MFD_NOEXEC_SEAL | HUGE,
    mf.MFD_HUGE_2MB,
    HUGE | (25 << mf.MFD_HUGE_SHIFT),
]
IDX = st.integers(0, 1 << 16)
MCEERR = (mf.BUS_MCEERR_AR, mf.BUS_MCEERR_AO)
WHERE = st.sampled_from(["head", "any", "in use", "in use", "poisoned"])
RARELY = st.integers(0, 3).map(lambda n: n == 0)  # True one time in four


def memfd_create_errno(flags: int, supports_keep: bool, version: str = "7.3") -> int:
    """The oracle: 0 or the errno memfd_create must fail with."""
    hugetlb = bool(flags & HUGE)
    if flags & KEEP and not supports_keep:
        return errno.EINVAL
    if flags & (mf.MFD_EXEC | mf.MFD_NOEXEC_SEAL) and version == "6.1":
        return errno.EINVAL  # unknown flags before v6.3
    if flags & 0x40:
        return errno.EINVAL
    if flags & (0x3F << mf.MFD_HUGE_SHIFT) and not hugetlb:
        return errno.EINVAL
    if flags & mf.MFD_EXEC and flags & mf.MFD_NOEXEC_SEAL:
        return errno.EINVAL
    if flags & KEEP and not hugetlb:
        return errno.EINVAL
    shift = (flags >> mf.MFD_HUGE_SHIFT) & 0x3F
    if hugetlb and shift not in (0, 21, 30):
        return errno.ENODEV
    return 0


@contextmanager
def may_refuse(proc: mf.Process | None, *allowed: int) -> Iterator[None]:
    """Let through only the errnos in ``allowed``, and ESRCH for a process already dead."""
    was_alive = proc is None or proc.alive
    try:
        yield
    except ProcessLookupError:
        assert not was_alive, "ESRCH from a live process"
    except OSError as e:
        assert was_alive, f"a dead process must get ESRCH, got {e!r}"
        assert e.errno in allowed, f"unexpected {e!r}"


class MemoryFailureMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.k: mf.Kernel | None = None
        self.procs: list[mf.Process] = []
        self.files: list[tuple[mf.Process, int]] = []
        self.maps: list[tuple[mf.Process, int, int]] = []
        self.hc = 0
        self.seen: dict[int, int] = {}

    # -- setup ---------------------------------------------------------------------------------
    @initialize(
        n2m=st.integers(0, 6),
        n1g=st.integers(0, 2),
        keep=st.booleans(),
        seed=st.integers(0, 2**32 - 1),
        handle=st.booleans(),
        big=st.booleans(),
        keep_file=st.booleans(),
        pages=st.integers(0, 3),
        populate=st.booleans(),
        version=st.sampled_from(["7.3", "6.12", "6.1"]),
    )
    def boot(
        self,
        n2m: int,
        n1g: int,
        keep: bool,
        seed: int,
        handle: bool,
        big: bool,
        keep_file: bool,
        pages: int,
        populate: bool,
        version: str,
    ) -> None:
        """A random kernel and a first process; most often also a hugetlb memfd of ``pages``
        hugepages mapped MAP_SHARED (so that short runs reach poisoned in-use pages)."""
        self.k = mf.Kernel(
            {"2M": n2m, "1G": n1g}, supports_keep_ue_mapped=keep, seed=seed, version=version
        )
        p = self.k.spawn("init", handle_sigbus=handle)
        self.procs.append(p)
        big = n1g > 0 and (big or n2m == 0)
        pages = min(pages, n1g if big else n2m)
        if not pages:
            return
        flags = HUGE | (mf.MFD_HUGE_1GB if big else 0) | (KEEP if keep and keep_file else 0)
        with may_refuse(p):
            fd = p.memfd_create("boot", flags)
            self.files.append((p, fd))
            size = p.fstatfs(fd).f_bsize * pages
            p.ftruncate(fd, size)
            rw = mf.PROT_READ | mf.PROT_WRITE
            addr = p.mmap(size, rw, mf.MAP_SHARED | (mf.MAP_POPULATE if populate else 0), fd)
            self.maps.append((p, addr, size))

    # -- helpers -------------------------------------------------------------------------------
    @property
    def kernel(self) -> mf.Kernel:
        assert self.k is not None
        return self.k

    @staticmethod
    def pick(items: list, i: int):  # type: ignore[no-untyped-def]
        return items[i % len(items)]

    def pfn_of(self, i: int, sub: int, where: str) -> int:
        """A pfn of the pools: the head or any raw page of a random hugepage, of one that is
        in use, or a poisoned one (a recorded raw page, or the head of a poisoned hugepage)."""
        views = self.kernel.snapshot().folios
        if where == "poisoned":
            pfns = [v.pfn + s for v in views for s in sorted(v.raw_hwp | v.isolated)]
            pfns += [v.pfn for v in views if v.raw_hwp]
            if pfns:
                return self.pick(pfns, i + sub)
        if where == "in use":
            used = (mf.FolioState.IN_USE, mf.FolioState.KEPT, mf.FolioState.OFFLINED)
            views = tuple(v for v in views if v.state in used) or views
        v = self.pick(list(views), i)
        return v.pfn if where == "head" else v.pfn + sub % v.nr_pages

    def has_pool(self) -> bool:
        return self.k is not None and bool(self.k.folios)

    # -- processes -----------------------------------------------------------------------------
    @rule(handle=st.booleans())
    def spawn(self, handle: bool) -> None:
        self.procs.append(self.kernel.spawn(f"p{len(self.procs)}", handle_sigbus=handle))

    @precondition(lambda self: self.procs)
    @rule(i=IDX)
    def fork(self, i: int) -> None:
        p = self.pick(self.procs, i)
        with may_refuse(p):
            child = p.fork()
            assert child.mce_kill == p.mce_kill and child.alive
            self.procs.append(child)
            self.files += [(child, fd) for q, fd in self.files if q is p]
            self.maps += [(child, a, n) for q, a, n in self.maps if q is p]

    @precondition(lambda self: sum(p.alive for p in self.procs) > 1)
    @rule(i=IDX)
    def exit(self, i: int) -> None:
        p = self.pick(self.procs, i)
        with may_refuse(p):
            p.exit()
            assert not p.alive and not p.fds and not p.vmas

    @precondition(lambda self: self.procs)
    @rule(i=IDX, policy=st.sampled_from(["early", "late", "default", "bogus"]))
    def prctl(self, i: int, policy: str) -> None:
        p = self.pick(self.procs, i)
        with may_refuse(p, errno.EINVAL):
            p.prctl_mce_kill(policy)
            assert policy != "bogus"

    @rule(value=st.integers(0, 1))
    def sysctl_early_kill(self, value: int) -> None:
        assert self.kernel.sysctl("vm.memory_failure_early_kill", value) == value

    @rule(size=st.sampled_from(["2M", "1G"]), count=st.integers(0, 6))
    def set_nr_hugepages(self, size: str, count: int) -> None:
        self.kernel.set_nr_hugepages(size, count)

    # -- files ---------------------------------------------------------------------------------
    @precondition(lambda self: self.procs)
    @rule(i=IDX, flags=st.sampled_from(FLAGS))
    def memfd_create(self, i: int, flags: int) -> None:
        p = self.pick(self.procs, i)
        want = memfd_create_errno(flags, self.kernel.supports_keep_ue_mapped, self.kernel.version)
        with may_refuse(p, want):
            fd = p.memfd_create("m", flags)
            assert want == 0, f"memfd_create({flags:#x}) must fail with {errno.errorcode[want]}"
            self.files.append((p, fd))

    @precondition(lambda self: self.files)
    @rule(i=IDX, n=st.integers(0, 4), misalign=RARELY)
    def ftruncate(self, i: int, n: int, misalign: bool) -> None:
        p, fd = self.pick(self.files, i)
        with may_refuse(p, errno.EINVAL):
            bsize = p.fstatfs(fd).f_bsize
            p.ftruncate(fd, n * bsize + (PS if misalign else 0))
            assert not misalign or bsize == PS

    @precondition(lambda self: self.files)
    @rule(
        i=IDX,
        mode=st.sampled_from(
            [
                0,
                mf.FALLOC_FL_KEEP_SIZE,
                mf.FALLOC_FL_PUNCH_HOLE | mf.FALLOC_FL_KEEP_SIZE,
                mf.FALLOC_FL_PUNCH_HOLE | mf.FALLOC_FL_KEEP_SIZE,
                mf.FALLOC_FL_PUNCH_HOLE,
                0x10,
            ]
        ),
        off=st.integers(0, 3),
        n=st.integers(0, 3),
        partial=st.booleans(),
    )
    def fallocate(self, i: int, mode: int, off: int, n: int, partial: bool) -> None:
        p, fd = self.pick(self.files, i)
        with may_refuse(p, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSPC):
            bsize = p.fstatfs(fd).f_bsize
            extra = 3 * PS if partial else 0
            p.fallocate(fd, mode, off * bsize + extra, n * bsize + extra)

    @precondition(lambda self: self.files)
    @rule(i=IDX, count=st.sampled_from([1, 8, PS, 3 * PS, mf.SZ_2M + PS]), off=st.integers(0, 4))
    def pread(self, i: int, count: int, off: int) -> None:
        p, fd = self.pick(self.files, i)
        with may_refuse(p, errno.EIO, errno.EOPNOTSUPP):
            bsize = p.fstatfs(fd).f_bsize
            data = p.pread(fd, count, off * bsize + (off % 3) * PS)
            assert len(data) <= count

    @precondition(lambda self: self.files)
    @rule(i=IDX)
    def dup(self, i: int) -> None:
        p, fd = self.pick(self.files, i)
        with may_refuse(p):
            self.files.append((p, p.dup(fd)))

    @precondition(lambda self: self.files)
    @rule(i=IDX)
    def close(self, i: int) -> None:
        entry = self.pick(self.files, i)
        p, fd = entry
        with may_refuse(p):
            p.close(fd)
            self.files.remove(entry)

    # -- mappings ------------------------------------------------------------------------------
    @precondition(lambda self: self.files)
    @rule(
        i=IDX,
        pages=st.integers(1, 3),
        off=st.integers(0, 2),
        misalign=RARELY,
        shared=st.booleans(),
        writable=st.booleans(),
        populate=st.booleans(),
        short=st.booleans(),
    )
    def mmap(
        self,
        i: int,
        pages: int,
        off: int,
        misalign: bool,
        shared: bool,
        writable: bool,
        populate: bool,
        short: bool,
    ) -> None:
        p, fd = self.pick(self.files, i)
        with may_refuse(p, errno.EINVAL, errno.ENOMEM, errno.EOPNOTSUPP):
            bsize = p.fstatfs(fd).f_bsize
            prot = mf.PROT_READ | (mf.PROT_WRITE if writable else 0)
            flags = (mf.MAP_SHARED if shared else mf.MAP_PRIVATE) | (
                mf.MAP_POPULATE if populate else 0
            )
            length = pages * bsize - (PS if short else 0)
            addr = p.mmap(length, prot, flags, fd, off * bsize + (PS if misalign else 0))
            assert not misalign and addr % bsize == 0
            self.maps.append((p, addr, pages * bsize))

    @precondition(lambda self: self.maps)
    @rule(i=IDX)
    def munmap(self, i: int) -> None:
        entry = self.pick(self.maps, i)
        p, addr, length = entry
        with may_refuse(p):
            p.munmap(addr, length)
            self.maps.remove(entry)

    def address(self, entry: tuple[mf.Process, int, int], h: int, sub: int, byte: int) -> int:
        _, addr, length = entry
        hps = mf.SZ_1G if length % mf.SZ_1G == 0 else mf.SZ_2M
        return addr + (h % (length // hps)) * hps + (sub % (hps // PS)) * PS + byte

    @precondition(lambda self: self.maps)
    @rule(
        i=IDX,
        kind=st.sampled_from(["load", "store", "fill", "verify"]),
        h=st.integers(0, 2),
        sub=st.one_of(st.integers(0, 8), IDX, st.just(-1)),
        byte=st.integers(0, PS - 1),
        n=st.sampled_from([1, 8, 100, PS, 2 * PS + 1]),
        whole=st.booleans(),
        outside=st.integers(0, 9),
        value=st.integers(0, 255),
    )
    def access(
        self,
        i: int,
        kind: str,
        h: int,
        sub: int,
        byte: int,
        n: int,
        whole: bool,
        outside: int,
        value: int,
    ) -> None:
        entry = self.pick(self.maps, i)
        p, base, length = entry
        addr = self.address(entry, h, sub, byte)
        if outside == 0:
            addr = base + length + byte  # the guard gap after every mapping
        before = len(p.signals)
        with may_refuse(p):
            if kind == "load":
                acc = p.load(addr, n)
            elif kind == "store":
                acc = p.store(addr, bytes([value]) * min(n, 64))
            elif kind == "fill":
                acc = p.fill(addr, length if whole else n, value)
            else:
                acc = p.verify(addr, length if whole else n, value)
            assert acc.ok == (acc.signal is None and acc.first_mismatch is None)
            if acc.signal is not None:
                assert p.signals[before:] == [acc.signal]
                assert acc.data is None
            else:
                assert p.signals[before:] == []
                if kind == "load":
                    assert acc.data is not None and len(acc.data) == n
            if outside == 0:
                assert acc.signal == mf.SigInfo(mf.SIGSEGV, mf.SEGV_MAPERR, addr, 0, p.pid)

    @precondition(lambda self: self.maps)
    @rule(
        i=IDX,
        advice=st.sampled_from([mf.MADV_HWPOISON, mf.MADV_HWPOISON, mf.MADV_SOFT_OFFLINE]),
        h=st.integers(0, 2),
        sub=st.one_of(st.integers(0, 8), IDX),
        span=st.booleans(),
    )
    def madvise(self, i: int, advice: int, h: int, sub: int, span: bool) -> None:
        entry = self.pick(self.maps, i)
        p, _, length = entry
        addr = self.address(entry, h, sub, 0)
        n = length if span else PS
        with may_refuse(p, errno.EFAULT, mf.EHWPOISON, errno.EBUSY):
            assert p.madvise(addr, n, advice) == 0

    # -- error injection -----------------------------------------------------------------------
    @precondition(lambda self: self.has_pool())
    @rule(i=IDX, sub=IDX, where=WHERE)
    def corrupt_pfn(self, i: int, sub: int, where: str) -> None:
        with may_refuse(None, mf.EHWPOISON, errno.EBUSY):
            assert self.kernel.corrupt_pfn(self.pfn_of(i, sub, where)) == 0

    @precondition(lambda self: self.has_pool())
    @rule(i=IDX, sub=IDX, where=WHERE, detect=st.sampled_from(["latent", "scrub"]))
    def hw_ue(self, i: int, sub: int, where: str, detect: str) -> None:
        ret = self.kernel.hw_ue(self.pfn_of(i, sub, where), detect=detect)
        assert ret in (0, -mf.EHWPOISON, -errno.EBUSY)
        assert detect == "scrub" or ret == 0

    @precondition(lambda self: self.has_pool())
    @rule(i=IDX, sub=IDX, where=WHERE)
    def unpoison_pfn(self, i: int, sub: int, where: str) -> None:
        k = self.kernel
        with may_refuse(None, errno.EBUSY, errno.EOPNOTSUPP):
            assert k.unpoison_pfn(self.pfn_of(i, sub, where)) == 0
            now = k.meminfo()["HardwareCorrupted"]
            assert now < self.hc and (self.hc - now) % 4 == 0
            self.hc = now

    # -- invariants ----------------------------------------------------------------------------
    @invariant()
    def model_invariants(self) -> None:
        if self.k is not None:
            mf.check_invariants(self.k)

    @invariant()
    def hardware_corrupted_never_drops(self) -> None:
        if self.k is None:
            return
        now = self.k.meminfo()["HardwareCorrupted"]
        assert now >= self.hc, f"HardwareCorrupted fell from {self.hc} to {now} kB"
        self.hc = now

    @invariant()
    def signals_are_well_formed(self) -> None:
        if self.k is None:
            return
        keep = self.k.supports_keep_ue_mapped
        for p in self.k.processes:
            for info in p.signals[self.seen.get(p.pid, 0) :]:
                assert info.si_signo in (mf.SIGBUS, mf.SIGSEGV), info
                assert info.pid == p.pid, info
                if info.si_signo == mf.SIGBUS and info.si_code in MCEERR:
                    assert info.si_addr_lsb in ((12, 21, 30) if keep else (21, 30)), info
                else:
                    assert info.si_addr_lsb == 0, info
                assert keep or info.si_addr_lsb != 12, f"lsb 12 from a stock kernel: {info}"
            self.seen[p.pid] = len(p.signals)


COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_stateful_fast() -> None:
    """The inner-loop variant: the same 100 sequences every run (derandomized)."""
    run_state_machine_as_test(
        MemoryFailureMachine,
        settings=settings(max_examples=100, stateful_step_count=20, derandomize=True, **COMMON),
    )


@pytest.mark.slow
def test_stateful_slow() -> None:
    """2,000 sequences: the same ones every run under the default ``ci`` profile; fresh ones,
    twenty times the profile's count, with ``MFW_HYPOTHESIS=explore`` (tests/conftest.py)."""
    run_state_machine_as_test(
        MemoryFailureMachine,
        settings=settings(
            max_examples=20 * settings.default.max_examples, stateful_step_count=20, **COMMON
        ),
    )


def test_keep_release_of_a_surplus_hugepage() -> None:
    """Found by the machine. A reserved page survives ``echo 0 > nr_hugepages`` as surplus
    (set_max_huge_pages(): min_count = resv + nr - free); it is then faulted in and poisoned
    under MFD_MF_KEEP_UE_MAPPED. At release the poisoned folio is freed and dissolved (E11 keep);
    like any surplus page that is freed, it leaves the pool *and* the surplus count
    (free_huge_folio() -> remove_hugetlb_folio(adjust_surplus=true)): nr 0, surplus 0."""
    k = mf.Kernel({"2M": 1}, supports_keep_ue_mapped=True)
    p = k.spawn("p", handle_sigbus=True)
    fd = p.memfd_create("m", HUGE | KEEP)
    p.ftruncate(fd, mf.SZ_2M)
    a = p.mmap(mf.SZ_2M, mf.PROT_READ | mf.PROT_WRITE, mf.MAP_SHARED, fd)
    k.set_nr_hugepages("2M", 0)
    assert k.hstate("2M") == mf.Hstate(1, 1, 1, 1)
    assert p.madvise(a, PS, mf.MADV_HWPOISON) == 0
    assert p.signals == [mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AR, a, 12, p.pid)]
    assert k.hstate("2M") == mf.Hstate(1, 0, 0, 1)
    p.close(fd)
    p.munmap(a, mf.SZ_2M)  # the last reference: release
    assert k.hstate("2M") == mf.Hstate(0, 0, 0, 0)
    assert k.meminfo()["HardwareCorrupted"] == 4
