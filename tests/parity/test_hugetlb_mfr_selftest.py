"""Parity: a replay of the proposed v3 selftest tools/testing/selftests/mm/hugetlb-mfr.c.

Source: PATCH v3 2/3, 20260203192352.2674184-3-jiaqiyan@google.com ("memfd-based Userspace MFR
Policy for HugeTLB", Jiaqi Yan, 3 Feb 2026). The selftest creates a hugetlb memfd with
MFD_MF_KEEP_UE_MAPPED, maps 4 hugepages MAP_SHARED, fills them with 0xab, injects
``nr_hwp_pages`` MADV_HWPOISON errors into raw pages of hugepage 0 (each one must give a SIGBUS
BUS_MCEERR_AR with si_addr_lsb = PAGE_SHIFT and madvise must succeed), reads every byte back
(software poison leaves the data intact and the page stays mapped), then ftruncate(fd, 0)
and checks that nr_hugepages dropped by exactly one.

Spec: docs/kernel.md A.1, A.3, A.4, E1, E7, E9b, E11, B.1, §C; the stock side follows
docs/kernel.md R3 (6.12/7.3 column), which wins where the two disagree.
"""

from __future__ import annotations

import numpy as np
import pytest

import mfwidgets as mf
from mfwidgets.model import errno

PS = mf.PAGE_SIZE
NR_HUGEPAGES = 4
COMM = "hugetlb-mfr"
NODE = "/sys/devices/system/node/node0/memory_failure/"

# Fixed, distinct raw-page (subpage) numbers inside hugepage 0. The order puts the last subpage
# early so that small nr_hwp_pages already reach the far end of the hugepage.
SIZES = {
    "2M": {
        "pool": {"2M": NR_HUGEPAGES},
        "flags": mf.MFD_HUGETLB | mf.MFD_HUGE_2MB,
        "hps": mf.SZ_2M,
        "shift": 21,
        "subpages": (0, 511, 1, 255, 3, 100, 7, 64),
    },
    "1G": {
        "pool": {"1G": NR_HUGEPAGES},
        "flags": mf.MFD_HUGETLB | mf.MFD_HUGE_1GB,
        "hps": mf.SZ_1G,
        "shift": 30,
        "subpages": (0, 262143, 1, 131072, 3, 511, 7, 100),
    },
}


def counters(k: mf.Kernel, size: str) -> dict[str, int]:
    h = k.hstate(size)
    out = {
        "nr": h.nr_hugepages,
        "free": h.free_hugepages,
        "resv": h.resv_hugepages,
        "surplus": h.surplus_hugepages,
        "HardwareCorrupted": k.meminfo()["HardwareCorrupted"],
    }
    for field in ("total", "ignored", "failed", "delayed", "recovered"):
        out[field] = int(k.cat(NODE + field))
    return out


def sysfs_nr(k: mf.Kernel, size: str) -> int:
    kb = mf.SZ_2M >> 10 if size == "2M" else mf.SZ_1G >> 10
    return int(k.cat(f"/sys/kernel/mm/hugepages/hugepages-{kb}kB/nr_hugepages"))


def folio_view(k: mf.Kernel, head_pfn: int) -> mf.FolioView:
    views = [f for f in k.snapshot().folios if f.pfn == head_pfn]
    assert len(views) == 1
    return views[0]


def expected_codes(nr_pages: int, base: mf.SubpageState, marked, mark: mf.SubpageState):
    out = np.full(nr_pages, int(base), dtype=np.uint8)
    out[list(marked)] = int(mark)
    return out


