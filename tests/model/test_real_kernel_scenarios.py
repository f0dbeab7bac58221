"""The scenarios real kernels ran under qemu (docs/kernel.md R2), replayed on the model.

Ground truth: docs/kernel.md R3 (the stock policy, on a model Kernel with
``supports_keep_ue_mapped=False``): the "6.12.117 and 7.3.4" column, and where a test is
parametrized over ``version``, the 6.1.192 column for ``Kernel(version="6.1")``. The
keep-policy counterparts at the end follow docs/kernel.md E5, E7, E9 and E11
(``Kernel(supports_keep_ue_mapped=True)`` with a memfd created with MFD_MF_KEEP_UE_MAPPED).

Every step checks exact outcomes: the return value or errno, every field of every SigInfo
delivered to any process (and that nobody else got one), every pool, meminfo and node
memory_failure counter (deltas; all others unchanged) and the exact new kernel log lines.

Data: like the real test program, mappings are filled so that a read tells real data from
zeros: each hugepage h is filled with the byte 0xA0 + h and, at a few probe subpages, the u64
``0x5A5A000000000000 ^ file_offset`` is stored at the start of the subpage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest

import mfwidgets as mf
from mfwidgets.model import errno

PS = mf.PAGE_SIZE
HPS = {"2M": mf.SZ_2M, "1G": mf.SZ_1G}
SHIFT = {"2M": 21, "1G": 30}
KB = {"2M": mf.SZ_2M >> 10, "1G": mf.SZ_1G >> 10}
SIZE_FLAG = {"2M": mf.MFD_HUGE_2MB, "1G": mf.MFD_HUGE_1GB}
RW = mf.PROT_READ | mf.PROT_WRITE
NODE = "/sys/devices/system/node/node0/memory_failure/"
NODE_FIELDS = ("total", "ignored", "failed", "delayed", "recovered")
POOL_FIELDS = ("nr_hugepages", "free_hugepages", "resv_hugepages", "surplus_hugepages")
MEMINFO_MIRROR = {
    "nr_hugepages": "HugePages_Total",
    "free_hugepages": "HugePages_Free",
    "resv_hugepages": "HugePages_Rsvd",
    "surplus_hugepages": "HugePages_Surp",
}
SHORT = {
    "nr": "nr_hugepages",
    "free": "free_hugepages",
    "resv": "resv_hugepages",
    "surp": "surplus_hugepages",
}
MAGIC = 0x5A5A000000000000
BOTH = pytest.mark.parametrize("size", ["2M", "1G"])
ALL_VERSIONS = pytest.mark.parametrize("version", ["7.3", "6.12", "6.1"])


def stock_kernel(version: str = "7.3", **pools: int) -> mf.Kernel:
    pools = pools or {"2M": 6, "1G": 4}
    return mf.Kernel(pools, supports_keep_ue_mapped=False, seed=0, version=version)


def node(k: mf.Kernel, **deltas: int) -> dict[str, int]:
    """Node memory_failure/ stat deltas, on the versions that have those files (not 6.1)."""
    return deltas if k.behaviour.node_mf_stats else {}


def keep_kernel(**pools: int) -> mf.Kernel:
    return mf.Kernel(pools or {"2M": 6, "1G": 4}, supports_keep_ue_mapped=True, seed=0)


# -- counters, log and signals ------------------------------------------------------------------
def read_counters(k: mf.Kernel) -> dict[str, int]:
    """Every counter of the story, as the files show them (sysfs, /proc/meminfo, node stats)."""
    out: dict[str, int] = {}
    for size in ("2M", "1G"):
        h = k.hstate(size)
        for field in POOL_FIELDS:
            value = int(k.cat(f"/sys/kernel/mm/hugepages/hugepages-{KB[size]}kB/{field}"))
            assert value == getattr(h, field), f"sysfs {size} {field} disagrees with hstate()"
            out[f"{size}.{field}"] = value
    out.update(k.meminfo())
    for field in NODE_FIELDS:
        if k.behaviour.node_mf_stats:
            out[f"mf.{field}"] = int(k.cat(NODE + field))
        else:
            with pytest.raises(OSError) as exc:
                k.cat(NODE + field)
            assert exc.value.errno == errno.ENOENT
    return out


def sig(code: int, proc: mf.Process, addr: int, lsb: int) -> mf.SigInfo:
    return mf.SigInfo(mf.SIGBUS, code, addr, lsb, proc.pid)


def AR(proc: mf.Process, addr: int, lsb: int) -> mf.SigInfo:
    return sig(mf.BUS_MCEERR_AR, proc, addr, lsb)


def AO(proc: mf.Process, addr: int, lsb: int) -> mf.SigInfo:
    return sig(mf.BUS_MCEERR_AO, proc, addr, lsb)


class Check:
    """Baseline of counters, log and signals; ``expect`` asserts the exact change since the last
    call: counter deltas (everything else unchanged), the new dmesg lines, the new signals of
    every process (a process not named got none)."""

    def __init__(self, k: mf.Kernel, size: str = "2M") -> None:
        self.k = k
        self.size = size
        self._rebase()

    def _rebase(self) -> None:
        self.counters = read_counters(self.k)
        self.log = len(self.k.dmesg())
        self.sigs = {p.pid: len(p.signals) for p in self.k.processes}

    def expect(
        self,
        dmesg: Iterable[str] = (),
        signals: Mapping[mf.Process, list[mf.SigInfo]] | None = None,
        **deltas: int,
    ) -> None:
        want = dict(self.counters)
        for key, delta in deltas.items():
            if key in SHORT:
                key = f"{self.size}.{SHORT[key]}"
            elif key == "hc":
                key = "HardwareCorrupted"
            elif key in NODE_FIELDS:
                key = f"mf.{key}"
            assert key in want, key
            want[key] += delta
            size, _, field = key.partition(".")
            if size in KB and field:
                if size == "2M" and field in MEMINFO_MIRROR:
                    want[MEMINFO_MIRROR[field]] += delta
                if field == "nr_hugepages":
                    want["Hugetlb"] += delta * KB[size]
        assert read_counters(self.k) == want
        assert self.k.dmesg()[self.log :] == list(dmesg)
        signals = {} if signals is None else signals
        for p in self.k.processes:
            new = p.signals[self.sigs.get(p.pid, 0) :]
            assert new == signals.get(p, []), f"signals of {p!r}"
        self._rebase()


# -- kernel log lines (6.12/7.3 wording; 6.1's where it differs) ---------------------------------
def madv_line(pfn: int, vaddr: int) -> str:
    return f"Injecting memory failure for pfn {pfn:#x} at process virtual address {vaddr:#x}"


def corrupt_line(pfn: int) -> str:
    return f"Injecting memory failure at pfn {pfn:#x}"


def sending(pfn: int, proc: mf.Process) -> str:
    return (
        f"Memory failure: {pfn:#x}: Sending SIGBUS to {proc.name[:15]}:{proc.pid} "
        "due to hardware memory corruption"
    )


def recovery(pfn: int, what: str, result: str) -> str:
    return f"Memory failure: {pfn:#x}: recovery action for {what}: {result}"


def killing(proc: mf.Process, addr: int) -> str:
    return (
        f"MCE: Killing {proc.name[:15]}:{proc.pid} due to hardware memory corruption fault "
        f"at {addr:x}"
    )


MCE_LOGGED = "mce: [Hardware Error]: Machine check events logged"


def mce_user(pfn: int) -> str:
    return f"mce: Uncorrected hardware memory error in user-access at {pfn << 12:x}"


def soft_line(pfn: int, vaddr: int) -> str:
    return f"Soft offlining pfn {pfn:#x} at process virtual address {vaddr:#x}"


def unpoison_line(k: mf.Kernel, pfn: int, what: str) -> str:
    if k.version == "6.1":
        return f"Unpoison: {what[0].upper()}{what[1:]} {pfn:#x}"
    return f"Unpoison: {pfn:#x}: {what}"


def already(k: mf.Kernel, pfn: int, what: str) -> str:
    """An error on a hugepage that is already poisoned: 6.1 only says so."""
    if k.version == "6.1":
        return f"Memory failure: {pfn:#x}: already hardware poisoned"
    return recovery(pfn, what, "Failed")


# -- the fill pattern -------------------------------------------------------------------------
def fill_byte(h: int) -> int:
    return 0xA0 + h


def probes(hps: int) -> list[int]:
    nr = hps // PS
    return sorted({0, 1, 2, 3, 4, 5, 6, 7, nr // 2, nr - 1})


def word(off: int) -> bytes:
    return (MAGIC ^ off).to_bytes(8, "little")


def expected(off: int, n: int, hps: int, zero: Iterable[int] = ()) -> bytes:
    """The pattern bytes of file range [off, off + n); hugepages in ``zero`` read as zeros."""
    out = bytearray()
    pos = off
    while pos < off + n:
        h = pos // hps
        end = min(off + n, (h + 1) * hps)
        out += bytes([0 if h in zero else fill_byte(h)]) * (end - pos)
        pos = end
    for h in range(off // hps, (off + n - 1) // hps + 1):
        if h in zero:
            continue
        for s in probes(hps):
            w = h * hps + s * PS
            lo, hi = max(off, w), min(off + n, w + 8)
            if lo < hi:
                out[lo - off : hi - off] = word(w)[lo - w : hi - w]
    return bytes(out)


def write_pattern(p: mf.Process, base: int, hps: int, count: int, first: int = 0) -> None:
    for h in range(first, first + count):
        addr = base + (h - first) * hps
        assert p.fill(addr, hps, fill_byte(h)) == mf.Access(True)
        for s in probes(hps):
            off = h * hps + s * PS
            assert p.store(addr + s * PS, word(off)) == mf.Access(True)


def check_data(p: mf.Process, base: int, hps: int, h: int, first: int = 0) -> None:
    """Loads through ``p``'s mapping at ``base`` (file hugepage ``first``) of every probe word of
    hugepage ``h`` and a byte after it: the pattern, intact."""
    for s in probes(hps):
        off = h * hps + s * PS
        addr = base + off - first * hps
        assert p.load(addr, 16) == mf.Access(True, expected(off, 16, hps))
    assert p.verify(base + (h - first) * hps + 8 * PS, 8 * PS, fill_byte(h)) == mf.Access(True)


def raw_pfns(p: mf.Process, base: int, hps: int) -> tuple[int, int]:
    """(head pfn, pfn of subpage 3) of the hugepage mapped at ``base``."""
    head = p.virt_to_pfn(base)
    assert head is not None and head % (hps // PS) == 0
    assert p.virt_to_pfn(base + 3 * PS) == head + 3
    return head, head + 3


def free_folio_pfn(k: mf.Kernel, size: str) -> int:
    views = [f for f in k.snapshot().folios if f.size == size and f.state is mf.FolioState.FREE]
    assert views
    return views[-1].pfn


# ================================================================================================
# probes: memfd_create flags
# ================================================================================================
@pytest.mark.parametrize(
    "flags",
    [
        0x20 | mf.MFD_HUGETLB,
        0x20 | mf.MFD_HUGETLB | mf.MFD_HUGE_2MB,
        0x20,
        0x40 | mf.MFD_HUGETLB,
    ],
)
def test_probe_unknown_flags_einval(flags: int) -> None:
    """§3 row memfd_create(0x20|...), (0x40|MFD_HUGETLB): -1 EINVAL; nothing created."""
    k = stock_kernel()
    p = k.spawn("probe", handle_sigbus=True)
    c = Check(k)
    with pytest.raises(OSError) as exc:
        p.memfd_create("probe", flags)
    assert exc.value.errno == errno.EINVAL
    assert p.fds == {}
    c.expect()


@ALL_VERSIONS
@pytest.mark.parametrize(
    "flags", [mf.MFD_NOEXEC_SEAL | mf.MFD_HUGETLB, mf.MFD_EXEC | mf.MFD_HUGETLB]
)
def test_probe_exec_flags(flags: int, version: str) -> None:
    """§3 row MFD_NOEXEC_SEAL|MFD_HUGETLB, MFD_EXEC|MFD_HUGETLB: an fd (6.12/7.3); EINVAL on
    6.1, which has neither flag."""
    k = stock_kernel(version)
    p = k.spawn("probe", handle_sigbus=True)
    c = Check(k)
    if version == "6.1":
        with pytest.raises(OSError) as exc:
            p.memfd_create("probe", flags)
        assert exc.value.errno == errno.EINVAL
        assert p.fds == {}
    else:
        fd = p.memfd_create("probe", flags)
        assert fd == 3
        assert p.fstatfs(fd) == mf.StatFs(mf.HUGETLBFS_MAGIC, mf.SZ_2M)
    c.expect()


# ================================================================================================
# A and B: MADV_HWPOISON on subpage 3 of hugepage 0 of a 2-hugepage memfd
# ================================================================================================
class Setup:
    """A memfd of 2 hugepages, MAP_SHARED, filled by ``inj``; ``before`` (forked before the
    poison) has loaded from both hugepages; a spare mapping keeps one reservation (Rsvd 1) so
    that "Rsvd unchanged" is not trivially true."""

    def __init__(self, k: mf.Kernel, size: str, flags: int = 0) -> None:
        self.k, self.size = k, size
        self.hps = hps = HPS[size]
        self.lsb = SHIFT[size]
        c = Check(k, size)
        inj = k.spawn("injector", handle_sigbus=True)
        spare = inj.memfd_create("spare", mf.MFD_HUGETLB | SIZE_FLAG[size])
        inj.ftruncate(spare, hps)
        inj.mmap(hps, RW, mf.MAP_SHARED, spare)
        c.expect(resv=+1)
        fd = inj.memfd_create("scenario", mf.MFD_HUGETLB | SIZE_FLAG[size] | flags)
        assert inj.fstatfs(fd) == mf.StatFs(mf.HUGETLBFS_MAGIC, hps)
        inj.ftruncate(fd, 2 * hps)
        base = inj.mmap(2 * hps, RW, mf.MAP_SHARED, fd)
        assert base % hps == 0
        c.expect(resv=+2)
        write_pattern(inj, base, hps, 2)
        c.expect(free=-2, resv=-2)
        before = inj.fork()
        for h in (0, 1):
            check_data(before, base, hps, h)
        c.expect()
        self.inj, self.before, self.fd, self.base = inj, before, fd, base
        self.head, self.pfn = raw_pfns(inj, base, hps)
        self.head1 = inj.virt_to_pfn(base + hps)
        assert self.head1 is not None
        self.c = c


def after_stock_poison(s: Setup) -> None:
    """The §3 rows that follow a stock MADV_HWPOISON of subpage 3 of hugepage 0 (scenario A/B):
    pagemap, loads/stores through every kind of mapping, pread/pwrite, the second MADV_HWPOISON,
    munmap and close."""
    k, c, hps, lsb, base = s.k, s.c, s.hps, s.lsb, s.base
    inj, before, fd = s.inj, s.before, s.fd
    nr = hps // PS

    # pagemap: the poisoned hugepage is present in no mapping; the other one is.
    for p in (inj, before):
        for sub in (0, 3, nr - 1):
            assert p.virt_to_pfn(base + sub * PS) is None
        assert p.virt_to_pfn(base + hps + 5 * PS) == s.head1 + 5

    # loads and stores to any subpage of the poisoned hugepage: AR at the exact byte, lsb 21/30
    child = inj.fork()  # forked after the poison: the inherited mapping
    fresh = inj.mmap(2 * hps, RW, mf.MAP_SHARED, fd)  # a fresh mmap of the fd
    c.expect()
    paths = [(child, base), (before, base), (inj, fresh)]
    for p, b in paths:
        for sub, byte in ((3, 0x11), (0, 0), (nr // 2, 0x7FF), (nr - 1, PS - 1)):
            addr = b + sub * PS + byte
            acc = p.load(addr, 8)
            assert acc == mf.Access(False, None, AR(p, addr, lsb))
            c.expect(dmesg=[killing(p, addr)], signals={p: [AR(p, addr, lsb)]})
            acc = p.store(addr, b"\x01\x02")
            assert acc == mf.Access(False, None, AR(p, addr, lsb))
            c.expect(dmesg=[killing(p, addr)], signals={p: [AR(p, addr, lsb)]})
        # the other hugepage of the same memfd: OK, data intact; a store sticks
        check_data(p, b, hps, 1)
        c.expect()
    assert child.store(base + hps + 9 * PS, b"child") == mf.Access(True)
    assert inj.load(fresh + hps + 9 * PS, 5) == mf.Access(True, b"child")
    assert before.load(base + hps + 9 * PS, 5) == mf.Access(True, b"child")
    assert inj.store(fresh + hps + 9 * PS, b"\xa1" * 5) == mf.Access(True)  # restore the fill
    c.expect()

    # pread of the poisoned subpage: EIO; of a healthy subpage of the poisoned hugepage: data
    with pytest.raises(OSError) as exc:
        inj.pread(fd, PS, 3 * PS)
    assert exc.value.errno == errno.EIO
    with pytest.raises(OSError) as exc:
        inj.pread(fd, 8, 3 * PS + 0x100)
    assert exc.value.errno == errno.EIO
    healthy = (0, 2 * PS, 4 * PS, 5 * PS + 8, (nr // 2) * PS, (nr - 1) * PS)
    if k.version == "6.1":
        # 6.1: any read of the poisoned hugepage is EIO (no adjust_range_hwpoison())
        for off, n in [(off, 64) for off in healthy] + [(0, hps)]:
            with pytest.raises(OSError) as exc:
                inj.pread(fd, n, off)
            assert exc.value.errno == errno.EIO
    else:
        for off in healthy:
            assert inj.pread(fd, 64, off) == expected(off, 64, hps)
        # pread(len=HPS, off=0): a short read of 12288, ending at the poisoned subpage
        assert inj.pread(fd, hps, 0) == expected(0, 3 * PS, hps)
    # the other hugepage reads whole
    assert inj.pread(fd, 2 * PS, hps + 2 * PS) == expected(hps + 2 * PS, 2 * PS, hps)
    # pwrite and write: EINVAL
    for call in (lambda: inj.pwrite(fd, b"x", 0), lambda: inj.write(fd, b"x")):
        with pytest.raises(OSError) as exc:
            call()
        assert exc.value.errno == errno.EINVAL
    c.expect()

    # a second MADV_HWPOISON on another subpage of the poisoned hugepage: EFAULT, nothing else
    with pytest.raises(OSError) as exc:
        inj.madvise(base + 5 * PS, PS, mf.MADV_HWPOISON)
    assert exc.value.errno == errno.EFAULT
    c.expect()

    # munmap with the fd still open: no change; close of the last reference: the healthy
    # hugepage goes back to Free, the poisoned one is leaked (Total unchanged, Free not back)
    child.exit()
    before.exit()
    c.expect()
    inj.munmap(fresh, 2 * hps)
    inj.munmap(base, 2 * hps)
    c.expect()
    inj.close(fd)
    c.expect(free=+1)
    # the leaked page is never handed out: a memfd as large as the pool minus the leak and the
    # reservation of the spare can be faulted in, one more cannot be reserved
    free = k.hstate(s.size).free_hugepages - k.hstate(s.size).resv_hugepages
    fd2 = inj.memfd_create("rest", mf.MFD_HUGETLB | SIZE_FLAG[s.size])
    inj.ftruncate(fd2, (free + 1) * hps)
    with pytest.raises(OSError) as exc:
        inj.mmap((free + 1) * hps, RW, mf.MAP_SHARED, fd2)
    assert exc.value.errno == errno.ENOMEM
    c.expect()


@ALL_VERSIONS
@BOTH
def test_A_madv_hwpoison_default_policy(size: str, version: str) -> None:
    """Scenario A (vm.memory_failure_early_kill = 0)."""
    k = stock_kernel(version)
    assert k.cat("/proc/sys/vm/memory_failure_early_kill") == "0\n"
    s = Setup(k, size)
    inj, before, base, pfn = s.inj, s.before, s.base, s.pfn
    addr = base + 3 * PS
    assert inj.madvise(addr, PS, mf.MADV_HWPOISON) == 0
    if version == "6.1":
        # 6.1: no signal to the injector by default (no MF_ACTION_REQUIRED), no "Sending"
        s.c.expect(
            dmesg=[madv_line(pfn, addr), recovery(pfn, "huge page", "Recovered")],
            hc=+4,
        )
    else:
        # the injector gets AR at the 4 KiB address it passed, lsb 21/30; the late mapper
        # nothing
        s.c.expect(
            dmesg=[
                madv_line(pfn, addr),
                sending(pfn, inj),
                recovery(pfn, "huge page", "Recovered"),
            ],
            signals={inj: [AR(inj, addr, s.lsb)]},
            hc=+4,
            total=+1,
            recovered=+1,
        )
    assert before.alive and inj.alive
    after_stock_poison(s)


@ALL_VERSIONS
@BOTH
def test_B_madv_hwpoison_early_kill(size: str, version: str) -> None:
    """Scenario B: the injector and a watcher are PR_MCE_KILL_EARLY; a third mapper is late."""
    k = stock_kernel(version)
    s = Setup(k, size)
    inj, base, pfn = s.inj, s.base, s.pfn
    watcher = inj.fork()
    inj.prctl_mce_kill("early")
    watcher.prctl_mce_kill("early")
    s.c.expect()
    addr = base + 3 * PS
    assert inj.madvise(addr, PS, mf.MADV_HWPOISON) == 0
    # injector: AR (early kill or not); watcher: AO at the 4 KiB address of the poisoned raw
    # page, lsb 21/30; the late mapper ("before"): nothing. 6.1: both get AO at the
    # hugepage-aligned address.
    if version == "6.1":
        signals = {inj: [AO(inj, base, s.lsb)], watcher: [AO(watcher, base, s.lsb)]}
    else:
        signals = {inj: [AR(inj, addr, s.lsb)], watcher: [AO(watcher, addr, s.lsb)]}
    s.c.expect(
        dmesg=[
            madv_line(pfn, addr),
            sending(pfn, inj),
            sending(pfn, watcher),
            recovery(pfn, "huge page", "Recovered"),
        ],
        signals=signals,
        hc=+4,
        **node(k, total=+1, recovered=+1),
    )
    # the watcher learns nothing new on access but the fault AR, like any mapper
    waddr = base + 7 * PS + 3
    assert watcher.load(waddr) == mf.Access(False, None, AR(watcher, waddr, s.lsb))
    s.c.expect(dmesg=[killing(watcher, waddr)], signals={watcher: [AR(watcher, waddr, s.lsb)]})
    watcher.exit()
    s.c.expect()
    after_stock_poison(s)


def test_early_kill_sysctl_and_prctl_priority() -> None:
    """E7: vm.memory_failure_early_kill = 1 makes default-policy mappers early (AO); a
    PR_MCE_KILL_LATE process stays late (prctl wins over the sysctl)."""
    k = stock_kernel()
    s = Setup(k, "2M")
    inj, base, pfn = s.inj, s.base, s.pfn
    late = inj.fork()
    late.prctl_mce_kill("late")
    assert k.sysctl("vm.memory_failure_early_kill", 1) == 1
    assert k.cat("/proc/sys/vm/memory_failure_early_kill") == "1\n"
    s.c.expect()
    addr = base + 3 * PS
    assert k.corrupt_pfn(pfn) == 0
    s.c.expect(
        dmesg=[
            corrupt_line(pfn),
            sending(pfn, inj),
            sending(pfn, s.before),
            recovery(pfn, "huge page", "Recovered"),
        ],
        signals={inj: [AO(inj, addr, 21)], s.before: [AO(s.before, addr, 21)]},
        hc=+4,
        total=+1,
        recovered=+1,
    )


# ================================================================================================
# F: punch the poisoned hugepage while it is mapped
# ================================================================================================
@BOTH
def test_F_punch_hole_of_poisoned_hugepage(size: str) -> None:
    k = stock_kernel()
    s = Setup(k, size)
    inj, before, base, fd, hps, pfn, c = s.inj, s.before, s.base, s.fd, s.hps, s.pfn, s.c
    addr = base + 3 * PS
    assert inj.madvise(addr, PS, mf.MADV_HWPOISON) == 0
    c.expect(
        dmesg=[madv_line(pfn, addr), sending(pfn, inj), recovery(pfn, "huge page", "Recovered")],
        signals={inj: [AR(inj, addr, s.lsb)]},
        hc=+4,
        total=+1,
        recovered=+1,
    )
    # returns 0, no dmesg, the poisoned page is leaked: Free unchanged, Total unchanged
    assert inj.fallocate(fd, mf.FALLOC_FL_PUNCH_HOLE | mf.FALLOC_FL_KEEP_SIZE, 0, hps) is None
    c.expect()
    # the old mapping faults in a new zero-filled hugepage: reads 0, no SIGBUS, Free -1
    assert inj.load(addr, 16) == mf.Access(True, bytes(16))
    c.expect(free=-1)
    new = inj.virt_to_pfn(base)
    assert new is not None and not s.head <= new < s.head + hps // PS
    assert before.load(base + (hps // PS - 1) * PS, 8) == mf.Access(True, bytes(8))
    assert inj.verify(base, hps, 0) == mf.Access(True)
    c.expect()
    # pread returns zeros
    assert inj.pread(fd, 4 * PS, 0) == bytes(4 * PS)
    assert inj.pread(fd, 8, 3 * PS) == bytes(8)
    # the other hugepage is intact
    check_data(inj, base, hps, 1)
    assert inj.pread(fd, 2 * PS, hps) == expected(hps, 2 * PS, hps)
    c.expect()
    # release: both hugepages of the memfd return, the leaked one does not
    before.exit()
    inj.munmap(base, 2 * hps)
    inj.close(fd)
    c.expect(free=+2)


# ================================================================================================
# M: corrupt-pfn on raw pages of one in-use hugepage; unpoison before and after release
# ================================================================================================
@ALL_VERSIONS
@BOTH
def test_M_corrupt_pfn_twice_and_unpoison(size: str, version: str) -> None:
    k = stock_kernel(version)
    hps, lsb = HPS[size], SHIFT[size]
    c = Check(k, size)
    p = k.spawn("mapper", handle_sigbus=True)
    fd = p.memfd_create("M", mf.MFD_HUGETLB | SIZE_FLAG[size])
    p.ftruncate(fd, hps)
    base = p.mmap(hps, RW, mf.MAP_SHARED, fd)
    write_pattern(p, base, hps, 1)
    c.expect(free=-1)
    head = p.virt_to_pfn(base)
    assert head is not None
    first, second = head + 2, head + 7

    # first raw page: write OK, Recovered, no signal to anyone; node total+1 recovered+1
    assert k.corrupt_pfn(first) == 0
    c.expect(
        dmesg=[corrupt_line(first), recovery(first, "huge page", "Recovered")],
        hc=+4,
        **node(k, total=+1, recovered=+1),
    )
    assert p.virt_to_pfn(base) is None
    # a second, new raw page: EHWPOISON, "huge page: Failed", +4 kB, total+1 failed+1
    with pytest.raises(OSError) as exc:
        k.corrupt_pfn(second)
    assert exc.value.errno == mf.EHWPOISON == 133
    c.expect(
        dmesg=[corrupt_line(second), already(k, second, "huge page")],
        hc=+4,
        **node(k, total=+1, failed=+1),
    )
    # the same raw page again: EHWPOISON, "already poisoned page: Failed", no counter change
    with pytest.raises(OSError) as exc:
        k.corrupt_pfn(first)
    assert exc.value.errno == mf.EHWPOISON
    c.expect(dmesg=[corrupt_line(first), already(k, first, "already poisoned page")])
    # the mapper learns on access (late kill)
    addr = base + 2 * PS + 5
    assert p.load(addr) == mf.Access(False, None, AR(p, addr, lsb))
    c.expect(dmesg=[killing(p, addr)], signals={p: [AR(p, addr, lsb)]})

    # unpoison before release: a tail pfn is "already unpoisoned"; the head is grabbed
    for pfn, what in (
        (first, "page was already unpoisoned"),
        (head, "someone grabs the hwpoison page"),
    ):
        with pytest.raises(OSError) as exc:
            k.unpoison_pfn(pfn)
        assert exc.value.errno == errno.EBUSY
        c.expect(dmesg=[unpoison_line(k, pfn, what)])
    p.munmap(base, hps)
    with pytest.raises(OSError) as exc:  # mapping gone, fd still open
        k.unpoison_pfn(head)
    assert exc.value.errno == errno.EBUSY
    c.expect(dmesg=[unpoison_line(k, head, "someone grabs the hwpoison page")])
    p.close(fd)
    c.expect()  # leaked: Free not restored
    # after release: a tail pfn still EBUSY; the head pfn works: Free +1, -8 kB at once
    with pytest.raises(OSError) as exc:
        k.unpoison_pfn(second)
    assert exc.value.errno == errno.EBUSY
    c.expect(dmesg=[unpoison_line(k, second, "page was already unpoisoned")])
    assert k.unpoison_pfn(head) == 0
    c.expect(dmesg=[unpoison_line(k, head, "software-unpoisoned page")], free=+1, hc=-8)
    # the page is usable again: the whole pool can be faulted in
    n = k.hstate(size).free_hugepages
    fd = p.memfd_create("again", mf.MFD_HUGETLB | SIZE_FLAG[size])
    p.ftruncate(fd, n * hps)
    b = p.mmap(n * hps, RW, mf.MAP_SHARED | mf.MAP_POPULATE, fd)
    assert p.verify(b, n * hps, 0) == mf.Access(True)
    c.expect(free=-n)


# ================================================================================================
# Z: corrupt-pfn on a free hugepage
# ================================================================================================
@ALL_VERSIONS
@BOTH
def test_Z_corrupt_pfn_free_hugepage(size: str, version: str) -> None:
    k = stock_kernel(version)
    c = Check(k, size)
    pfn = free_folio_pfn(k, size) + 9
    if version == "6.1" and size == "1G":
        # 6.1, a free 1 GiB page: EBUSY and "Failed", yet it leaves the pool (§5 item 4)
        with pytest.raises(OSError) as exc:
            k.corrupt_pfn(pfn)
        assert exc.value.errno == errno.EBUSY
        result = "Failed"
    else:
        assert k.corrupt_pfn(pfn) == 0
        result = "Recovered"
    c.expect(
        dmesg=[corrupt_line(pfn), recovery(pfn, "free huge page", result)],
        nr=-1,
        free=-1,
        hc=+4,
        **node(k, total=+1, recovered=+1),
    )
    # the same pfn again: it is a poisoned buddy page now, "already poisoned", not counted
    with pytest.raises(OSError) as exc:
        k.corrupt_pfn(pfn)
    assert exc.value.errno == mf.EHWPOISON
    c.expect(dmesg=[corrupt_line(pfn), already(k, pfn, "already poisoned page")])


# ================================================================================================
# R (2M): read(2) edge cases with poisoned subpages in hugepages 1 and 2
# ================================================================================================
def madv_expect(c: Check, p: mf.Process, pfn: int, addr: int, lsb: int) -> None:
    """What the MADV_HWPOISON of an in-use page by its only (late-kill) mapper ``p`` does."""
    if c.k.version == "6.1":
        c.expect(dmesg=[madv_line(pfn, addr), recovery(pfn, "huge page", "Recovered")], hc=+4)
        return
    c.expect(
        dmesg=[madv_line(pfn, addr), sending(pfn, p), recovery(pfn, "huge page", "Recovered")],
        signals={p: [AR(p, addr, lsb)]},
        hc=+4,
        total=+1,
        recovered=+1,
    )


@ALL_VERSIONS
def test_R_read_edge_cases(version: str) -> None:
    k = stock_kernel(version)
    hps = mf.SZ_2M
    c = Check(k)
    p = k.spawn("reader", handle_sigbus=True)
    fd = p.memfd_create("R", mf.MFD_HUGETLB)
    p.ftruncate(fd, 3 * hps)
    base = p.mmap(3 * hps, RW, mf.MAP_SHARED, fd)
    write_pattern(p, base, hps, 3)
    c.expect(free=-3)
    for h, sub in ((1, 0), (2, 5)):
        addr = base + h * hps + sub * PS
        pfn = p.virt_to_pfn(addr)
        assert pfn is not None
        assert p.madvise(addr, PS, mf.MADV_HWPOISON) == 0
        madv_expect(c, p, pfn, addr, 21)

    def eio(call) -> None:
        with pytest.raises(OSError) as exc:
            call()
        assert exc.value.errno == errno.EIO

    # from healthy hugepage 0 into poisoned subpage 0 of hugepage 1: EIO, not a short count
    eio(lambda: p.pread(fd, 0x2000, 0x1FF000))
    eio(lambda: p.pread(fd, hps + PS, 0))
    # exactly hugepage 0: whole
    assert p.pread(fd, hps, 0) == expected(0, hps, hps)
    # read(): EIO leaves the file position where it was
    assert p.lseek(fd, 0x1FF000) == 0x1FF000
    eio(lambda: p.read(fd, 0x2000))
    assert p.lseek(fd, 0, mf.SEEK_CUR) == 0x1FF000
    if version == "6.1":
        # 6.1: any read that reaches a poisoned hugepage is EIO, whatever the offset
        for n, off in ((0x300000, 0x201000), (0x2000, 0x406000), (0x2000, 0x404000)):
            eio(lambda n=n, off=off: p.pread(fd, n, off))
        assert p.lseek(fd, 0x403000) == 0x403000
        eio(lambda: p.read(fd, 0x2000))
        assert p.lseek(fd, 0, mf.SEEK_CUR) == 0x403000
        c.expect()
        return
    # after the poisoned subpage of hugepage 1 into hugepage 2 up to its poisoned subpage 5
    assert p.pread(fd, 0x300000, 0x201000) == expected(0x201000, 0x204000, hps)
    # data after a poisoned subpage can be read
    assert p.pread(fd, 0x2000, 0x406000) == expected(0x406000, 0x2000, hps)
    eio(lambda: p.pread(fd, 1, 0x405FFF))
    # a successful read advances it: 0x403000 + 8192 -> 0x405000
    assert p.lseek(fd, 0x403000) == 0x403000
    assert p.read(fd, 0x2000) == expected(0x403000, 0x2000, hps)
    assert p.lseek(fd, 0, mf.SEEK_CUR) == 0x405000
    eio(lambda: p.read(fd, 0x1000))
    assert p.lseek(fd, 0, mf.SEEK_CUR) == 0x405000
    # a short read advances by what it returned
    assert p.lseek(fd, 0x404000) == 0x404000
    assert p.read(fd, 0x2000) == expected(0x404000, 0x1000, hps)
    assert p.lseek(fd, 0, mf.SEEK_CUR) == 0x405000
    c.expect()


# ================================================================================================
# S (2M): MADV_SOFT_OFFLINE
# ================================================================================================
@ALL_VERSIONS
def test_S_soft_offline(version: str) -> None:
    k = stock_kernel(version)
    hps = mf.SZ_2M
    c = Check(k)
    p = k.spawn("softoff", handle_sigbus=True)
    fd = p.memfd_create("S", mf.MFD_HUGETLB)
    p.ftruncate(fd, 2 * hps)
    base = p.mmap(2 * hps, RW, mf.MAP_SHARED, fd)
    write_pattern(p, base, hps, 2)
    c.expect(free=-2)
    head, pfn = raw_pfns(p, base, hps)
    addr = base + 3 * PS
    assert p.madvise(addr, PS, mf.MADV_SOFT_OFFLINE) == 0
    # 0; nr -1 (the old page is dissolved; its replacement came from Free); +4 kB; no signal;
    # memory_failure() is not involved: node stats unchanged
    c.expect(dmesg=[soft_line(pfn, addr)], nr=-1, free=-1, hc=+4)
    new = p.virt_to_pfn(base)
    assert new is not None and new != head
    assert p.virt_to_pfn(addr) == new + 3
    # data intact, through the mapping and pread
    for h in (0, 1):
        check_data(p, base, hps, h)
    assert p.pread(fd, 2 * hps, 0) == expected(0, 2 * hps, hps)
    c.expect()
    # the old hugepage never comes back: release returns both pages of the memfd
    p.munmap(base, 2 * hps)
    p.close(fd)
    c.expect(free=+2)


# ================================================================================================
# P: touch every page counted Free; at the end echo 0 > nr_hugepages
# ================================================================================================
@ALL_VERSIONS
def test_P_touch_all_free_then_shrink_pool(version: str) -> None:
    k = stock_kernel(version, **{"2M": 8, "1G": 4})
    p = k.spawn("pool", handle_sigbus=True)
    leaked = {"2M": 0, "1G": 0}
    # leak pages of both sizes as the scenarios do: poison, then release (close; punch)
    for size, n in (("2M", 3), ("1G", 2)):
        hps = HPS[size]
        for i in range(n):
            fd = p.memfd_create(f"leak{i}", mf.MFD_HUGETLB | SIZE_FLAG[size])
            p.ftruncate(fd, 2 * hps)
            base = p.mmap(2 * hps, RW, mf.MAP_SHARED, fd)
            write_pattern(p, base, hps, 2)
            assert p.madvise(base + (i % 2 + 1) * hps - PS, PS, mf.MADV_HWPOISON) == 0
            if i % 2:
                p.fallocate(fd, mf.FALLOC_FL_PUNCH_HOLE | mf.FALLOC_FL_KEEP_SIZE, hps, hps)
            p.munmap(base, 2 * hps)
            p.close(fd)
            leaked[size] += 1
    for size in ("2M", "1G"):
        h = k.hstate(size)
        assert h.nr_hugepages == (8 if size == "2M" else 4)
        assert h.nr_hugepages - h.free_hugepages == leaked[size]
        assert h.resv_hugepages == h.surplus_hugepages == 0

    c = Check(k)
    fds = []
    for size in ("2M", "1G"):
        hps = HPS[size]
        n = k.hstate(size).free_hugepages
        fd = p.memfd_create(f"all{size}", mf.MFD_HUGETLB | SIZE_FLAG[size])
        p.ftruncate(fd, n * hps)
        base = p.mmap(n * hps, RW, mf.MAP_SHARED, fd)
        # every page counted Free can be touched
        write_pattern(p, base, hps, n)
        for h in range(n):
            check_data(p, base, hps, h)
        c.expect(**{f"{size}.free_hugepages": -n})
        # and not one more: nothing is left to reserve
        fd2 = p.memfd_create(f"more{size}", mf.MFD_HUGETLB | SIZE_FLAG[size])
        p.ftruncate(fd2, hps)
        with pytest.raises(OSError) as exc:
            p.mmap(hps, RW, mf.MAP_SHARED, fd2)
        assert exc.value.errno == errno.ENOMEM
        fds.append((fd, base, n * hps))
    p.exit()
    c.expect(**{"2M.free_hugepages": 8 - 3, "1G.free_hugepages": 4 - 2})
    # echo 0 > nr_hugepages: the leaked pages stay, as surplus
    for size in ("2M", "1G"):
        k.set_nr_hugepages(size, 0)
        h = k.hstate(size)
        assert h == mf.Hstate(leaked[size], 0, 0, leaked[size])
    m = k.meminfo()
    assert (m["HugePages_Total"], m["HugePages_Free"], m["HugePages_Surp"]) == (3, 0, 3)
    assert m["Hugetlb"] == 3 * 2048 + 2 * 1048576
    assert m["HardwareCorrupted"] == 5 * 4


# ================================================================================================
# H-AO, H-AR (2M): real machine checks
# ================================================================================================
@ALL_VERSIONS
def test_H_AO_scrub_machine_check(version: str) -> None:
    k = stock_kernel(version)
    s = Setup(k, "2M")
    inj, late, base, pfn, c = s.inj, s.before, s.base, s.pfn, s.c
    early = inj.fork()
    early.prctl_mce_kill("early")
    c.expect()
    assert k.hw_ue(pfn, detect="scrub") == 0
    # early-kill mapper: AO at the 4 KiB page address (6.1: the hugepage), lsb 21; late
    # mappers: nothing
    addr = base if version == "6.1" else base + 3 * PS
    c.expect(
        dmesg=[MCE_LOGGED, sending(pfn, early), recovery(pfn, "huge page", "Recovered")],
        signals={early: [AO(early, addr, 21)]},
        hc=+4,
        **node(k, total=+1, recovered=+1),
    )
    # late mappers: AR at the exact faulting byte on access
    for p, a in ((late, base + 0x1234), (inj, base + 3 * PS + 0x10), (early, base + 0x1FFFFF)):
        assert p.load(a, 1) == mf.Access(False, None, AR(p, a, 21))
        c.expect(dmesg=[killing(p, a)], signals={p: [AR(p, a, 21)]})
    check_data(late, base, mf.SZ_2M, 1)
    c.expect()


@ALL_VERSIONS
def test_H_AR_load_machine_check(version: str) -> None:
    k = stock_kernel(version)
    s = Setup(k, "2M")
    inj, consumer, base, pfn, c = s.inj, s.before, s.base, s.pfn, s.c
    assert k.hw_ue(pfn, detect="latent") == 0
    c.expect()  # latent: nothing happens until a load consumes it
    # other subpages load fine meanwhile
    assert consumer.load(base + 2 * PS, 8) == mf.Access(True, word(2 * PS))
    assert consumer.load(base + 4 * PS, 8) == mf.Access(True, word(4 * PS))
    c.expect()
    addr = base + 3 * PS + 0x123
    page = base if version == "6.1" else base + 3 * PS
    acc = consumer.load(addr, 8)
    # the consumer: AR at the 4 KiB page address (6.1: the hugepage), lsb 21; the other
    # mapper: nothing
    assert acc == mf.Access(False, None, AR(consumer, page, 21))
    c.expect(
        dmesg=[
            MCE_LOGGED,
            mce_user(pfn),
            sending(pfn, consumer),
            recovery(pfn, "huge page", "Recovered"),
        ],
        signals={consumer: [AR(consumer, page, 21)]},
        hc=+4,
        **node(k, total=+1, recovered=+1),
    )
    # afterwards the hugepage is hard-offlined: a fault AR at the exact byte for everyone
    for p, a in ((consumer, addr), (inj, base + 0x10)):
        assert p.load(a) == mf.Access(False, None, AR(p, a, 21))
        c.expect(dmesg=[killing(p, a)], signals={p: [AR(p, a, 21)]})


# ================================================================================================
# Keep-policy counterparts (docs/kernel.md E5, E7, E9, E11)
# ================================================================================================
KEEP = mf.MFD_MF_KEEP_UE_MAPPED


def test_keep_flag_einval_on_stock_and_without_hugetlb() -> None:
    """A.2, A.3: unknown on a stock kernel; needs MFD_HUGETLB on a kernel with the series."""
    for k, flags in (
        (stock_kernel(), KEEP | mf.MFD_HUGETLB),
        (keep_kernel(), KEEP),
        (keep_kernel(), KEEP | mf.MFD_ALLOW_SEALING),
    ):
        p = k.spawn("probe", handle_sigbus=True)
        with pytest.raises(OSError) as exc:
            p.memfd_create("probe", flags)
        assert exc.value.errno == errno.EINVAL
        assert p.fds == {}
    p = keep_kernel().spawn("probe")
    assert p.memfd_create("ok", KEEP | mf.MFD_HUGETLB | mf.MFD_HUGE_1GB) == 3


@BOTH
def test_keep_madv_hwpoison(size: str) -> None:
    """E7 keep column, E9a/E9b keep, E11 keep."""
    k = keep_kernel()
    s = Setup(k, size, KEEP)
    inj, late, base, fd, hps, c = s.inj, s.before, s.base, s.fd, s.hps, s.c
    pfn = s.pfn
    watcher = inj.fork()
    watcher.prctl_mce_kill("early")
    c.expect()
    addr = base + 3 * PS
    assert inj.madvise(addr, PS, mf.MADV_HWPOISON) == 0
    # the injector AR lsb 12; the early-kill watcher AO lsb 12; the late mapper nothing
    c.expect(
        dmesg=[
            madv_line(pfn, addr),
            sending(pfn, inj),
            sending(pfn, watcher),
            recovery(pfn, "huge page", "Recovered"),
        ],
        signals={inj: [AR(inj, addr, 12)], watcher: [AO(watcher, addr, 12)]},
        hc=+4,
        total=+1,
        recovered=+1,
    )
    # page tables untouched; everyone keeps using the page, the "poisoned" 4 KiB included
    # (software poison: data intact)
    for p in (inj, late, watcher):
        for h in (0, 1):
            check_data(p, base, hps, h)
        assert p.load(addr, 8) == mf.Access(True, word(3 * PS))
        assert p.virt_to_pfn(addr) == pfn
    assert late.store(addr + 8, b"kept") == mf.Access(True)
    assert inj.load(addr + 8, 4) == mf.Access(True, b"kept")
    # a fresh mmap faults the poisoned hugepage in
    fresh = inj.mmap(2 * hps, RW, mf.MAP_SHARED, fd)
    assert inj.load(fresh + 3 * PS, 8) == mf.Access(True, word(3 * PS))
    # (a second VMA of the same task would get its own signal from collect_procs_file())
    inj.munmap(fresh, 2 * hps)
    c.expect()
    # read(2) still stops at the poisoned raw page (E6, same for keep)
    with pytest.raises(OSError) as exc:
        inj.pread(fd, PS, 3 * PS)
    assert exc.value.errno == errno.EIO
    assert inj.pread(fd, hps, 0) == expected(0, 3 * PS, hps)
    c.expect()

    # E9b keep: a second, NEW raw page: handled as a first error
    pfn5, addr5 = s.head + 5, base + 5 * PS
    assert inj.madvise(addr5, PS, mf.MADV_HWPOISON) == 0
    c.expect(
        dmesg=[
            madv_line(pfn5, addr5),
            sending(pfn5, inj),
            sending(pfn5, watcher),
            recovery(pfn5, "huge page", "Recovered"),
        ],
        signals={inj: [AR(inj, addr5, 12)], watcher: [AO(watcher, addr5, 12)]},
        hc=+4,
        total=+1,
        recovered=+1,
    )
    # E9a keep: the same raw page again: AR lsb 12 to the caller, EHWPOISON, not counted
    with pytest.raises(OSError) as exc:
        inj.madvise(addr, PS, mf.MADV_HWPOISON)
    assert exc.value.errno == mf.EHWPOISON
    c.expect(
        dmesg=[
            madv_line(pfn, addr),
            sending(pfn, inj),
            recovery(pfn, "already poisoned page", "Failed"),
        ],
        signals={inj: [AR(inj, addr, 12)]},
    )

    # E11 keep: close() with live mappings releases nothing
    inj.close(fd)
    c.expect()
    assert late.load(addr, 8) == mf.Access(True, word(3 * PS))
    late.close(fd)
    watcher.close(fd)
    watcher.munmap(base, 2 * hps)
    inj.munmap(base, 2 * hps)
    c.expect()
    # the last munmap releases: the poisoned hugepage is dissolved (nr -1), the healthy one is
    # free again; no log line; the raw pages stay poisoned
    late.munmap(base, 2 * hps)
    c.expect(nr=-1, free=+1)


@BOTH
def test_keep_ftruncate_cleans_up(size: str) -> None:
    """E11 keep, v3 selftest order: ftruncate(fd, 0) first dissolves the poisoned hugepage."""
    k = keep_kernel()
    s = Setup(k, size, KEEP)
    inj, base, fd, hps, c, pfn = s.inj, s.base, s.fd, s.hps, s.c, s.pfn
    s.before.exit()
    c.expect()
    addr = base + 3 * PS
    assert inj.madvise(addr, PS, mf.MADV_HWPOISON) == 0
    c.expect(
        dmesg=[madv_line(pfn, addr), sending(pfn, inj), recovery(pfn, "huge page", "Recovered")],
        signals={inj: [AR(inj, addr, 12)]},
        hc=+4,
        total=+1,
        recovered=+1,
    )
    inj.ftruncate(fd, 0)
    c.expect(nr=-1, free=+1)
    inj.munmap(base, 2 * hps)
    inj.close(fd)
    c.expect()


@BOTH
def test_keep_latent_hw_error(size: str) -> None:
    """E5 keep, HW kind: the load of the bad 4 KiB gives AR lsb 12 at the page address; other
    subpages keep loading; a second load of it is the "already poisoned" path."""
    k = keep_kernel()
    s = Setup(k, size, KEEP)
    inj, other, base, hps, c, pfn = s.inj, s.before, s.base, s.hps, s.c, s.pfn
    watcher = inj.fork()
    watcher.prctl_mce_kill("early")
    assert k.hw_ue(pfn, detect="latent") == 0
    c.expect()
    page = base + 3 * PS
    addr = page + 0x123
    assert inj.load(addr, 8) == mf.Access(False, None, AR(inj, page, 12))
    c.expect(
        dmesg=[
            MCE_LOGGED,
            mce_user(pfn),
            sending(pfn, inj),
            sending(pfn, watcher),
            recovery(pfn, "huge page", "Recovered"),
        ],
        signals={inj: [AR(inj, page, 12)], watcher: [AO(watcher, page, 12)]},
        hc=+4,
        total=+1,
        recovered=+1,
    )
    # other subpages keep loading fine, for everyone
    for p in (inj, other, watcher):
        for sub in (0, 2, 4, hps // PS - 1):
            off = sub * PS
            assert p.load(base + off, 8) == mf.Access(True, word(off))
        check_data(p, base, hps, 1)
    c.expect()
    # a second load of the same subpage: AR lsb 12 again, "already poisoned page: Failed",
    # no counter change
    for p in (inj, other):
        a = page + 0x800
        assert p.load(a, 1) == mf.Access(False, None, AR(p, page, 12))
        c.expect(
            dmesg=[
                MCE_LOGGED,
                mce_user(pfn),
                sending(pfn, p),
                recovery(pfn, "already poisoned page", "Failed"),
            ],
            signals={p: [AR(p, page, 12)]},
        )


# -- a second hardware error in a kept hugepage (docs/kernel.md V4, D.5) --------------------------
SETTINGS = pytest.mark.parametrize("setting", ["ignored", "intent"])
NOT_RECOVERED = "mce: Memory error not recovered"
NOT_DISSOLVED = "Memory failure: failed to dissolve hugetlb folio: -16"


def kept_setup(setting: str) -> tuple[mf.Kernel, Setup]:
    k = mf.Kernel({"2M": 6, "1G": 4}, supports_keep_ue_mapped=True, kept_second_error=setting)
    return k, Setup(k, "2M", KEEP)


def release(s: Setup, *others: mf.Process) -> None:
    """The forks (with their fds and mappings) exit, then the last mapping and fd go: the memfd
    is released (E11)."""
    for p in (s.before, *others):
        p.exit()
    s.inj.munmap(s.base, 2 * s.hps)
    s.inj.close(s.fd)


def test_kept_second_error_default_and_bad_value() -> None:
    assert mf.Kernel().kept_second_error == "ignored"
    for bad in ("Ignored", "later", None, 1):
        with pytest.raises(ValueError) as exc:
            mf.Kernel(kept_second_error=bad)  # type: ignore[arg-type]
        assert str(exc.value) == (f"kept_second_error: {bad!r} is not one of 'ignored', 'intent'")


@SETTINGS
def test_keep_second_scrub_error(setting: str) -> None:
    """KH_AO: a second scrub error in a kept hugepage. "ignored" (the v3 kernel): Ignored, no
    signal, -EBUSY, and the hugepage stays in the pool, poisoned, at release; "intent": AO at
    the new raw page, Recovered, dissolved at release."""
    k, s = kept_setup(setting)
    inj, base, pfn, c = s.inj, s.base, s.pfn, s.c
    early = inj.fork()
    early.prctl_mce_kill("early")
    c.expect()
    assert k.hw_ue(pfn, detect="scrub") == 0
    page = base + 3 * PS
    c.expect(
        dmesg=[MCE_LOGGED, sending(pfn, early), recovery(pfn, "huge page", "Recovered")],
        signals={early: [AO(early, page, 12)]},
        hc=+4,
        total=+1,
        recovered=+1,
    )
    pfn2, page2 = s.head + 127, base + 127 * PS
    if setting == "ignored":
        assert k.hw_ue(pfn2, detect="scrub") == -errno.EBUSY
        c.expect(
            dmesg=[MCE_LOGGED, recovery(pfn2, "get hwpoison page", "Ignored")],
            hc=+4,
            total=+1,
            ignored=+1,
        )
    else:
        assert k.hw_ue(pfn2, detect="scrub") == 0
        c.expect(
            dmesg=[MCE_LOGGED, sending(pfn2, early), recovery(pfn2, "huge page", "Recovered")],
            signals={early: [AO(early, page2, 12)]},
            hc=+4,
            total=+1,
            recovered=+1,
        )
    release(s, early)
    if setting == "ignored":  # hugepage 1 freed; hugepage 0 back on the free list, poisoned
        c.expect(dmesg=[NOT_DISSOLVED], free=+2)
        folio = k.folio_of_pfn(pfn)
        assert folio is not None
        assert k.snapshot().folios[folio.number].state.label == "free, poisoned"
    else:  # hugepage 1 freed; hugepage 0 dissolved
        c.expect(nr=-1, free=+1)


@SETTINGS
def test_keep_second_load_error(setting: str) -> None:
    """KH_AR: a second data-load error in a kept hugepage. "ignored" (the v3 kernel):
    Ignored, then "Memory error not recovered" and a SIGBUS with si_code SI_KERNEL, no address
    and lsb 0; "intent": AR at the new raw page, lsb 12. The first page again is the already
    poisoned path either way; MADV_HWPOISON (which brings its own reference) is handled as a
    new error either way; corrupt-pfn (no reference) is Ignored like a machine check."""
    k, s = kept_setup(setting)
    base, pfn, c = s.base, s.pfn, s.c
    consumer = s.before
    page = base + 3 * PS
    assert k.hw_ue(pfn, detect="latent") == 0
    assert consumer.load(page + 7, 1) == mf.Access(False, None, AR(consumer, page, 12))
    c.expect(
        dmesg=[MCE_LOGGED, mce_user(pfn), sending(pfn, consumer),
               recovery(pfn, "huge page", "Recovered")],
        signals={consumer: [AR(consumer, page, 12)]},
        hc=+4,
        total=+1,
        recovered=+1,
    )  # fmt: skip
    pfn2, page2 = s.head + 127, base + 127 * PS
    assert k.hw_ue(pfn2, detect="latent") == 0
    acc = consumer.load(page2 + 7, 1)
    if setting == "ignored":
        lost = mf.SigInfo(mf.SIGBUS, mf.BusCode.SI_KERNEL, 0, 0, consumer.pid)
        assert (lost.si_code, lost.si_addr, lost.si_addr_lsb) == (0x80, 0, 0)
        assert acc == mf.Access(False, None, lost)
        c.expect(
            dmesg=[MCE_LOGGED, mce_user(pfn2),
                   recovery(pfn2, "get hwpoison page", "Ignored"), NOT_RECOVERED],
            signals={consumer: [lost]},
            hc=+4,
            total=+1,
            ignored=+1,
        )  # fmt: skip
    else:
        assert acc == mf.Access(False, None, AR(consumer, page2, 12))
        c.expect(
            dmesg=[MCE_LOGGED, mce_user(pfn2), sending(pfn2, consumer),
                   recovery(pfn2, "huge page", "Recovered")],
            signals={consumer: [AR(consumer, page2, 12)]},
            hc=+4,
            total=+1,
            recovered=+1,
        )  # fmt: skip
    # the first page again: already poisoned, AR lsb 12, nothing counted
    assert consumer.load(page + 7, 1) == mf.Access(False, None, AR(consumer, page, 12))
    c.expect(
        dmesg=[MCE_LOGGED, mce_user(pfn), sending(pfn, consumer),
               recovery(pfn, "already poisoned page", "Failed")],
        signals={consumer: [AR(consumer, page, 12)]},
    )  # fmt: skip
    # MADV_HWPOISON of a third page: a new error with its own reference, in both settings
    inj, pfn3, page3 = s.inj, s.head + 200, base + 200 * PS
    assert inj.madvise(page3, PS, mf.MADV_HWPOISON) == 0
    c.expect(
        dmesg=[madv_line(pfn3, page3), sending(pfn3, inj),
               recovery(pfn3, "huge page", "Recovered")],
        signals={inj: [AR(inj, page3, 12)]},
        hc=+4,
        total=+1,
        recovered=+1,
    )  # fmt: skip
    pfn4 = s.head + 300
    if setting == "ignored":
        with pytest.raises(OSError) as exc:
            k.corrupt_pfn(pfn4)
        assert exc.value.errno == errno.EBUSY
        c.expect(
            dmesg=[corrupt_line(pfn4), recovery(pfn4, "get hwpoison page", "Ignored")],
            hc=+4,
            total=+1,
            ignored=+1,
        )
    else:
        assert k.corrupt_pfn(pfn4) == 0
        c.expect(
            dmesg=[corrupt_line(pfn4), recovery(pfn4, "huge page", "Recovered")],
            hc=+4,
            total=+1,
            recovered=+1,
        )
    release(s)
    if setting == "ignored":
        c.expect(dmesg=[NOT_DISSOLVED], free=+2)
    else:
        c.expect(nr=-1, free=+1)
