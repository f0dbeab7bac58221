"""``import mfwidgets as mf`` exposes the public API contract, with the kernel's values."""

from __future__ import annotations

import pytest

import mfwidgets as mf
from mfwidgets.model import errno

CONSTANTS = {
    "PAGE_SIZE": 4096,
    "PAGE_SHIFT": 12,
    "SZ_2M": 1 << 21,
    "SZ_1G": 1 << 30,
    "MFD_CLOEXEC": 0x1,
    "MFD_ALLOW_SEALING": 0x2,
    "MFD_HUGETLB": 0x4,
    "MFD_NOEXEC_SEAL": 0x8,
    "MFD_EXEC": 0x10,
    "MFD_MF_KEEP_UE_MAPPED": 0x20,
    "MFD_HUGE_SHIFT": 26,
    "MFD_HUGE_2MB": 21 << 26,
    "MFD_HUGE_1GB": 30 << 26,
    "PROT_READ": 0x1,
    "PROT_WRITE": 0x2,
    "MAP_SHARED": 0x01,
    "MAP_PRIVATE": 0x02,
    "MAP_POPULATE": 0x8000,
    "MADV_HWPOISON": 100,
    "MADV_SOFT_OFFLINE": 101,
    "FALLOC_FL_KEEP_SIZE": 0x1,
    "FALLOC_FL_PUNCH_HOLE": 0x2,
    "SIGBUS": 7,
    "BUS_ADRERR": 2,
    "BUS_MCEERR_AR": 4,
    "BUS_MCEERR_AO": 5,
    "HUGETLBFS_MAGIC": 0x958458F6,
    "EHWPOISON": 133,
}

KERNEL_MEMBERS = [
    "spawn", "processes", "hstate", "meminfo", "cat", "sysctl", "corrupt_pfn",
    "unpoison_pfn", "hw_ue", "dmesg", "trace", "snapshot",
]  # fmt: skip
PROCESS_MEMBERS = [
    "pid", "name", "alive", "signals", "memfd_create", "fstatfs", "ftruncate", "fallocate",
    "mmap", "munmap", "load", "store", "fill", "verify", "read", "pread", "lseek", "write",
    "madvise", "prctl_mce_kill", "dup", "close", "fork", "exit", "virt_to_pfn",
]  # fmt: skip


@pytest.mark.parametrize(("name", "value"), sorted(CONSTANTS.items()))
def test_constant_has_the_kernel_value(name: str, value: int) -> None:
    assert getattr(mf, name) == value


def test_flags_repr_shows_the_kernel_symbol() -> None:
    assert "MFD_HUGETLB" in repr(mf.MFD_HUGETLB)
    assert "MFD_MF_KEEP_UE_MAPPED" in repr(mf.MFD_MF_KEEP_UE_MAPPED)
    assert "BUS_MCEERR_AR" in repr(mf.BUS_MCEERR_AR)


def test_kernel_and_process_members_exist() -> None:
    k = mf.Kernel(hugepages={"2M": 8, "1G": 2}, supports_keep_ue_mapped=True, seed=0)
    p = k.spawn("guest")
    assert [m for m in KERNEL_MEMBERS if not hasattr(k, m)] == []
    assert [m for m in PROCESS_MEMBERS if not hasattr(p, m)] == []
    assert k.processes == [p]
    assert (p.pid, p.name, p.alive, p.signals) == (1000, "guest", True, [])
    h = k.hstate("1G")
    assert (h.nr_hugepages, h.free_hugepages, h.resv_hugepages, h.surplus_hugepages) == (2, 2, 0, 0)


def test_every_name_in_all_is_importable() -> None:
    assert [n for n in mf.__all__ if not hasattr(mf, n)] == []


def test_syscall_error_is_an_oserror_with_the_kernel_errno() -> None:
    k = mf.Kernel(supports_keep_ue_mapped=True)
    p = k.spawn("guest")
    with pytest.raises(OSError) as info:
        p.memfd_create("x", mf.MFD_MF_KEEP_UE_MAPPED)
    assert info.value.errno == errno.EINVAL
    assert str(info.value) == "EINVAL: memfd_create: MFD_MF_KEEP_UE_MAPPED requires MFD_HUGETLB"
    p.exit()
    with pytest.raises(ProcessLookupError) as gone:
        p.memfd_create("x", 0)
    assert gone.value.errno == errno.ESRCH


def test_sigbus_is_a_record_with_a_kernel_like_repr() -> None:
    info = mf.SigInfo(7, 4, 0x7F0000020000, 12, 1000)
    assert repr(info) == "SIGBUS BUS_MCEERR_AR addr=0x7f0000020000 lsb=12"
