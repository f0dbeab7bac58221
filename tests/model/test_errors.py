"""Every error row of docs/kernel.md §C the model can express (plus the E2, E10, E13, E14
details behind them), each asserting the exact errno, that the message names the call, and
that the failed call changed no state (docs/api.md "Errors")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import mfwidgets as mf
from mfwidgets.model import errno

PS = mf.PAGE_SIZE
HPS = mf.SZ_2M
RW = mf.PROT_READ | mf.PROT_WRITE
KEEP = mf.MFD_MF_KEEP_UE_MAPPED


# -- helpers ------------------------------------------------------------------------------------
def fingerprint(k: mf.Kernel) -> dict[str, Any]:
    """A deep, comparable summary of everything a failed call must leave alone."""
    snap = k.snapshot()
    return {
        "trace_len": len(k.trace),
        "meminfo": k.meminfo(),
        "hstates": {size: k.hstate(size) for size in ("2M", "1G")},
        "mf_stats": {
            f: getattr(k.mf_stats, f)
            for f in ("total", "ignored", "failed", "delayed", "recovered")
        },
        "sysctls": {
            name: k.sysctl(name)
            for name in (
                "vm.memory_failure_early_kill",
                "vm.memory_failure_recovery",
                "vm.enable_soft_offline",
            )
        }
        if not k.panicked
        else None,
        "processes": [
            (
                p.pid,
                p.alive,
                len(p.signals),
                tuple(p.signals),
                p.mce_kill,
                tuple(sorted(p.fds)),
                tuple((fd, p.fds[fd].pos) for fd in sorted(p.fds)),
                [
                    (
                        v.start,
                        v.end,
                        tuple(sorted(v.ptes)),
                        tuple(sorted((i, pte.hwpoison) for i, pte in v.ptes.items())),
                    )
                    for v in p.vmas
                ],
            )
            for p in k.processes
        ],
        "memfds": [
            (
                m.i_size,
                tuple(sorted(m.pagecache)),
                tuple(sorted(m.reserved)),
                m.seals,
                m.refs,
                m.released,
            )
            for m in k.memfds
        ],
        "folios": [
            (
                f.number,
                f.state,
                f.memfd,
                f.index,
                f.anon,
                f.mapped_by,
                f.raw_hwp,
                f.bad,
                f.isolated,
            )
            for f in snap.folios
        ],
    }


def _errname(err: int) -> str:
    return errno.errorcode[err]


def assert_fails(
    k: mf.Kernel,
    fn: Callable[[], object],
    err: int,
    call: str,
    *,
    exc: type[BaseException] = OSError,
    same_trace: bool = True,
) -> OSError:
    """``fn()`` raises ``exc`` with ``.errno == err``, a message "<ERRNAME>: <call>: ...", and
    leaves the fingerprint as it was (the trace too, unless ``same_trace`` is False)."""
    before = fingerprint(k)
    with pytest.raises(exc) as info:
        fn()
    e = info.value
    assert isinstance(e, OSError)
    assert e.errno == err, f"errno {e.errno} != {err}: {e}"
    assert str(e).startswith(f"{_errname(err)}: {call}: "), str(e)
    after = fingerprint(k)
    if not same_trace:
        before.pop("trace_len")
        after.pop("trace_len")
    assert after == before
    return e


def dmesg_since(k: mf.Kernel, n: int) -> list[str]:
    return k.dmesg()[n:]


def mapped_memfd(
    keep: bool = False,
    *,
    pages: int = 2,
    pool: int = 8,
    handle_sigbus: bool = True,
    cap_sys_admin: bool = True,
) -> tuple[mf.Kernel, mf.Process, int, int]:
    """A kernel, a process with a 2-hugepage memfd mapped shared and filled with 0x5a."""
    k = mf.Kernel(hugepages={"2M": pool})
    p = k.spawn("app", handle_sigbus=handle_sigbus, cap_sys_admin=cap_sys_admin)
    flags = mf.MFD_HUGETLB | (KEEP if keep else 0)
    fd = p.memfd_create("guest", flags)
    p.ftruncate(fd, pages * HPS)
    addr = p.mmap(pages * HPS, RW, mf.MAP_SHARED, fd)
    assert p.fill(addr, pages * HPS, 0x5A).ok
    return k, p, fd, addr


def sealable(pages: int = 2) -> tuple[mf.Kernel, mf.Process, int]:
    k = mf.Kernel(hugepages={"2M": 8})
    p = k.spawn("sealer")
    fd = p.memfd_create("sealed", mf.MFD_HUGETLB | mf.MFD_ALLOW_SEALING)
    p.ftruncate(fd, pages * HPS)
    return k, p, fd


POLICIES = pytest.mark.parametrize("keep", [False, True], ids=["stock", "keep"])


# -- memfd_create (E1, §C rows 1-5) -------------------------------------------------------------
@pytest.fixture(params=[True, False], ids=["with-series", "without-series"])
def kp(request: pytest.FixtureRequest) -> tuple[mf.Kernel, mf.Process]:
    """A kernel with and without the proposed series: the flag checks must hold on both."""
    k = mf.Kernel(hugepages={"2M": 8, "1G": 1}, supports_keep_ue_mapped=request.param)
    return k, k.spawn("creator")


@pytest.mark.parametrize(
    "flags", [KEEP, KEEP | mf.MFD_CLOEXEC, KEEP | mf.MFD_ALLOW_SEALING], ids=hex
)
def test_memfd_create_keep_without_hugetlb_is_einval(kp, flags):
    k, p = kp
    assert_fails(k, lambda: p.memfd_create("x", flags), errno.EINVAL, "memfd_create")


@pytest.mark.parametrize(
    "flags",
    [KEEP | mf.MFD_HUGETLB, KEEP | mf.MFD_HUGETLB | mf.MFD_HUGE_2MB, KEEP],
    ids=hex,
)
def test_memfd_create_keep_on_kernel_without_series_is_einval(flags):
    k = mf.Kernel(hugepages={"2M": 8}, supports_keep_ue_mapped=False)
    p = k.spawn("probe")
    assert_fails(k, lambda: p.memfd_create("x", flags), errno.EINVAL, "memfd_create")


def test_memfd_create_keep_with_hugetlb_succeeds_on_kernel_with_series():
    k = mf.Kernel(hugepages={"2M": 8})
    p = k.spawn("creator")
    fd = p.memfd_create("x", KEEP | mf.MFD_HUGETLB)
    assert fd == 3
    assert k.memfds[-1].keep_ue_mapped is True
    assert p.fstatfs(fd) == mf.StatFs(mf.HUGETLBFS_MAGIC, HPS)


@pytest.mark.parametrize(
    "flags",
    [0x40 | mf.MFD_HUGETLB, 0x80, 0x40, 0x80 | mf.MFD_HUGETLB, 1 << 31],
    ids=hex,
)
def test_memfd_create_unknown_flag_bits_are_einval(kp, flags):
    k, p = kp
    assert_fails(k, lambda: p.memfd_create("x", flags), errno.EINVAL, "memfd_create")


@pytest.mark.parametrize(
    "flags",
    [mf.MFD_EXEC | mf.MFD_NOEXEC_SEAL, mf.MFD_EXEC | mf.MFD_NOEXEC_SEAL | mf.MFD_HUGETLB],
    ids=hex,
)
def test_memfd_create_exec_with_noexec_seal_is_einval(kp, flags):
    k, p = kp
    assert_fails(k, lambda: p.memfd_create("x", flags), errno.EINVAL, "memfd_create")


@pytest.mark.parametrize("name", ["n" * 250, "é" * 125, "n" * 4096], ids=["250", "250utf8", "4096"])
def test_memfd_create_name_longer_than_249_bytes_is_einval(kp, name):
    k, p = kp
    assert_fails(k, lambda: p.memfd_create(name, mf.MFD_HUGETLB), errno.EINVAL, "memfd_create")


def test_memfd_create_name_of_249_bytes_is_ok(kp):
    k, p = kp
    assert p.memfd_create("n" * 249, mf.MFD_HUGETLB) == 3
    assert p.memfd_create("é" * 124 + "n", mf.MFD_HUGETLB) == 4  # 249 bytes


def test_memfd_create_null_name_is_efault(kp):
    k, p = kp
    assert_fails(k, lambda: p.memfd_create(None, mf.MFD_HUGETLB), errno.EFAULT, "memfd_create")


@pytest.mark.parametrize("shift", [16, 12, 25, 29, 31, 63])
def test_memfd_create_unsupported_huge_size_is_enodev(kp, shift):
    k, p = kp
    flags = mf.MFD_HUGETLB | (shift << mf.MFD_HUGE_SHIFT)
    assert_fails(k, lambda: p.memfd_create("x", flags), errno.ENODEV, "memfd_create")


@pytest.mark.parametrize(
    "flags",
    [mf.MFD_HUGE_2MB, mf.MFD_HUGE_1GB, 16 << mf.MFD_HUGE_SHIFT, mf.MFD_HUGE_2MB | mf.MFD_CLOEXEC],
    ids=hex,
)
def test_memfd_create_size_without_hugetlb_is_einval(kp, flags):
    k, p = kp
    assert_fails(k, lambda: p.memfd_create("x", flags), errno.EINVAL, "memfd_create")


@pytest.mark.parametrize("version", ["7.3", "6.12"])
@pytest.mark.parametrize("flag", [mf.MFD_NOEXEC_SEAL, mf.MFD_EXEC], ids=["NOEXEC_SEAL", "EXEC"])
def test_memfd_create_exec_flags_with_hugetlb_succeed_on_6_12_and_7_3(version, flag):
    """docs/kernel.md R3: MFD_NOEXEC_SEAL|MFD_HUGETLB and MFD_EXEC|MFD_HUGETLB give an fd."""
    k = mf.Kernel(hugepages={"2M": 8}, version=version)
    p = k.spawn("probe")
    fd = p.memfd_create("x", flag | mf.MFD_HUGETLB)
    assert fd == 3
    assert p.fstatfs(fd) == mf.StatFs(mf.HUGETLBFS_MAGIC, HPS)


# -- ftruncate / fallocate / fcntl (E2) ---------------------------------------------------------
@pytest.mark.parametrize("length", [PS, HPS + PS, HPS // 2, 3 * HPS - 1])
def test_ftruncate_not_multiple_of_hugepage_size_is_einval(length):
    k, p, fd, _ = mapped_memfd()
    assert_fails(k, lambda: p.ftruncate(fd, length), errno.EINVAL, "ftruncate")


@pytest.mark.parametrize("length", [-1, -HPS])
def test_ftruncate_negative_is_einval(length):
    k, p, fd, _ = mapped_memfd()
    assert_fails(k, lambda: p.ftruncate(fd, length), errno.EINVAL, "ftruncate")


def test_ftruncate_shrink_with_f_seal_shrink_is_eperm():
    k, p, fd = sealable()
    p.fallocate(fd, 0, 0, 2 * HPS)
    p.fcntl_add_seals(fd, mf.F_SEAL_SHRINK)
    assert_fails(k, lambda: p.ftruncate(fd, HPS), errno.EPERM, "ftruncate")
    assert_fails(k, lambda: p.ftruncate(fd, 0), errno.EPERM, "ftruncate")
    p.ftruncate(fd, 3 * HPS)  # growing is still allowed


def test_ftruncate_grow_with_f_seal_grow_is_eperm():
    k, p, fd = sealable()
    p.fcntl_add_seals(fd, mf.F_SEAL_GROW)
    assert_fails(k, lambda: p.ftruncate(fd, 3 * HPS), errno.EPERM, "ftruncate")
    p.ftruncate(fd, HPS)  # shrinking is still allowed


def test_fcntl_add_seals_without_allow_sealing_is_eperm():
    k, p, fd, _ = mapped_memfd()
    assert_fails(k, lambda: p.fcntl_add_seals(fd, mf.F_SEAL_GROW), errno.EPERM, "fcntl")


@pytest.mark.parametrize("mode", [0x8, 0x4, 0x10, 0x20, 0x40, 0x8 | mf.FALLOC_FL_KEEP_SIZE])
def test_fallocate_unsupported_mode_is_eopnotsupp(mode):
    k, p, fd, _ = mapped_memfd()
    assert_fails(k, lambda: p.fallocate(fd, mode, 0, HPS), errno.EOPNOTSUPP, "fallocate")


def test_fallocate_punch_hole_without_keep_size_is_eopnotsupp():
    k, p, fd, _ = mapped_memfd()
    punch = mf.FALLOC_FL_PUNCH_HOLE
    assert_fails(k, lambda: p.fallocate(fd, punch, 0, HPS), errno.EOPNOTSUPP, "fallocate")


def test_fallocate_punch_hole_with_f_seal_write_is_eperm():
    k, p, fd = sealable()
    p.fallocate(fd, 0, 0, 2 * HPS)
    p.fcntl_add_seals(fd, mf.F_SEAL_WRITE)
    mode = mf.FALLOC_FL_PUNCH_HOLE | mf.FALLOC_FL_KEEP_SIZE
    assert_fails(k, lambda: p.fallocate(fd, mode, 0, HPS), errno.EPERM, "fallocate")
    assert_fails(k, lambda: p.fallocate(fd, mode, PS, PS), errno.EPERM, "fallocate")


@pytest.mark.parametrize("mode", [0, mf.FALLOC_FL_KEEP_SIZE], ids=["0", "KEEP_SIZE"])
def test_fallocate_beyond_eof_with_f_seal_grow_is_eperm(mode):
    """§C "ftruncate / fallocate | sealed (GROW) | EPERM"; hugetlbfs_fallocate() checks
    F_SEAL_GROW against offset + len > i_size before looking at FALLOC_FL_KEEP_SIZE."""
    k, p, fd = sealable(pages=1)
    p.fcntl_add_seals(fd, mf.F_SEAL_GROW)
    assert_fails(k, lambda: p.fallocate(fd, mode, 0, 2 * HPS), errno.EPERM, "fallocate")


def test_fallocate_not_enough_hugepages_is_enospc():
    k = mf.Kernel(hugepages={"2M": 2})
    p = k.spawn("greedy")
    fd = p.memfd_create("x", mf.MFD_HUGETLB)
    assert_fails(k, lambda: p.fallocate(fd, 0, 0, 3 * HPS), errno.ENOSPC, "fallocate")
    p.fallocate(fd, 0, 0, HPS)
    assert_fails(k, lambda: p.fallocate(fd, 0, 0, 4 * HPS), errno.ENOSPC, "fallocate")


# -- mmap / munmap (E3, E10) --------------------------------------------------------------------
@pytest.mark.parametrize("offset", [PS, HPS // 2, HPS + PS, -HPS])
def test_mmap_offset_not_hugepage_aligned_is_einval(offset):
    k, p, fd, _ = mapped_memfd()
    assert_fails(k, lambda: p.mmap(HPS, RW, mf.MAP_SHARED, fd, offset), errno.EINVAL, "mmap")


def test_mmap_length_zero_is_einval():
    k, p, fd, _ = mapped_memfd()
    assert_fails(k, lambda: p.mmap(0, RW, mf.MAP_SHARED, fd), errno.EINVAL, "mmap")


@pytest.mark.parametrize(
    "flags",
    [0, mf.MAP_SHARED | mf.MAP_PRIVATE, mf.MAP_POPULATE],
    ids=["neither", "both", "populate-only"],
)
def test_mmap_needs_exactly_one_of_shared_and_private(flags):
    k, p, fd, _ = mapped_memfd()
    assert_fails(k, lambda: p.mmap(HPS, RW, flags, fd), errno.EINVAL, "mmap")


@pytest.mark.parametrize("flags", [mf.MAP_SHARED, mf.MAP_PRIVATE], ids=["shared", "private"])
def test_mmap_not_enough_hugepages_to_reserve_is_enomem(flags):
    k = mf.Kernel(hugepages={"2M": 2})
    p = k.spawn("greedy")
    fd = p.memfd_create("x", mf.MFD_HUGETLB)
    p.ftruncate(fd, 4 * HPS)
    assert_fails(k, lambda: p.mmap(3 * HPS, RW, flags, fd), errno.ENOMEM, "mmap")


def test_mmap_shared_writable_of_write_sealed_memfd_is_eperm():
    k, p, fd = sealable()
    p.fcntl_add_seals(fd, mf.F_SEAL_WRITE)
    assert_fails(k, lambda: p.mmap(HPS, RW, mf.MAP_SHARED, fd), errno.EPERM, "mmap")


@pytest.mark.parametrize(
    "offset,length",
    [(0, 0), (PS, HPS), (0, PS), (HPS, HPS // 2), (1, HPS)],
    ids=["len0", "start-mid", "len-4k", "end-mid", "unaligned"],
)
def test_munmap_not_hugepage_aligned_is_einval(offset, length):
    k, p, _, addr = mapped_memfd()
    assert_fails(k, lambda: p.munmap(addr + offset, length), errno.EINVAL, "munmap")


# -- write / read (E6) --------------------------------------------------------------------------
def test_write_and_pwrite_on_hugetlbfs_are_einval():
    k, p, fd, _ = mapped_memfd()
    assert_fails(k, lambda: p.write(fd, b"x"), errno.EINVAL, "write")
    assert_fails(k, lambda: p.pwrite(fd, b"x", 0), errno.EINVAL, "pwrite")
    assert_fails(k, lambda: p.write(fd, b""), errno.EINVAL, "write")


def _poison(p: mf.Process, addr: int) -> int:
    pfn = p.virt_to_pfn(addr)
    assert pfn is not None
    assert p.madvise(addr, PS, mf.MADV_HWPOISON) == 0
    return pfn


@POLICIES
@pytest.mark.parametrize(
    "offset,count",
    [(3 * PS, 1), (3 * PS, HPS), (3 * PS + 100, 10), (4 * PS - 1, 1)],
    ids=["start", "long", "middle", "last-byte"],
)
def test_pread_inside_poisoned_raw_page_is_eio(keep, offset, count):
    k, p, fd, addr = mapped_memfd(keep)
    _poison(p, addr + 3 * PS)
    assert_fails(k, lambda: p.pread(fd, count, offset), errno.EIO, "pread")


@POLICIES
def test_read_inside_poisoned_raw_page_is_eio_and_keeps_position(keep):
    """docs/kernel.md R5.1: an EIO read() leaves the file position where it was."""
    k, p, fd, addr = mapped_memfd(keep)
    _poison(p, addr + 3 * PS)
    assert p.lseek(fd, 3 * PS + 8) == 3 * PS + 8
    assert_fails(k, lambda: p.read(fd, 100), errno.EIO, "read")
    assert p.lseek(fd, 0, mf.SEEK_CUR) == 3 * PS + 8


@POLICIES
def test_pread_into_next_hugepage_poisoned_at_continuation_is_eio(keep):
    """E6 edge case (docs/kernel.md R3): healthy hugepage k, then raw page 0 of k+1 poisoned."""
    k, p, fd, addr = mapped_memfd(keep)
    _poison(p, addr + HPS)
    assert_fails(k, lambda: p.pread(fd, 2 * PS, HPS - PS), errno.EIO, "pread")


# -- madvise (E7, E9, E14) ----------------------------------------------------------------------
@pytest.mark.parametrize("advice", [mf.MADV_HWPOISON, mf.MADV_SOFT_OFFLINE])
def test_madvise_without_cap_sys_admin_is_eperm(advice):
    k, p, _, addr = mapped_memfd(cap_sys_admin=False)
    assert_fails(k, lambda: p.madvise(addr, PS, advice), errno.EPERM, "madvise")


@pytest.mark.parametrize("advice", [mf.MADV_HWPOISON, mf.MADV_SOFT_OFFLINE])
@pytest.mark.parametrize("delta", [1, 100, PS - 1, PS + 8])
def test_madvise_start_not_page_aligned_is_einval(advice, delta):
    k, p, _, addr = mapped_memfd()
    assert_fails(k, lambda: p.madvise(addr + delta, PS, advice), errno.EINVAL, "madvise")


@pytest.mark.parametrize("advice", [mf.MADV_HWPOISON, mf.MADV_SOFT_OFFLINE])
@pytest.mark.parametrize("where", ["low", "after-vma", "guard-gap"])
def test_madvise_unmapped_address_is_efault(advice, where):
    k, p, _, addr = mapped_memfd()
    target = {"low": 0x10000000, "after-vma": addr + 2 * HPS, "guard-gap": addr + 2 * HPS + PS}
    assert_fails(k, lambda: p.madvise(target[where], PS, advice), errno.EFAULT, "madvise")


@pytest.mark.parametrize("sub", [3, 0, 4, 511], ids=["same", "head", "next", "last"])
def test_madvise_stock_on_hard_offlined_hugepage_is_efault(sub):
    """E9(a) stock + MADV: GUP fails: EFAULT, no memory_failure(), no dmesg, no counter
    change (docs/kernel.md R3 "second MADV_HWPOISON")."""
    k, p, _, addr = mapped_memfd(keep=False)
    _poison(p, addr + 3 * PS)
    assert_fails(
        k, lambda: p.madvise(addr + sub * PS, PS, mf.MADV_HWPOISON), errno.EFAULT, "madvise"
    )


def test_madvise_stock_on_hard_offlined_hugepage_from_forked_child_is_efault():
    k, p, _, addr = mapped_memfd(keep=False)
    child = p.fork()
    _poison(p, addr + 3 * PS)
    assert_fails(
        k, lambda: child.madvise(addr + 5 * PS, PS, mf.MADV_HWPOISON), errno.EFAULT, "madvise"
    )


def test_madvise_keep_same_raw_page_again_is_ehwpoison_after_sigbus():
    """E9(a) keep: kill_accessing_process() sends AR lsb 12 at the raw page, dmesg shows the
    "already poisoned page: Failed" line, no counter changes, madvise returns EHWPOISON."""
    k, p, _, addr = mapped_memfd(keep=True)
    target = addr + 3 * PS
    pfn = _poison(p, target)
    assert p.signals == [mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AR, target, 12, p.pid)]
    before = fingerprint(k)
    n = len(k.dmesg())
    with pytest.raises(OSError) as info:
        p.madvise(target, PS, mf.MADV_HWPOISON)
    assert info.value.errno == mf.EHWPOISON
    assert str(info.value).startswith("EHWPOISON: madvise: ")
    sig = mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AR, target, 12, p.pid)
    assert p.signals == [sig, sig]
    assert p.alive
    assert dmesg_since(k, n) == [
        f"Injecting memory failure for pfn {pfn:#x} at process virtual address {target:#x}",
        f"Memory failure: {pfn:#x}: Sending SIGBUS to app:{p.pid} due to hardware memory "
        "corruption",
        f"Memory failure: {pfn:#x}: recovery action for already poisoned page: Failed",
    ]
    after = fingerprint(k)
    assert after["trace_len"] > before["trace_len"]
    # Only the signal list changed: drop it (fields 2 and 3) and the trace length.
    for fp in (before, after):
        fp.pop("trace_len")
        fp["processes"] = [x[:2] + x[4:] for x in fp["processes"]]
    assert after == before  # meminfo (HardwareCorrupted), mf_stats, pools, folios unchanged


def test_madvise_soft_offline_disabled_is_eopnotsupp_and_logs_once():
    """E14: vm.enable_soft_offline = 0: EOPNOTSUPP, nothing changes, the "disabled" line is
    printed once (pr_info_once) however often it is tried."""
    k, p, _, addr = mapped_memfd()
    k.sysctl("vm.enable_soft_offline", 0)
    pfn0, pfn1 = p.virt_to_pfn(addr), p.virt_to_pfn(addr + HPS + PS)
    n = len(k.dmesg())
    assert_fails(
        k,
        lambda: p.madvise(addr, PS, mf.MADV_SOFT_OFFLINE),
        errno.EOPNOTSUPP,
        "madvise",
        same_trace=False,
    )
    assert_fails(
        k,
        lambda: p.madvise(addr + HPS + PS, PS, mf.MADV_SOFT_OFFLINE),
        errno.EOPNOTSUPP,
        "madvise",
        same_trace=False,
    )
    lines = dmesg_since(k, n)
    assert lines.count("Soft offline: disabled by /proc/sys/vm/enable_soft_offline") == 1
    assert lines == [
        f"Soft offlining pfn {pfn0:#x} at process virtual address {addr:#x}",
        "Soft offline: disabled by /proc/sys/vm/enable_soft_offline",
        f"Soft offlining pfn {pfn1:#x} at process virtual address {addr + HPS + PS:#x}",
    ]
    assert k.meminfo()["HugePages_Total"] == 8
    assert k.meminfo()["HardwareCorrupted"] == 0


# -- hwpoison-inject corrupt-pfn (E7 variants, E8, E9) ------------------------------------------
def _last_pfn(k: mf.Kernel) -> int:
    f = k.snapshot().folios[-1]
    return f.pfn + f.nr_pages - 1


@pytest.mark.parametrize("which", ["zero", "below-pools", "after-pools", "far"])
def test_corrupt_pfn_invalid_pfn_is_enxio(which):
    k, _, _, _ = mapped_memfd()
    pfn = {"zero": 0, "below-pools": 0x1000, "after-pools": _last_pfn(k) + 1, "far": 1 << 40}
    n = len(k.dmesg())
    assert_fails(k, lambda: k.corrupt_pfn(pfn[which]), errno.ENXIO, "corrupt-pfn")
    assert dmesg_since(k, n) == []


def test_hw_ue_invalid_pfn_is_enxio():
    k, _, _, _ = mapped_memfd()
    assert_fails(k, lambda: k.hw_ue(_last_pfn(k) + 1, detect="scrub"), errno.ENXIO, "hw_ue")


@POLICIES
def test_corrupt_pfn_already_poisoned_raw_page_is_ehwpoison(keep):
    k, p, _, addr = mapped_memfd(keep)
    pfn = p.virt_to_pfn(addr + 3 * PS)
    assert k.corrupt_pfn(pfn) == 0
    assert k.meminfo()["HardwareCorrupted"] == 4
    n = len(k.dmesg())
    assert_fails(
        k, lambda: k.corrupt_pfn(pfn), mf.EHWPOISON, "corrupt-pfn", same_trace=False
    )  # fingerprint: HardwareCorrupted, node stats, pools unchanged
    assert dmesg_since(k, n) == [
        f"Injecting memory failure at pfn {pfn:#x}",
        f"Memory failure: {pfn:#x}: recovery action for already poisoned page: Failed",
    ]
    assert k.meminfo()["HardwareCorrupted"] == 4
    assert (k.mf_stats.total, k.mf_stats.recovered, k.mf_stats.failed) == (1, 1, 0)


def test_corrupt_pfn_free_hugepage_without_headroom_is_ebusy():
    """E8 + §C "memory_failure result Failed -> EBUSY": dissolve_free_hugetlb_folio() fails
    when every free page is reserved: "free huge page: Failed", the page stays in the pool
    (FREE_POISONED), HardwareCorrupted +4 kB, node stats total+1 failed+1."""
    k = mf.Kernel(hugepages={"2M": 1})
    p = k.spawn("reserver")
    fd = p.memfd_create("x", mf.MFD_HUGETLB)
    p.ftruncate(fd, HPS)
    p.mmap(HPS, RW, mf.MAP_SHARED, fd)
    pfn = k.snapshot().folios[0].pfn
    n = len(k.dmesg())
    with pytest.raises(OSError) as info:
        k.corrupt_pfn(pfn)
    assert info.value.errno == errno.EBUSY
    assert str(info.value).startswith("EBUSY: corrupt-pfn: ")
    assert dmesg_since(k, n) == [
        f"Injecting memory failure at pfn {pfn:#x}",
        f"Memory failure: {pfn:#x}: recovery action for free huge page: Failed",
    ]
    assert k.snapshot().folios[0].state is mf.FolioState.FREE_POISONED
    assert k.meminfo()["HugePages_Total"] == 1
    assert k.meminfo()["HardwareCorrupted"] == 4
    assert (k.mf_stats.total, k.mf_stats.failed) == (1, 1)


# -- unpoison-pfn (E13) -------------------------------------------------------------------------
def _leaked_stock() -> tuple[mf.Kernel, int]:
    """A stock kernel with one SW-poisoned hugepage leaked by release; returns its head pfn."""
    k, p, fd, addr = mapped_memfd(keep=False)
    head = p.virt_to_pfn(addr)
    k.corrupt_pfn(head + 3)
    p.munmap(addr, 2 * HPS)
    p.close(fd)
    assert k.snapshot().folios[0].state is mf.FolioState.LEAKED
    return k, head


def test_unpoison_leaked_head_pfn_succeeds_without_hw_error():
    """The control for the next test: the same unpoison works when no HW error happened."""
    k, head = _leaked_stock()
    assert k.unpoison_pfn(head) == 0
    assert k.meminfo()["HugePages_Free"] == 8
    assert k.meminfo()["HardwareCorrupted"] == 0
    assert k.dmesg()[-1] == f"Unpoison: {head:#x}: software-unpoisoned page"


def test_unpoison_after_hw_memory_failure_is_eopnotsupp():
    k, head = _leaked_stock()
    free_pfn = k.snapshot().folios[5].pfn + 7
    assert k.hw_ue(free_pfn, detect="scrub") == 0
    n = len(k.dmesg())
    assert_fails(
        k, lambda: k.unpoison_pfn(head), errno.EOPNOTSUPP, "unpoison-pfn", same_trace=False
    )
    assert_fails(
        k, lambda: k.unpoison_pfn(free_pfn), errno.EOPNOTSUPP, "unpoison-pfn", same_trace=False
    )
    assert dmesg_since(k, n) == [
        f"Unpoison: {head:#x}: disabled after HW memory failure",
        f"Unpoison: {free_pfn:#x}: disabled after HW memory failure",
    ]


@pytest.mark.parametrize("where", ["in-use", "leaked"])
def test_unpoison_raw_tail_pfn_is_ebusy_already_unpoisoned(where):
    """docs/kernel.md R5.3: a tail pfn of a poisoned hugepage is never "poisoned" itself."""
    if where == "leaked":
        k, head = _leaked_stock()
    else:
        k, p, _, addr = mapped_memfd(keep=False)
        head = p.virt_to_pfn(addr)
        k.corrupt_pfn(head + 3)
    n = len(k.dmesg())
    for pfn in (head + 3, head + 1):
        assert_fails(
            k, lambda pfn=pfn: k.unpoison_pfn(pfn), errno.EBUSY, "unpoison-pfn", same_trace=False
        )
    assert dmesg_since(k, n) == [
        f"Unpoison: {head + 3:#x}: page was already unpoisoned",
        f"Unpoison: {head + 1:#x}: page was already unpoisoned",
    ]


@POLICIES
@pytest.mark.parametrize("still", ["mapped-and-open", "mapped", "open"])
def test_unpoison_head_pfn_while_mapped_or_open_is_ebusy(keep, still):
    k, p, fd, addr = mapped_memfd(keep)
    head = p.virt_to_pfn(addr)
    _poison(p, addr + 3 * PS)
    if still == "mapped":
        p.close(fd)
    elif still == "open":
        p.munmap(addr, 2 * HPS)
    n = len(k.dmesg())
    assert_fails(k, lambda: k.unpoison_pfn(head), errno.EBUSY, "unpoison-pfn", same_trace=False)
    assert dmesg_since(k, n) == [f"Unpoison: {head:#x}: someone grabs the hwpoison page"]


@pytest.mark.parametrize("which", ["zero", "after-pools"])
def test_unpoison_invalid_pfn_is_enxio(which):
    k, _, _, _ = mapped_memfd()
    pfn = 0 if which == "zero" else _last_pfn(k) + 1
    n = len(k.dmesg())
    assert_fails(k, lambda: k.unpoison_pfn(pfn), errno.ENXIO, "unpoison-pfn")
    assert dmesg_since(k, n) == []


# -- vm.memory_failure_recovery = 0 (§C last row) -----------------------------------------------
def test_memory_failure_with_recovery_disabled_panics():
    k, p, _, addr = mapped_memfd()
    pfn = p.virt_to_pfn(addr + 3 * PS)
    k.sysctl("vm.memory_failure_recovery", 0)
    with pytest.raises(mf.KernelPanic):
        k.corrupt_pfn(pfn)
    assert k.dmesg()[-1] == f"Kernel panic - not syncing: Memory failure on page {pfn:x}"
    with pytest.raises(mf.KernelPanic):
        p.load(addr)
    with pytest.raises(mf.KernelPanic):
        k.spawn("after")


# -- EBADF, ESRCH -------------------------------------------------------------------------------
FD_CALLS: list[tuple[str, Callable[[mf.Process, int], object]]] = [
    ("ftruncate", lambda p, fd: p.ftruncate(fd, HPS)),
    ("fallocate", lambda p, fd: p.fallocate(fd, 0, 0, HPS)),
    ("fcntl", lambda p, fd: p.fcntl_add_seals(fd, mf.F_SEAL_GROW)),
    ("mmap", lambda p, fd: p.mmap(HPS, RW, mf.MAP_SHARED, fd)),
    ("write", lambda p, fd: p.write(fd, b"x")),
    ("pwrite", lambda p, fd: p.pwrite(fd, b"x", 0)),
    ("read", lambda p, fd: p.read(fd, 1)),
    ("pread", lambda p, fd: p.pread(fd, 1, 0)),
    ("lseek", lambda p, fd: p.lseek(fd, 0)),
    ("dup", lambda p, fd: p.dup(fd)),
    ("close", lambda p, fd: p.close(fd)),
    ("fstatfs", lambda p, fd: p.fstatfs(fd)),
]


@pytest.mark.parametrize("call,fn", FD_CALLS, ids=[c for c, _ in FD_CALLS])
@pytest.mark.parametrize("how", ["closed", "never-opened"])
def test_closed_fd_is_ebadf(call, fn, how):
    k, p, fd, _ = mapped_memfd()
    other = p.memfd_create("other", mf.MFD_HUGETLB | mf.MFD_ALLOW_SEALING)
    if how == "closed":
        p.close(other)
        bad = other
    else:
        bad = 42
    assert_fails(k, lambda: fn(p, bad), errno.EBADF, call)


PROC_CALLS: list[tuple[str, Callable[[mf.Process, int, int], object]]] = [
    ("memfd_create", lambda p, fd, a: p.memfd_create("x", mf.MFD_HUGETLB)),
    ("ftruncate", lambda p, fd, a: p.ftruncate(fd, HPS)),
    ("fallocate", lambda p, fd, a: p.fallocate(fd, 0, 0, HPS)),
    ("fcntl", lambda p, fd, a: p.fcntl_add_seals(fd, mf.F_SEAL_GROW)),
    ("fstatfs", lambda p, fd, a: p.fstatfs(fd)),
    ("mmap", lambda p, fd, a: p.mmap(HPS, RW, mf.MAP_SHARED, fd)),
    ("munmap", lambda p, fd, a: p.munmap(a, HPS)),
    ("load", lambda p, fd, a: p.load(a)),
    ("store", lambda p, fd, a: p.store(a, b"x")),
    ("fill", lambda p, fd, a: p.fill(a, 1, 0)),
    ("verify", lambda p, fd, a: p.verify(a, 1, 0)),
    ("read", lambda p, fd, a: p.read(fd, 1)),
    ("pread", lambda p, fd, a: p.pread(fd, 1, 0)),
    ("lseek", lambda p, fd, a: p.lseek(fd, 0)),
    ("write", lambda p, fd, a: p.write(fd, b"x")),
    ("pwrite", lambda p, fd, a: p.pwrite(fd, b"x", 0)),
    ("madvise", lambda p, fd, a: p.madvise(a, PS, mf.MADV_HWPOISON)),
    ("prctl", lambda p, fd, a: p.prctl_mce_kill("early")),
    ("dup", lambda p, fd, a: p.dup(fd)),
    ("close", lambda p, fd, a: p.close(fd)),
    ("fork", lambda p, fd, a: p.fork()),
    ("exit", lambda p, fd, a: p.exit()),
    ("virt_to_pfn", lambda p, fd, a: p.virt_to_pfn(a)),
]


@pytest.mark.parametrize("call,fn", PROC_CALLS, ids=[c for c, _ in PROC_CALLS])
def test_call_on_exited_process_is_esrch(call, fn):
    k, p, fd, addr = mapped_memfd()
    p.exit()
    e = assert_fails(k, lambda: fn(p, fd, addr), errno.ESRCH, call, exc=ProcessLookupError)
    assert isinstance(e, ProcessLookupError)


def test_call_on_process_killed_by_sigbus_is_esrch():
    k, p, _, addr = mapped_memfd(handle_sigbus=False)
    p.madvise(addr, PS, mf.MADV_HWPOISON)
    assert not p.alive
    assert_fails(k, lambda: p.load(addr + HPS), errno.ESRCH, "load", exc=ProcessLookupError)


# -- sysctl, cat, prctl -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["vm.nope", "kernel.panic", "vm.memory_failure_early", ""])
def test_sysctl_unknown_name_is_enoent(name):
    k, _, _, _ = mapped_memfd()
    assert_fails(k, lambda: k.sysctl(name), errno.ENOENT, "sysctl")
    assert_fails(k, lambda: k.sysctl(name, 1), errno.ENOENT, "sysctl")


@pytest.mark.parametrize(
    "name", ["vm.memory_failure_early_kill", "vm.memory_failure_recovery", "vm.enable_soft_offline"]
)
@pytest.mark.parametrize("value", [2, -1, 100])
def test_sysctl_bad_value_is_einval(name, value):
    k, _, _, _ = mapped_memfd()
    assert_fails(k, lambda: k.sysctl(name, value), errno.EINVAL, "sysctl")


@pytest.mark.parametrize(
    "path",
    [
        "/proc/nope",
        "/sys/kernel/mm/hugepages/hugepages-4096kB/nr_hugepages",
        "/sys/devices/system/node/node1/memory_failure/total",
        "/proc/meminfo/",
        "",
    ],
)
def test_cat_unknown_path_is_enoent(path):
    k, _, _, _ = mapped_memfd()
    assert_fails(k, lambda: k.cat(path), errno.ENOENT, "open")


@pytest.mark.parametrize("policy", ["sometimes", "EARLY", ""])
def test_prctl_mce_kill_unknown_policy_is_einval(policy):
    k, p, _, _ = mapped_memfd()
    assert_fails(k, lambda: p.prctl_mce_kill(policy), errno.EINVAL, "prctl")
    assert p.mce_kill == "default"


# -- Python-level bad arguments ----------------------------------------------------------------
BAD_ARGS: list[tuple[str, type[Exception], Callable[[mf.Kernel, mf.Process, int], object]]] = [
    ("load-negative-length", ValueError, lambda k, p, a: p.load(a, -1)),
    ("load-negative-addr", ValueError, lambda k, p, a: p.load(-a, 1)),
    ("load-str-length", TypeError, lambda k, p, a: p.load(a, "1")),
    ("store-str", TypeError, lambda k, p, a: p.store(a, "abc")),
    ("store-int", TypeError, lambda k, p, a: p.store(a, 7)),
    ("store-list", TypeError, lambda k, p, a: p.store(a, [1, 2])),
    ("fill-256", ValueError, lambda k, p, a: p.fill(a, 10, 256)),
    ("fill-negative-byte", ValueError, lambda k, p, a: p.fill(a, 10, -1)),
    ("fill-negative-length", ValueError, lambda k, p, a: p.fill(a, -10, 1)),
    ("verify-256", ValueError, lambda k, p, a: p.verify(a, 10, 256)),
    ("hw_ue-detect", ValueError, lambda k, p, a: k.hw_ue(p.virt_to_pfn(a), detect="later")),
    ("corrupt_pfn-str", TypeError, lambda k, p, a: k.corrupt_pfn("0x100000")),
    ("hstate-size", ValueError, lambda k, p, a: k.hstate("4M")),
    ("spawn-empty-name", ValueError, lambda k, p, a: k.spawn("")),
]


@pytest.mark.parametrize("exc,fn", [b[1:] for b in BAD_ARGS], ids=[b[0] for b in BAD_ARGS])
def test_python_level_bad_arguments_raise_value_or_type_error(exc, fn):
    k, p, _, addr = mapped_memfd()
    before = fingerprint(k)
    with pytest.raises(exc) as info:
        fn(k, p, addr)
    assert str(info.value)  # a message, not an empty exception
    assert fingerprint(k) == before


# -- bad input is answered at once -------------------------------------------------------------
# Each of these once built a set of every hugepage index of the range (minutes, gigabytes),
# or was accepted. Each is now the kernel's errno, computed from what exists, never from the
# size of the request (benchmarks/bench_model.py times them).
HUGE_REQUESTS: list[tuple[str, int, str, Callable[[mf.Process, int], object]]] = [
    ("mmap-private-2^50", errno.ENOMEM, "mmap",
     lambda p, fd: p.mmap(1 << 50, RW, mf.MAP_PRIVATE, fd)),
    ("mmap-shared-2^50", errno.ENOMEM, "mmap",
     lambda p, fd: p.mmap(1 << 50, RW, mf.MAP_SHARED, fd)),
    ("mmap-past-task-size", errno.ENOMEM, "mmap",
     lambda p, fd: p.mmap(1 << 60, RW, mf.MAP_SHARED | mf.MAP_NORESERVE, fd)),
    ("mmap-offset-past-file-limit", errno.EINVAL, "mmap",
     lambda p, fd: p.mmap(HPS, RW, mf.MAP_SHARED, fd, 1 << 63)),
    ("fallocate-2^50", errno.ENOSPC, "fallocate", lambda p, fd: p.fallocate(fd, 0, 0, 1 << 50)),
    ("fallocate-offset-2^83", errno.EFBIG, "fallocate",
     lambda p, fd: p.fallocate(fd, 0, 1 << 83, HPS)),
    ("fallocate-punch-2^83", errno.EFBIG, "fallocate",
     lambda p, fd: p.fallocate(fd, mf.FALLOC_FL_PUNCH_HOLE | mf.FALLOC_FL_KEEP_SIZE, 1 << 83, HPS)),
    ("ftruncate-2^63", errno.EFBIG, "ftruncate", lambda p, fd: p.ftruncate(fd, 1 << 63)),
    ("munmap-2^64", errno.EINVAL, "munmap", lambda p, fd: p.munmap(0, 2**64)),
    ("munmap-past-task-size", errno.EINVAL, "munmap", lambda p, fd: p.munmap(1 << 60, HPS)),
    ("lseek-past-file-limit", errno.EINVAL, "lseek", lambda p, fd: p.lseek(fd, 1 << 63)),
    ("pread-offset-2^64", errno.EINVAL, "pread", lambda p, fd: p.pread(fd, 8, 1 << 64)),
]  # fmt: skip


@pytest.mark.parametrize(
    "err,call,fn", [c[1:] for c in HUGE_REQUESTS], ids=[c[0] for c in HUGE_REQUESTS]
)
def test_a_huge_request_is_answered_with_the_kernels_errno(err, call, fn):
    k, p, fd, _ = mapped_memfd()
    snap, meminfo, hstates = k.snapshot(), k.meminfo(), (k.hstate("2M"), k.hstate("1G"))
    assert_fails(k, lambda: fn(p, fd), err, call)
    assert (k.snapshot(), k.meminfo(), (k.hstate("2M"), k.hstate("1G"))) == (
        snap,
        meminfo,
        hstates,
    )


def test_a_page_past_the_file_size_limit_cannot_escape_release():
    """fallocate(fd, 0, 1 << 83, 2 MiB) used to allocate a page at index 2^62 that truncate and
    release never reached ("released but holds pages")."""
    k, p, fd, addr = mapped_memfd()
    with pytest.raises(OSError):
        p.fallocate(fd, 0, 1 << 83, HPS)
    p.munmap(addr, 2 * HPS)
    p.close(fd)
    assert k.hstate("2M") == mf.Hstate(8, 8, 0, 0)


def test_map_populate_of_a_huge_noreserve_mapping_stops_at_the_first_failing_fault():
    k, p, fd, _ = mapped_memfd(pool=3)
    addr = p.mmap(1 << 50, mf.PROT_READ, mf.MAP_SHARED | mf.MAP_NORESERVE | mf.MAP_POPULATE, fd)
    # Pages 0 and 1 are in the page cache; page 2 is past the end of the file: the first
    # fault that fails ends the populate (not 2^29 faults later).
    assert p.virt_to_pfn(addr + HPS) is not None
    assert p.virt_to_pfn(addr + 2 * HPS) is None
    assert k.hstate("2M").free_hugepages == 1


# One rule for every public call: Python and numpy integers are accepted, anything else is a
# TypeError naming the argument, before any state changes.
NOT_INTS: list[tuple[str, str, Callable[[mf.Kernel, mf.Process, int, int], object]]] = [
    ("lseek-float", "offset", lambda k, p, fd, a: p.lseek(fd, 1.5)),
    ("pread-float-offset", "offset", lambda k, p, fd, a: p.pread(fd, 4, 0.5)),
    ("pread-str-count", "count", lambda k, p, fd, a: p.pread(fd, "4", 0)),
    ("read-float", "count", lambda k, p, fd, a: p.read(fd, 4.0)),
    ("ftruncate-float", "length", lambda k, p, fd, a: p.ftruncate(fd, 2.0 * HPS)),
    ("fallocate-float", "offset", lambda k, p, fd, a: p.fallocate(fd, 0, 0.0, HPS)),
    ("mmap-float-length", "length", lambda k, p, fd, a: p.mmap(float(HPS), RW, mf.MAP_SHARED, fd)),
    ("mmap-bool-fd", "fd", lambda k, p, fd, a: p.mmap(HPS, RW, mf.MAP_SHARED, True)),
    ("munmap-float", "length", lambda k, p, fd, a: p.munmap(a, float(HPS))),
    ("madvise-str", "advice", lambda k, p, fd, a: p.madvise(a, PS, "MADV_HWPOISON")),
    ("close-float", "fd", lambda k, p, fd, a: p.close(float(fd))),
    ("load-float-addr", "addr", lambda k, p, fd, a: p.load(float(a))),
    ("load_many-floats", "addrs", lambda k, p, fd, a: p.load_many([float(a)])),
    ("sysctl-float", "value", lambda k, p, fd, a: k.sysctl("vm.memory_failure_early_kill", 1.0)),
    ("sysctl-bool", "value", lambda k, p, fd, a: k.sysctl("vm.memory_failure_early_kill", True)),
    ("nr_hugepages-float", "count", lambda k, p, fd, a: k.set_nr_hugepages("2M", 9.0)),
    ("memory_failure-float", "pfn", lambda k, p, fd, a: k.memory_failure(float(0x100000))),
    ("hw_ue-str", "pfn", lambda k, p, fd, a: k.hw_ue("0x100000")),
    ("memfd_create-float-flags", "flags", lambda k, p, fd, a: p.memfd_create("m", 4.0)),
]  # fmt: skip


@pytest.mark.parametrize("arg,fn", [c[1:] for c in NOT_INTS], ids=[c[0] for c in NOT_INTS])
def test_a_non_integer_argument_is_a_type_error_naming_it(arg, fn):
    k, p, fd, addr = mapped_memfd()
    before = fingerprint(k)
    with pytest.raises(TypeError, match=rf"\b{arg}\b"):
        fn(k, p, fd, addr)
    assert fingerprint(k) == before


def test_numpy_integers_are_accepted_everywhere_and_stored_as_int():
    k, p, fd, addr = mapped_memfd()
    assert p.lseek(fd, np.int64(PS)) == PS
    assert type(p.fds[fd].pos) is int
    assert p.pread(fd, np.uint32(4), np.int64(0)) == b"\x5a" * 4
    a2 = p.mmap(np.int64(HPS), np.int32(RW), np.int32(mf.MAP_SHARED), np.int64(fd))
    assert p.load(np.uint64(a2), np.int8(1)).ok
    p.munmap(np.int64(a2), np.int64(HPS))
    assert k.sysctl("vm.memory_failure_early_kill", np.int64(1)) == 1
    assert type(k.sysctls["vm.memory_failure_early_kill"]) is int
    pfn = p.virt_to_pfn(np.int64(addr))
    assert k.memory_failure(np.int64(pfn)) == 0