def setup_memfd(size: str, keep: bool):
    """memfd_create + fstatfs + ftruncate(4 hugepages) + mmap + memset(0xab), as the selftest."""
    cfg = SIZES[size]
    k = mf.Kernel(hugepages=cfg["pool"], supports_keep_ue_mapped=keep)
    p = k.spawn(COMM, handle_sigbus=True)
    flags = cfg["flags"] | (mf.MFD_MF_KEEP_UE_MAPPED if keep else 0)
    fd = p.memfd_create(COMM, flags)
    st = p.fstatfs(fd)
    assert st.f_type == mf.HUGETLBFS_MAGIC == 0x958458F6
    assert st.f_bsize == cfg["hps"]
    length = NR_HUGEPAGES * cfg["hps"]
    p.ftruncate(fd, length)
    addr = p.mmap(length, mf.PROT_READ | mf.PROT_WRITE, mf.MAP_SHARED, fd, 0)
    assert addr % cfg["hps"] == 0
    assert p.fill(addr, length, 0xAB) == mf.Access(True, None, None, None)
    c = counters(k, size)
    assert (c["nr"], c["free"], c["resv"], c["surplus"]) == (NR_HUGEPAGES, 0, 0, 0)
    assert (c["HardwareCorrupted"], c["total"], c["recovered"]) == (0, 0, 0)
    assert p.signals == []
    return k, p, fd, addr, length


def inject_lines(pid: int, pfn: int, va: int) -> list[str]:
    return [
        f"Injecting memory failure for pfn {pfn:#x} at process virtual address {va:#x}",
        f"Memory failure: {pfn:#x}: Sending SIGBUS to {COMM}:{pid} due to hardware memory "
        "corruption",
        f"Memory failure: {pfn:#x}: recovery action for huge page: Recovered",
    ]


# -- the proposed policy: the v3 selftest -------------------------------------------------------
@pytest.mark.parametrize("nr_hwp_pages", range(1, 9))
@pytest.mark.parametrize("size", ["2M", "1G"])
def test_keep_ue_mapped_selftest(size: str, nr_hwp_pages: int) -> None:
    cfg = SIZES[size]
    nr_pages = cfg["hps"] // PS
    k, p, fd, addr, length = setup_memfd(size, keep=True)
    nr_before = sysfs_nr(k, size)
    assert nr_before == NR_HUGEPAGES
    head_pfn = p.virt_to_pfn(addr)
    assert head_pfn is not None and head_pfn % nr_pages == 0
    subpages = cfg["subpages"][:nr_hwp_pages]
    assert len(set(subpages)) == nr_hwp_pages and max(subpages) < nr_pages

    before = counters(k, size)
    for i, sp in enumerate(subpages, start=1):
        va = addr + sp * PS
        pfn = p.virt_to_pfn(va)  # computed before injecting, as /proc/self/pagemap
        assert pfn == head_pfn + sp
        nsig, nlog = len(p.signals), len(k.dmesg())
        assert p.madvise(va, PS, mf.MADV_HWPOISON) == 0
        assert p.signals[nsig:] == [mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AR, va, 12, p.pid)]
        assert k.dmesg()[nlog:] == inject_lines(p.pid, pfn, va)
        assert counters(k, size) == {
            **before,
            "HardwareCorrupted": before["HardwareCorrupted"] + 4 * i,
            "total": before["total"] + i,
            "recovered": before["recovered"] + i,
        }
        assert p.alive

    view = folio_view(k, head_pfn)
    assert view.state is mf.FolioState.KEPT
    assert view.raw_hwp == frozenset(subpages)
    np.testing.assert_array_equal(
        view.codes(),
        expected_codes(nr_pages, mf.SubpageState.IN_USE, subpages, mf.SubpageState.HWPOISON_SW),
    )

    # The selftest's check loop: every byte, poisoned raw pages included, still reads 0xab.
    nsig, nlog = len(p.signals), len(k.dmesg())
    assert p.verify(addr, length, 0xAB) == mf.Access(True, None, None, None)
    assert len(p.signals) == nsig and len(k.dmesg()) == nlog
    after_inject = counters(k, size)
    assert (after_inject["nr"], after_inject["free"]) == (NR_HUGEPAGES, 0)
    assert sysfs_nr(k, size) == nr_before

    # ftruncate(fd, 0) is what triggers the deferred offline (E11 / A.4 item 9).
    nlog = len(k.dmesg())
    p.ftruncate(fd, 0)
    assert k.dmesg()[nlog:] == []  # v3 logs nothing on a successful dissolve
    assert sysfs_nr(k, size) == nr_before - 1
    assert counters(k, size) == {**after_inject, "nr": NR_HUGEPAGES - 1, "free": NR_HUGEPAGES - 1}
    view = folio_view(k, head_pfn)
    assert view.state is mf.FolioState.DISSOLVED
    assert view.isolated == frozenset(subpages)
    np.testing.assert_array_equal(
        view.codes(),
        expected_codes(nr_pages, mf.SubpageState.DISSOLVED, subpages, mf.SubpageState.ISOLATED),
    )

    p.munmap(addr, length)
    p.close(fd)
    assert sysfs_nr(k, size) == nr_before - 1
    assert counters(k, size) == {**after_inject, "nr": NR_HUGEPAGES - 1, "free": NR_HUGEPAGES - 1}
    assert k.hstate(size) == mf.Hstate(NR_HUGEPAGES - 1, NR_HUGEPAGES - 1, 0, 0)
    assert len(p.signals) == nr_hwp_pages
    assert p.alive


