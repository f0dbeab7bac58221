"""Unit tests, module by module, each asserting whole values (docs/kernel.md, docs/api.md)."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

import mfwidgets as mf
from mfwidgets.model import errno
from mfwidgets.model.contents import Contents
from mfwidgets.model.hugetlbfs import hwpoison_safe_bytes, read_plan

PS = mf.PAGE_SIZE
HPS = mf.SZ_2M
RW = mf.PROT_READ | mf.PROT_WRITE
KEEP = mf.MFD_MF_KEEP_UE_MAPPED
POLICIES = pytest.mark.parametrize("keep", [False, True], ids=["stock", "keep"])


def setup(
    keep: bool = False, pages: int = 2, *, pool: int = 8, handle_sigbus: bool = True
) -> tuple[mf.Kernel, mf.Process, int, int]:
    k = mf.Kernel(hugepages={"2M": pool})
    p = k.spawn("app", handle_sigbus=handle_sigbus)
    fd = p.memfd_create("guest", mf.MFD_HUGETLB | (KEEP if keep else 0))
    p.ftruncate(fd, pages * HPS)
    addr = p.mmap(pages * HPS, RW, mf.MAP_SHARED, fd)
    assert p.fill(addr, pages * HPS, 0x5A).ok
    return k, p, fd, addr


def pool(k: mf.Kernel) -> tuple[int, int, int, int, int]:
    m = k.meminfo()
    return (
        m["HugePages_Total"],
        m["HugePages_Free"],
        m["HugePages_Rsvd"],
        m["HugePages_Surp"],
        m["HardwareCorrupted"],
    )


# == contents.Contents ==========================================================================
class TestContents:
    def test_fresh_folio_reads_zero(self):
        c = Contents(512)
        assert c.read(0, 16) == bytes(16)
        assert c.read(HPS - 3, 3) == bytes(3)
        assert c.nr_detailed_pages == 0

    def test_fill_whole(self):
        c = Contents(512)
        c.write(100, b"abc")
        c.fill(0, HPS, 0xAB)
        assert c.read(0, 2 * PS) == b"\xab" * (2 * PS)
        assert c.read(HPS - PS, PS) == b"\xab" * PS
        assert c.nr_detailed_pages == 0

    def test_fill_partial_aligned_stays_sparse(self):
        c = Contents(8)
        c.fill(PS, 2 * PS, 1)
        assert c.read(0, 4 * PS) == bytes(PS) + b"\x01" * (2 * PS) + bytes(PS)
        assert c.nr_detailed_pages == 0

    def test_fill_unaligned(self):
        c = Contents(8)
        c.fill(100, 5000, 7)
        assert c.read(0, 2 * PS) == bytes(100) + b"\x07" * 5000 + bytes(2 * PS - 5100)
        assert c.nr_detailed_pages == 2

    def test_fill_over_detailed_pages_drops_them(self):
        c = Contents(8)
        c.write(PS + 5, b"xyz")
        c.write(3 * PS, b"q")
        assert c.nr_detailed_pages == 2
        c.fill(0, 4 * PS, 9)
        assert c.nr_detailed_pages == 0
        assert c.read(0, 4 * PS) == b"\x09" * (4 * PS)
        assert c.read(4 * PS, PS) == bytes(PS)

    def test_write_and_read_across_subpages(self):
        c = Contents(8, 0x11)
        c.write(PS - 4, b"ABCDEFGH")
        assert c.read(PS - 6, 12) == b"\x11\x11ABCDEFGH\x11\x11"
        assert c.nr_detailed_pages == 2
        c.fill(2 * PS, PS, 0x22)  # a page-fill level next to the detailed pages
        expected = b"ABCDEFGH" + b"\x11" * (PS - 4) + b"\x22" * PS + b"\x11" * 4
        assert c.read(PS - 4, len(expected)) == expected

    def test_zero(self):
        c = Contents(8, 3)
        c.write(10, b"x")
        c.zero()
        assert c.read(0, 8 * PS) == bytes(8 * PS)
        assert c.nr_detailed_pages == 0

    def test_copy_is_independent(self):
        c = Contents(8, 1)
        c.fill(PS, PS, 2)  # page-fill array
        c.write(3 * PS, b"orig")  # detailed page
        d = c.copy()
        d.write(3 * PS, b"COPY")
        d.fill(PS, PS, 9)
        d.fill(5 * PS, 10, 8)
        assert c.read(3 * PS, 4) == b"orig"
        assert c.read(PS, PS) == b"\x02" * PS
        assert c.read(5 * PS, 10) == b"\x01" * 10
        assert d.read(3 * PS, 4) == b"COPY"
        assert d.read(PS, PS) == b"\x09" * PS
        c.write(3 * PS, b"back")
        assert d.read(3 * PS, 4) == b"COPY"

    def test_one_gib_whole_fill_stays_sparse(self):
        n = mf.SZ_1G // PS
        c = Contents(n)
        c.write(12345, b"detail")
        c.fill(0, mf.SZ_1G, 0x5A)
        assert c.nr_detailed_pages == 0
        assert c.first_mismatch(0, mf.SZ_1G, 0x5A) is None
        assert c.first_mismatch(0, mf.SZ_1G, 0x00) == 0
        assert c.read(mf.SZ_1G - 4, 4) == b"ZZZZ"

    # first_mismatch, every branch
    def test_first_mismatch_uniform(self):
        c = Contents(8, 5)
        assert c.first_mismatch(0, 8 * PS, 5) is None
        assert c.first_mismatch(100, 10, 6) == 100
        assert c.first_mismatch(100, 0, 6) is None

    def test_first_mismatch_detailed_pages_that_match(self):
        c = Contents(8, 5)
        c.write(0, b"\x05" * PS)
        c.write(6 * PS + 7, b"\x05\x05")
        assert c.nr_detailed_pages == 2
        assert c.first_mismatch(0, 8 * PS, 5) is None

    def test_first_mismatch_base_differs_skips_matching_detailed_pages(self):
        c = Contents(8, 0)
        c.write(0, b"\x05" * (2 * PS))
        assert c.first_mismatch(0, 8 * PS, 5) == 2 * PS
        assert c.first_mismatch(PS + 8, 8 * PS - PS - 8, 5) == 2 * PS
        # the bad fill page lies past the range: the detailed pages decide (they match)
        assert c.first_mismatch(0, 2 * PS, 5) is None
        assert c.first_mismatch(10, 2 * PS - 10, 5) is None

    def test_first_mismatch_page_fill_array(self):
        c = Contents(8, 0)
        c.fill(PS, PS, 9)
        assert c.first_mismatch(0, 8 * PS, 0) == PS
        assert c.first_mismatch(PS, PS, 9) is None
        assert c.first_mismatch(PS + 10, 100, 9) is None
        assert c.first_mismatch(PS + 10, PS, 9) == 2 * PS
        assert c.first_mismatch(PS + 10, PS, 0) == PS + 10

    def test_first_mismatch_inside_detailed_page(self):
        c = Contents(8, 0)
        c.write(PS + 10, b"\x01")
        assert c.first_mismatch(0, 8 * PS, 0) == PS + 10
        assert c.first_mismatch(PS + 11, 100, 0) is None
        assert c.first_mismatch(PS + 10, 1, 1) is None
        assert c.first_mismatch(PS + 9, 2, 1) == PS + 9

    def test_first_mismatch_fill_page_before_detailed_mismatch(self):
        c = Contents(8, 0)
        c.fill(0, PS, 3)  # page fill, subpage 0
        c.write(2 * PS + 1, b"\x01")  # detailed, subpage 2
        assert c.first_mismatch(0, 8 * PS, 0) == 0
        assert c.first_mismatch(PS, 7 * PS, 0) == 2 * PS + 1

    def test_first_mismatch_detailed_before_fill_page(self):
        c = Contents(8, 0)
        c.fill(4 * PS, PS, 3)
        c.write(PS + 20, b"\x02")
        assert c.first_mismatch(0, 8 * PS, 0) == PS + 20
        assert c.first_mismatch(PS + 21, 7 * PS - 21, 0) == 4 * PS


# == memfd.read_plan / hwpoison_safe_bytes =====================================================
class TestReadPlan:
    @staticmethod
    def make(poison: list[tuple[int, int]], pages: int = 3, allocated: int = 3):
        """A memfd of ``pages`` hugepages, the first ``allocated`` in the page cache, with
        corrupt-pfn on (hugepage, subpage) pairs."""
        k = mf.Kernel(hugepages={"2M": 8})
        p = k.spawn("reader")
        fd = p.memfd_create("r", mf.MFD_HUGETLB)
        p.ftruncate(fd, pages * HPS)
        p.fallocate(fd, mf.FALLOC_FL_KEEP_SIZE, 0, allocated * HPS)
        memfd = k.memfds[-1]
        seen: set[int] = set()
        for index, sub in poison:
            if index in seen:  # stock, E9(b): a new raw page of a poisoned folio: EHWPOISON
                with pytest.raises(OSError) as info:
                    k.corrupt_pfn(memfd.pagecache[index].pfn + sub)
                assert info.value.errno == mf.EHWPOISON
            else:
                assert k.corrupt_pfn(memfd.pagecache[index].pfn + sub) == 0
            seen.add(index)
        return k, p, fd, memfd

    def test_hwpoison_safe_bytes(self):
        _, _, _, memfd = self.make([(0, 3), (0, 7)])
        folio = memfd.pagecache[0]
        assert hwpoison_safe_bytes(folio, 0, HPS) == 3 * PS
        assert hwpoison_safe_bytes(folio, 0, 3 * PS) == 3 * PS  # ends right before it
        assert hwpoison_safe_bytes(folio, 0, 100) == 100
        assert hwpoison_safe_bytes(folio, 3 * PS, 10) == 0
        assert hwpoison_safe_bytes(folio, 3 * PS + 5, 10) == 0
        assert hwpoison_safe_bytes(folio, 4 * PS, HPS - 4 * PS) == 3 * PS
        assert hwpoison_safe_bytes(folio, 8 * PS, HPS - 8 * PS) == HPS - 8 * PS
        assert hwpoison_safe_bytes(memfd.pagecache[1], 0, HPS) == HPS

    def test_read_plan_short_count_and_eio(self):
        _, _, _, memfd = self.make([(0, 3)])
        assert read_plan(memfd, 0, HPS) == ([(0, 0, 3 * PS)], 3 * PS)
        assert read_plan(memfd, 0, 100) == ([(0, 0, 100)], 100)
        assert read_plan(memfd, 3 * PS, 10) == ([], -errno.EIO)
        assert read_plan(memfd, 3 * PS + 1, 10) == ([], -errno.EIO)
        assert read_plan(memfd, 4 * PS, 2 * PS) == ([(0, 4 * PS, 2 * PS)], 2 * PS)

    def test_read_plan_across_hugepages(self):
        _, _, _, memfd = self.make([(1, 0), (2, 5)])
        # healthy k, then raw page 0 of k+1 poisoned: EIO (not a short count)
        assert read_plan(memfd, HPS - PS, 2 * PS) == ([(0, HPS - PS, PS)], -errno.EIO)
        # start after the poisoned page of k+1 and run into k+2 up to its poisoned page 5
        assert read_plan(memfd, HPS + PS, 2 * HPS) == (
            [(1, PS, HPS - PS), (2, 0, 5 * PS)],
            HPS - PS + 5 * PS,
        )

    def test_read_plan_holes_and_eof(self):
        _, _, _, memfd = self.make([], pages=3, allocated=1)
        assert read_plan(memfd, HPS - 4, 8) == ([(0, HPS - 4, 4), (1, 0, 4)], 8)
        assert read_plan(memfd, 3 * HPS, 10) == ([], 0)
        assert read_plan(memfd, 3 * HPS - 4, 10) == ([(2, HPS - 4, 4)], 4)

    def test_pread_uses_the_plan(self):
        _, p, fd, _ = self.make([(0, 3)], pages=2, allocated=2)
        assert p.pread(fd, HPS, 0) == bytes(3 * PS)
        assert p.pread(fd, 8, 2 * HPS - 4) == bytes(4)
        assert p.lseek(fd, 4 * PS) == 4 * PS
        assert len(p.read(fd, 2 * PS)) == 2 * PS
        assert p.lseek(fd, 0, mf.SEEK_CUR) == 6 * PS


# == siginfo ===================================================================================
def test_siginfo_repr():
    assert (
        repr(mf.SigInfo(7, mf.BUS_MCEERR_AR, 0x7F0000020000, 12, 1000))
        == "SIGBUS BUS_MCEERR_AR addr=0x7f0000020000 lsb=12"
    )
    assert (
        repr(mf.SigInfo(7, mf.BUS_MCEERR_AO, 0x7F0000003000, 21, 1))
        == "SIGBUS BUS_MCEERR_AO addr=0x7f0000003000 lsb=21"
    )
    assert repr(mf.SigInfo(7, mf.BUS_ADRERR, 0x7F0000400000, 0, 1)) == (
        "SIGBUS BUS_ADRERR addr=0x7f0000400000"
    )
    assert repr(mf.SigInfo(11, mf.SEGV_MAPERR, 0x10, 0, 1)) == "SIGSEGV SEGV_MAPERR addr=0x10"


def test_siginfo_is_frozen_and_comparable():
    s = mf.SigInfo(7, 4, 0x1000, 12, 5)
    assert s == mf.SigInfo(7, 4, 0x1000, 12, 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.si_addr = 0  # type: ignore[misc]


# == constants =================================================================================
def test_constants_have_api_values():
    assert (mf.PAGE_SIZE, mf.PAGE_SHIFT, mf.SZ_2M, mf.SZ_1G) == (4096, 12, 1 << 21, 1 << 30)
    assert [
        mf.MFD_CLOEXEC,
        mf.MFD_ALLOW_SEALING,
        mf.MFD_HUGETLB,
        mf.MFD_NOEXEC_SEAL,
        mf.MFD_EXEC,
        mf.MFD_MF_KEEP_UE_MAPPED,
    ] == [0x1, 0x2, 0x4, 0x8, 0x10, 0x20]
    assert (mf.MFD_HUGE_SHIFT, mf.MFD_HUGE_2MB, mf.MFD_HUGE_1GB) == (26, 21 << 26, 30 << 26)
    assert (mf.MADV_HWPOISON, mf.MADV_SOFT_OFFLINE) == (100, 101)
    assert (mf.FALLOC_FL_KEEP_SIZE, mf.FALLOC_FL_PUNCH_HOLE) == (1, 2)
    assert (mf.SIGBUS, mf.BUS_ADRERR, mf.BUS_MCEERR_AR, mf.BUS_MCEERR_AO) == (7, 2, 4, 5)
    assert (mf.PROT_READ, mf.PROT_WRITE, mf.MAP_SHARED, mf.MAP_PRIVATE) == (1, 2, 1, 2)
    assert mf.MAP_POPULATE == 0x8000
    assert mf.HUGETLBFS_MAGIC == 0x958458F6
    assert mf.EHWPOISON == 133


def test_constant_reprs_show_kernel_symbols():
    assert "MFD_HUGETLB" in repr(mf.MFD_HUGETLB)
    assert "MFD_MF_KEEP_UE_MAPPED" in repr(mf.MFD_MF_KEEP_UE_MAPPED)
    assert "BUS_MCEERR_AR" in repr(mf.BUS_MCEERR_AR)
    assert "BUS_MCEERR_AO" in repr(mf.BUS_MCEERR_AO)


# == /proc and /sys files ======================================================================
# The kernel's formats: fs/proc/meminfo.c (HardwareCorrupted), hugetlb_report_meminfo().
MEMINFO_FORMATS = (
    "HardwareCorrupted: %5lu kB\n",
    "HugePages_Total:   %5lu\n",
    "HugePages_Free:    %5lu\n",
    "HugePages_Rsvd:    %5lu\n",
    "HugePages_Surp:    %5lu\n",
    "Hugepagesize:   %8lu kB\n",
    "Hugetlb:        %8lu kB\n",
)


def meminfo_text(*values: int) -> str:
    return "".join(
        fmt.replace("lu", "d") % v for fmt, v in zip(MEMINFO_FORMATS, values, strict=True)
    )


def test_proc_meminfo_exact_text_for_fresh_kernel():
    k = mf.Kernel(hugepages={"2M": 8, "1G": 2})
    expected = meminfo_text(0, 8, 8, 0, 0, 2048, 8 * 2048 + 2 * 1048576)
    assert expected.splitlines()[-1] == "Hugetlb:         2113536 kB"
    assert expected.splitlines()[0] == "HardwareCorrupted:     0 kB"
    assert k.cat("/proc/meminfo") == expected
    assert k.meminfo() == {
        "HardwareCorrupted": 0,
        "HugePages_Total": 8,
        "HugePages_Free": 8,
        "HugePages_Rsvd": 0,
        "HugePages_Surp": 0,
        "Hugepagesize": 2048,
        "Hugetlb": 2113536,
    }


def test_proc_meminfo_after_poison_and_reservation():
    k, p, fd, addr = setup(pages=2)
    p.mmap(HPS, RW, mf.MAP_PRIVATE, fd)  # reserves one more page
    k.corrupt_pfn(p.virt_to_pfn(addr + 3 * PS))
    expected = meminfo_text(4, 8, 6, 1, 0, 2048, 8 * 2048)
    assert k.cat("/proc/meminfo") == expected


def test_sysfs_hugepage_files():
    k = mf.Kernel(hugepages={"2M": 8, "1G": 2})
    base2, base1 = (
        "/sys/kernel/mm/hugepages/hugepages-2048kB",
        "/sys/kernel/mm/hugepages/hugepages-1048576kB",
    )
    assert [k.cat(f"{base2}/{f}_hugepages") for f in ("nr", "free", "resv", "surplus")] == [
        "8\n",
        "8\n",
        "0\n",
        "0\n",
    ]
    assert [k.cat(f"{base1}/{f}_hugepages") for f in ("nr", "free", "resv", "surplus")] == [
        "2\n",
        "2\n",
        "0\n",
        "0\n",
    ]
    p = k.spawn("big")
    fd = p.memfd_create("g", mf.MFD_HUGETLB | mf.MFD_HUGE_1GB)
    p.ftruncate(fd, 2 * mf.SZ_1G)
    p.mmap(2 * mf.SZ_1G, RW, mf.MAP_SHARED, fd)
    assert k.cat(f"{base1}/resv_hugepages") == "2\n"
    assert k.cat(f"{base2}/resv_hugepages") == "0\n"
    assert k.hstate("1G") == mf.Hstate(2, 2, 2, 0)


def test_node_memory_failure_files_and_early_kill_sysctl_file():
    k, p, _, addr = setup()
    node = "/sys/devices/system/node/node0/memory_failure"
    fields = ("total", "ignored", "failed", "delayed", "recovered")
    assert [k.cat(f"{node}/{f}") for f in fields] == ["0\n"] * 5
    pfn = p.virt_to_pfn(addr + 3 * PS)
    k.corrupt_pfn(pfn)
    assert [k.cat(f"{node}/{f}") for f in fields] == ["1\n", "0\n", "0\n", "0\n", "1\n"]
    with pytest.raises(OSError) as info:  # stock E9(b): a new raw page: Failed, counted
        k.corrupt_pfn(pfn + 1)
    assert info.value.errno == mf.EHWPOISON
    assert k.dmesg()[-1] == f"Memory failure: {pfn + 1:#x}: recovery action for huge page: Failed"
    assert k.meminfo()["HardwareCorrupted"] == 8
    assert [k.cat(f"{node}/{f}") for f in fields] == ["2\n", "0\n", "1\n", "0\n", "1\n"]
    assert k.cat("/proc/sys/vm/memory_failure_early_kill") == "0\n"
    k.sysctl("vm.memory_failure_early_kill", 1)
    assert k.cat("/proc/sys/vm/memory_failure_early_kill") == "1\n"


# == trace =====================================================================================
def test_trace_seq_tail_filter_dmesg_table():
    k, p, _, addr = setup()
    p.madvise(addr + 3 * PS, PS, mf.MADV_HWPOISON)
    t = k.trace
    events = list(t)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(a.step <= b.step for a, b in itertools.pairwise(events))
    assert t.tail(3) == events[-3:]
    assert t.tail(0) == []
    assert t.tail(10**6) == events
    printk = t.filter(kind=mf.EventKind.PRINTK)
    assert printk == [e for e in events if e.kind is mf.EventKind.PRINTK]
    assert [e.text for e in printk] == k.dmesg() == t.dmesg()
    assert t.filter(kind=mf.EventKind.SIGNAL, pid=p.pid) == [
        e for e in events if e.kind is mf.EventKind.SIGNAL
    ]
    (mfe,) = t.filter(kind=mf.EventKind.MEMORY_FAILURE)
    assert (mfe.mf_type, mfe.mf_result, mfe.subpage) == ("huge page", "Recovered", 3)
    lines = t.table().splitlines()
    assert lines[0] == "| seq | step | kind | pid | pfn | addr | what |"
    assert lines[1] == "|---|---|---|---|---|---|---|"
    assert len(lines) == len(events) + 2
    assert lines[2].startswith("| 1 | ")
    assert t.table(events[-1:]).splitlines()[2].startswith(f"| {events[-1].seq} | ")


def test_trace_events_are_frozen():
    k, _, _, _ = setup()
    e = k.trace[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.seq = 99  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.text = "edited"  # type: ignore[misc]
    with pytest.raises(TypeError):
        k.trace[0] = e  # type: ignore[index]
    assert k.trace[0].seq == 1


# == snapshot ==================================================================================
def test_snapshot_one_folioview_per_hugepage_with_consecutive_pfns():
    k = mf.Kernel(hugepages={"2M": 8, "1G": 2})
    snap = k.snapshot()
    assert len(snap.folios) == 10
    assert sorted(f.size for f in snap.folios) == ["1G"] * 2 + ["2M"] * 8
    assert [f.number for f in snap.folios] == list(range(10))
    for f in snap.folios:
        assert f.nr_pages == {"2M": 512, "1G": 262144}[f.size]
        assert f.state is mf.FolioState.FREE
        assert f.mapped_by == ()
    ordered = sorted(snap.folios, key=lambda f: f.pfn)
    for a, b in itertools.pairwise(ordered):
        assert b.pfn == a.pfn + a.nr_pages if a.size == b.size else b.pfn >= a.pfn + a.nr_pages
    assert snap.hstates == {"2M": mf.Hstate(8, 8, 0, 0), "1G": mf.Hstate(2, 2, 0, 0)}


def test_snapshot_codes_are_immutable_and_exact():
    k, p, _, addr = setup()
    pfn = p.virt_to_pfn(addr + 3 * PS)
    k.corrupt_pfn(pfn)
    snap = k.snapshot()
    f0 = next(f for f in snap.folios if f.pfn == pfn - 3)
    codes = snap.codes(f0.number)
    expected = np.full(512, mf.SubpageState.OFFLINED, dtype=np.uint8)
    expected[3] = mf.SubpageState.HWPOISON_SW
    np.testing.assert_array_equal(codes, expected)
    with pytest.raises(ValueError):
        codes[0] = 0
    with pytest.raises(ValueError):
        codes[:] = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.seq = 0  # type: ignore[misc]
    # a later change does not reach an earlier snapshot
    p.munmap(addr, 2 * HPS)
    assert snap.meminfo["HardwareCorrupted"] == 4
    assert f0.state is mf.FolioState.OFFLINED


def test_snapshot_mapped_by_lists_the_pids():
    k, p, _, addr = setup()
    child = p.fork()
    assert child.load(addr, 1).data == b"\x5a"
    other = k.spawn("other")
    ofd = other.memfd_create("o", mf.MFD_HUGETLB)
    other.fallocate(ofd, 0, 0, HPS)
    snap = k.snapshot()
    by_index = {f.index: f for f in snap.folios if f.memfd == "guest"}
    assert by_index[0].mapped_by == (p.pid, child.pid)
    assert by_index[1].mapped_by == (p.pid,)
    (of,) = [f for f in snap.folios if f.memfd == "o"]
    assert of.mapped_by == ()
    assert of.state is mf.FolioState.IN_USE


# == fork, dup, close, exit (E11, E12) ==========================================================
def test_fork_shares_shared_mappings():
    k, p, _, addr = setup()
    child = p.fork()
    assert p.store(addr + 100, b"hello").ok
    assert child.load(addr + 100, 5).data == b"hello"
    assert child.store(addr + HPS + 7, b"world").ok
    assert p.load(addr + HPS + 7, 5).data == b"world"
    assert pool(k)[:2] == (8, 6)


def test_dup_close_refcounting():
    k = mf.Kernel(hugepages={"2M": 8})
    p = k.spawn("app")
    fd = p.memfd_create("m", mf.MFD_HUGETLB)
    p.fallocate(fd, 0, 0, HPS)
    fd2 = p.dup(fd)
    assert fd2 == fd + 1
    assert pool(k) == (8, 7, 0, 0, 0)
    p.close(fd)
    assert pool(k) == (8, 7, 0, 0, 0)
    assert k.trace.filter(kind=mf.EventKind.RELEASE) == []
    assert p.pread(fd2, 4, 0) == bytes(4)
    p.close(fd2)
    assert pool(k) == (8, 8, 0, 0, 0)
    assert [e.text for e in k.trace.filter(kind=mf.EventKind.RELEASE)] == ["memfd:m released"]


@POLICIES
def test_close_last_fd_while_mapped_releases_nothing_until_munmap(keep):
    k, p, fd, addr = setup(keep)
    p.madvise(addr + 3 * PS, PS, mf.MADV_HWPOISON)
    assert pool(k) == (8, 6, 0, 0, 4)
    p.close(fd)
    assert pool(k) == (8, 6, 0, 0, 4)
    assert k.trace.filter(kind=mf.EventKind.RELEASE) == []
    if keep:  # E11: the poisoned page stays reachable through the mapping
        assert p.load(addr + 3 * PS, 2).data == b"\x5a\x5a"
    assert p.load(addr + HPS, 1).data == b"\x5a"
    p.munmap(addr, 2 * HPS)
    # healthy page back; the poisoned one: stock leaks (Free -1), keep dissolves (Total -1)
    assert pool(k) == ((7, 7, 0, 0, 4) if keep else (8, 7, 0, 0, 4))


def test_exit_releases_its_memfd():
    k = mf.Kernel(hugepages={"2M": 8})
    p = k.spawn("app")
    fd = p.memfd_create("m", mf.MFD_HUGETLB)
    p.fallocate(fd, 0, 0, 2 * HPS)
    p.mmap(HPS, RW, mf.MAP_SHARED, fd, HPS)
    assert pool(k) == (8, 6, 0, 0, 0)
    p.exit()
    assert not p.alive
    assert pool(k) == (8, 8, 0, 0, 0)
    assert k.memfds[-1].released


@POLICIES
def test_process_without_sigbus_handler_dies_and_releases(keep):
    k, p, _, addr = setup(keep, handle_sigbus=False)
    assert p.madvise(addr + 3 * PS, PS, mf.MADV_HWPOISON) == 0
    assert not p.alive
    lsb = 12 if keep else 21
    assert p.signals == [mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AR, addr + 3 * PS, lsb, p.pid)]
    assert k.trace.filter(kind=mf.EventKind.EXIT)[-1].text == f"app:{p.pid} killed by SIGBUS"
    # released: healthy page back to the pool; stock leaks the poisoned one, keep dissolves it
    assert pool(k) == ((7, 7, 0, 0, 4) if keep else (8, 7, 0, 0, 4))


@POLICIES
def test_process_with_sigbus_handler_survives(keep):
    k, p, _, addr = setup(keep, handle_sigbus=True)
    assert p.madvise(addr + 3 * PS, PS, mf.MADV_HWPOISON) == 0
    assert p.alive
    lsb = 12 if keep else 21
    assert p.signals == [mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AR, addr + 3 * PS, lsb, p.pid)]
    assert pool(k) == (8, 6, 0, 0, 4)


# == early kill (E7) ============================================================================
@POLICIES
def test_prctl_early_other_mapper_gets_ao_late_gets_nothing(keep):
    k, p, _, addr = setup(keep)
    early, late = p.fork(), p.fork()
    early.prctl_mce_kill("early")
    late.prctl_mce_kill("late")
    pfn = p.virt_to_pfn(addr + 3 * PS)
    n = len(k.dmesg())
    assert p.madvise(addr + 3 * PS, PS, mf.MADV_HWPOISON) == 0
    lsb = 12 if keep else 21
    assert p.signals == [mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AR, addr + 3 * PS, lsb, p.pid)]
    assert early.signals == [mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AO, addr + 3 * PS, lsb, early.pid)]
    assert late.signals == []
    lines = k.dmesg()[n:]
    assert sorted(line for line in lines if "Sending SIGBUS" in line) == sorted(
        f"Memory failure: {pfn:#x}: Sending SIGBUS to app:{q.pid} due to hardware memory corruption"
        for q in (p, early)
    )
    assert lines[-1] == f"Memory failure: {pfn:#x}: recovery action for huge page: Recovered"


def test_sysctl_early_kill_makes_default_processes_early():
    k, p, _, addr = setup()
    default, late = p.fork(), p.fork()
    late.prctl_mce_kill("late")
    assert k.sysctl("vm.memory_failure_early_kill", 1) == 1
    p.madvise(addr + HPS + 5 * PS, PS, mf.MADV_HWPOISON)
    assert default.signals == [
        mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AO, addr + HPS + 5 * PS, 21, default.pid)
    ]
    assert late.signals == []  # prctl wins over the sysctl


def test_early_kill_policy_is_inherited_by_fork():
    k, p, _, addr = setup()
    p.prctl_mce_kill("early")
    child = p.fork()
    k.corrupt_pfn(p.virt_to_pfn(addr))  # no AR: both are told in advance
    assert p.signals == [mf.SigInfo(7, mf.BUS_MCEERR_AO, addr, 21, p.pid)]
    assert child.signals == [mf.SigInfo(7, mf.BUS_MCEERR_AO, addr, 21, child.pid)]


# == MAP_PRIVATE, MAP_POPULATE, hole punch ======================================================
def test_map_private_store_copies_on_write():
    k = mf.Kernel(hugepages={"2M": 8})
    p = k.spawn("app")
    fd = p.memfd_create("m", mf.MFD_HUGETLB)
    p.ftruncate(fd, HPS)
    shared = p.mmap(HPS, RW, mf.MAP_SHARED, fd)
    p.fill(shared, HPS, 0x11)
    assert pool(k) == (8, 7, 0, 0, 0)
    private = p.mmap(HPS, RW, mf.MAP_PRIVATE, fd)
    assert pool(k) == (8, 7, 1, 0, 0)  # MAP_PRIVATE reserves the range
    assert p.load(private, 1).data == b"\x11"  # read fault maps the page-cache page
    assert pool(k) == (8, 7, 1, 0, 0)
    assert p.store(private + 10, b"\x22").ok
    assert pool(k) == (8, 6, 0, 0, 0)  # the copy used the reservation
    assert len(k.trace.filter(kind=mf.EventKind.COW)) == 1
    assert p.load(private + 9, 3).data == b"\x11\x22\x11"
    assert p.load(shared + 9, 3).data == b"\x11\x11\x11"
    assert p.pread(fd, 3, 9) == b"\x11\x11\x11"
    assert p.virt_to_pfn(private) != p.virt_to_pfn(shared)
    p.munmap(private, HPS)
    assert pool(k) == (8, 7, 0, 0, 0)  # the anonymous copy is freed


def test_map_populate_instantiates_pages_at_mmap_time():
    k = mf.Kernel(hugepages={"2M": 8})
    p = k.spawn("app")
    fd = p.memfd_create("m", mf.MFD_HUGETLB)
    p.ftruncate(fd, 2 * HPS)
    addr = p.mmap(2 * HPS, RW, mf.MAP_SHARED | mf.MAP_POPULATE, fd)
    assert pool(k) == (8, 6, 0, 0, 0)
    memfd = k.memfds[-1]
    assert sorted(memfd.pagecache) == [0, 1]
    assert p.virt_to_pfn(addr) == memfd.pagecache[0].pfn
    assert p.virt_to_pfn(addr + HPS + PS) == memfd.pagecache[1].pfn + 1
    plain = p.mmap(2 * HPS, RW, mf.MAP_SHARED, fd)
    assert p.virt_to_pfn(plain) is None  # not faulted in yet


def test_hole_punch_of_healthy_page_frees_it():
    k, p, fd, addr = setup()
    assert pool(k) == (8, 6, 0, 0, 0)
    p.fallocate(fd, mf.FALLOC_FL_PUNCH_HOLE | mf.FALLOC_FL_KEEP_SIZE, 0, HPS)
    assert pool(k) == (8, 7, 0, 0, 0)
    assert p.pread(fd, 4, 0) == bytes(4)
    assert p.pread(fd, 4, HPS) == b"\x5a" * 4
    # a partial punch zeroes in place and frees nothing
    p.fallocate(fd, mf.FALLOC_FL_PUNCH_HOLE | mf.FALLOC_FL_KEEP_SIZE, HPS + PS, PS)
    assert pool(k) == (8, 7, 0, 0, 0)
    assert p.pread(fd, 3 * PS, HPS) == b"\x5a" * PS + bytes(PS) + b"\x5a" * PS


# == pools =====================================================================================
def test_set_nr_hugepages_shrink_and_grow():
    k = mf.Kernel(hugepages={"2M": 8})
    k.set_nr_hugepages("2M", 4)
    assert k.hstate("2M") == mf.Hstate(4, 4, 0, 0)
    k.set_nr_hugepages("2M", 10)
    assert k.hstate("2M") == mf.Hstate(10, 10, 0, 0)
    assert k.cat("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages") == "10\n"
    assert k.sysctl("vm.nr_hugepages") == 10


def test_set_nr_hugepages_below_in_use_makes_surplus():
    k = mf.Kernel(hugepages={"2M": 8})
    p = k.spawn("app")
    fd = p.memfd_create("m", mf.MFD_HUGETLB)
    p.fallocate(fd, 0, 0, 2 * HPS)
    k.set_nr_hugepages("2M", 0)
    assert k.hstate("2M") == mf.Hstate(2, 0, 0, 2)
    p.close(fd)
    assert k.hstate("2M") == mf.Hstate(0, 0, 0, 0)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"hugepages": {"4M": 1}}, "4M"),
        ({"hugepages": {"2MB": 1}}, "2MB"),
        ({"hugepages": {"2M": -1}}, "-1"),
        ({"hugepages": {"1G": 1.5}}, "1.5"),
        ({"version": "5.10"}, "5.10"),
        ({"version": 7.3}, "7.3"),
    ],
)
def test_kernel_argument_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mf.Kernel(**kwargs)


@pytest.mark.parametrize("version", ["7.3", "6.12", "6.1"])
def test_kernel_accepts_the_modelled_versions(version):
    """docs/api.md: version "7.3" (default), "6.12", "6.1"."""
    k = mf.Kernel(hugepages={"2M": 1}, version=version)
    assert k.version == version == k.behaviour.name
    assert mf.Kernel().version == "7.3"


def test_kernel_refuses_a_version_it_does_not_model():
    with pytest.raises(
        ValueError, match=r"'5\.10' is not modelled; choose one of 7\.3, 6\.12, 6\.1"
    ):
        mf.Kernel(version="5.10")


def test_version_files_and_sysctls():
    """6.1 has neither the node memory_failure/ stats (v6.6) nor vm.enable_soft_offline
    (v6.11): ENOENT, as on the real kernel; soft offline still works there."""
    node = "/sys/devices/system/node/node0/memory_failure/total"
    new, old = mf.Kernel({"2M": 2}, version="6.12"), mf.Kernel({"2M": 2}, version="6.1")
    assert new.cat(node) == "0\n"
    assert new.sysctl("vm.enable_soft_offline") == 1
    for call in (lambda: old.cat(node), lambda: old.sysctl("vm.enable_soft_offline")):
        with pytest.raises(OSError) as exc:
            call()
        assert exc.value.errno == errno.ENOENT
    p = old.spawn("p", handle_sigbus=True)
    fd = p.memfd_create("m", mf.MFD_HUGETLB)
    p.ftruncate(fd, mf.SZ_2M)
    base = p.mmap(mf.SZ_2M, mf.PROT_READ | mf.PROT_WRITE, mf.MAP_SHARED | mf.MAP_POPULATE, fd)
    assert p.madvise(base, mf.PAGE_SIZE, mf.MADV_SOFT_OFFLINE) == 0
    assert old.meminfo()["HardwareCorrupted"] == 4


def test_keep_on_6_1_signals_the_raw_page():
    """PROPOSED: the series on 6.1 (a hypothetical backport) still names the poisoned 4 KiB
    page with lsb 12: it builds on the precise addresses of later kernels."""
    k = mf.Kernel({"2M": 2}, supports_keep_ue_mapped=True, version="6.1")
    p = k.spawn("p", handle_sigbus=True)
    p.prctl_mce_kill("early")
    fd = p.memfd_create("m", mf.MFD_HUGETLB | mf.MFD_MF_KEEP_UE_MAPPED)
    p.ftruncate(fd, mf.SZ_2M)
    base = p.mmap(mf.SZ_2M, mf.PROT_READ | mf.PROT_WRITE, mf.MAP_SHARED | mf.MAP_POPULATE, fd)
    assert p.madvise(base + 5 * mf.PAGE_SIZE, mf.PAGE_SIZE, mf.MADV_HWPOISON) == 0
    assert p.signals == [
        mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AO, base + 5 * mf.PAGE_SIZE, 12, p.pid)
    ]