# -- the same scenario on a stock kernel --------------------------------------------------------
@pytest.mark.parametrize("size", ["2M", "1G"])
def test_stock_same_scenario(size: str) -> None:
    cfg = SIZES[size]
    hps, shift, nr_pages = cfg["hps"], cfg["shift"], cfg["hps"] // PS
    k, p, fd, addr, length = setup_memfd(size, keep=False)
    nr_before = sysfs_nr(k, size)
    head_pfn = p.virt_to_pfn(addr)
    assert head_pfn is not None
    first, second = cfg["subpages"][1], cfg["subpages"][4]

    # First MADV_HWPOISON: same as keep except si_addr_lsb = the hugepage shift (E7 stock).
    before = counters(k, size)
    va = addr + first * PS
    pfn = p.virt_to_pfn(va)
    assert pfn == head_pfn + first
    assert p.madvise(va, PS, mf.MADV_HWPOISON) == 0
    assert p.signals == [mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AR, va, shift, p.pid)]
    assert k.dmesg()[-3:] == inject_lines(p.pid, pfn, va)
    after_first = counters(k, size)
    assert after_first == {
        **before,
        "HardwareCorrupted": before["HardwareCorrupted"] + 4,
        "total": before["total"] + 1,
        "recovered": before["recovered"] + 1,
    }
    view = folio_view(k, head_pfn)
    assert view.state is mf.FolioState.OFFLINED
    np.testing.assert_array_equal(
        view.codes(),
        expected_codes(nr_pages, mf.SubpageState.OFFLINED, [first], mf.SubpageState.HWPOISON_SW),
    )
    assert p.virt_to_pfn(addr) is None  # the hugepage is unmapped (pagemap: not present)

    # Second MADV_HWPOISON on another raw page of hugepage 0: GUP fails, EFAULT (docs/kernel.md R3).
    nlog = len(k.dmesg())
    with pytest.raises(OSError) as exc:
        p.madvise(addr + second * PS, PS, mf.MADV_HWPOISON)
    assert exc.value.errno == errno.EFAULT
    assert k.dmesg()[nlog:] == []
    assert counters(k, size) == after_first
    assert len(p.signals) == 1

    # Every byte of hugepage 0 faults: AR at the exact byte, lsb = hugepage shift (E4).
    for off in (0, first * PS, first * PS + 123, second * PS + 1, hps // 2 + 7, hps - 1):
        nsig, nlog = len(p.signals), len(k.dmesg())
        sig = mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AR, addr + off, shift, p.pid)
        assert p.load(addr + off) == mf.Access(False, None, sig, None)
        assert p.signals[nsig:] == [sig]
        assert k.dmesg()[nlog:] == [
            f"MCE: Killing {COMM}:{p.pid} due to hardware memory corruption fault at {addr + off:x}"
        ]
    sig = mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AR, addr, shift, p.pid)
    assert p.verify(addr, hps, 0xAB) == mf.Access(False, None, sig, None)
    assert counters(k, size) == after_first
    # Hugepages 1..3 are untouched.
    nsig = len(p.signals)
    assert p.verify(addr + hps, length - hps, 0xAB) == mf.Access(True, None, None, None)
    assert len(p.signals) == nsig

    # ftruncate(0): the poisoned hugepage is leaked (E2/E11 stock; docs/kernel.md R3 close row).
    nlog = len(k.dmesg())
    p.ftruncate(fd, 0)
    assert k.dmesg()[nlog:] == []
    assert sysfs_nr(k, size) == nr_before
    leaked = {**after_first, "free": NR_HUGEPAGES - 1}
    assert counters(k, size) == leaked
    view = folio_view(k, head_pfn)
    assert view.state is mf.FolioState.LEAKED
    np.testing.assert_array_equal(
        view.codes(),
        expected_codes(nr_pages, mf.SubpageState.LEAKED, [first], mf.SubpageState.HWPOISON_SW),
    )
    p.munmap(addr, length)
    p.close(fd)
    assert counters(k, size) == leaked
    assert k.hstate(size) == mf.Hstate(NR_HUGEPAGES, NR_HUGEPAGES - 1, 0, 0)
    assert p.alive


def _policy_outcome(keep: bool) -> tuple[frozenset[int], int, int]:
    """(si_addr_lsb values seen, 4 KiB pages of hugepage 0 that verify, nr after ftruncate 0)."""
    k, p, fd, addr, length = setup_memfd("2M", keep=keep)
    assert p.madvise(addr + 3 * PS, PS, mf.MADV_HWPOISON) == 0
    usable = sum(p.verify(addr + i * PS, PS, 0xAB).ok for i in range(mf.SZ_2M // PS))
    p.ftruncate(fd, 0)
    return frozenset(s.si_addr_lsb for s in p.signals), usable, k.hstate("2M").nr_hugepages


def test_what_differs_between_policies() -> None:
    table = {"keep": _policy_outcome(keep=True), "stock": _policy_outcome(keep=False)}
    assert table == {
        "keep": (frozenset({12}), 512, NR_HUGEPAGES - 1),
        "stock": (frozenset({21}), 0, NR_HUGEPAGES),
    }


# -- probing for the series ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "flags",
    [
        mf.MFD_HUGETLB | mf.MFD_MF_KEEP_UE_MAPPED,
        mf.MFD_HUGETLB | mf.MFD_HUGE_2MB | mf.MFD_MF_KEEP_UE_MAPPED,
        mf.MFD_HUGETLB | mf.MFD_HUGE_1GB | mf.MFD_MF_KEEP_UE_MAPPED,
    ],
)
def test_stock_kernel_rejects_keep_flag(flags: int) -> None:
    k = mf.Kernel(hugepages={"2M": 4, "1G": 1}, supports_keep_ue_mapped=False)
    p = k.spawn(COMM, handle_sigbus=True)
    fds_before = dict(p.fds)
    trace_len = len(k.trace)
    with pytest.raises(OSError) as exc:
        p.memfd_create(COMM, flags)
    assert exc.value.errno == errno.EINVAL
    assert "MFD_MF_KEEP_UE_MAPPED" in str(exc.value)
    assert p.fds == fds_before == {}
    assert len(k.trace) == trace_len
    # The fd table really is untouched: the next memfd gets the lowest fd.
    assert p.memfd_create(COMM, flags & ~mf.MFD_MF_KEEP_UE_MAPPED) == 3


def test_keep_flag_requires_hugetlb() -> None:
    k = mf.Kernel(hugepages={"2M": 4}, supports_keep_ue_mapped=True)
    p = k.spawn(COMM, handle_sigbus=True)
    trace_len = len(k.trace)
    with pytest.raises(OSError) as exc:
        p.memfd_create(COMM, mf.MFD_MF_KEEP_UE_MAPPED)
    assert exc.value.errno == errno.EINVAL
    assert "MFD_MF_KEEP_UE_MAPPED" in str(exc.value)
    assert p.fds == {}
    assert len(k.trace) == trace_len
