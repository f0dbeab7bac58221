"""/proc/meminfo, the sysfs counters and the sysctls: the files a learner reads with cat.

Mirrors: fs/proc/meminfo.c and hugetlb_report_meminfo(), the hugepages sysfs directory, the
node memory_failure/ statistics and the vm.memory_failure_* sysctls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import errno
from .constants import DEFAULT_HUGEPAGE_SIZE, PAGE_SHIFT
from .entry import entry, int_arg
from .errors import SyscallError
from .trace import EventKind

if TYPE_CHECKING:
    from .kernel import Kernel

MEMINFO_KEYS = (
    "HardwareCorrupted",
    "HugePages_Total",
    "HugePages_Free",
    "HugePages_Rsvd",
    "HugePages_Surp",
    "Hugepagesize",
    "Hugetlb",
)
SYSCTL_DEFAULTS = {
    "vm.memory_failure_early_kill": 0,
    "vm.memory_failure_recovery": 1,
    "vm.enable_soft_offline": 1,
}


def meminfo(k: Kernel) -> dict[str, int]:
    """/proc/meminfo keys of this story; sizes in kB, HugePages_* for the default size."""
    h = k.hstates[DEFAULT_HUGEPAGE_SIZE]
    return {
        "HardwareCorrupted": k.num_poisoned_pages << (PAGE_SHIFT - 10),
        "HugePages_Total": h.nr_hugepages,
        "HugePages_Free": h.free_hugepages,
        "HugePages_Rsvd": h.resv_hugepages,
        "HugePages_Surp": h.surplus_hugepages,
        "Hugepagesize": h.kb,
        "Hugetlb": sum(s.nr_hugepages * s.kb for s in k.hstates.values()),
    }


def proc_files(k: Kernel) -> dict[str, str]:
    m = k.meminfo()
    files = {
        "/proc/meminfo": (
            f"HardwareCorrupted: {m['HardwareCorrupted']:5d} kB\n"
            f"HugePages_Total:   {m['HugePages_Total']:5d}\n"
            f"HugePages_Free:    {m['HugePages_Free']:5d}\n"
            f"HugePages_Rsvd:    {m['HugePages_Rsvd']:5d}\n"
            f"HugePages_Surp:    {m['HugePages_Surp']:5d}\n"
            f"Hugepagesize:   {m['Hugepagesize']:8d} kB\n"
            f"Hugetlb:        {m['Hugetlb']:8d} kB\n"
        ),
    }
    for name, value in k.sysctls.items():
        files["/proc/sys/" + name.replace(".", "/")] = f"{value}\n"
    for h in k.hstates.values():
        c = h.counters()
        for field in ("nr_hugepages", "free_hugepages", "resv_hugepages", "surplus_hugepages"):
            files[f"/sys/kernel/mm/hugepages/hugepages-{h.kb}kB/{field}"] = f"{getattr(c, field)}\n"
    for field in ("total", "ignored", "failed", "delayed", "recovered"):
        if k.behaviour.node_mf_stats:
            path = f"/sys/devices/system/node/node0/memory_failure/{field}"
            files[path] = f"{getattr(k.mf_stats, field)}\n"
    return files


def cat(k: Kernel, path: str) -> str:
    """The text of a procfs or sysfs file. Raises SyscallError ENOENT for others."""
    files = proc_files(k)
    if path not in files:
        raise SyscallError(errno.ENOENT, "open", f"{path}: no such file in this model")
    return files[path]


@entry
def sysctl(k: Kernel, name: str, value: int | None = None) -> int:
    """Read, or set, a sysctl: vm.memory_failure_early_kill, vm.memory_failure_recovery,
    vm.enable_soft_offline (0 or 1), vm.nr_hugepages (the default size's pool).
    Raises SyscallError ENOENT (unknown name) or EINVAL (bad value)."""
    if value is not None:
        value = int_arg("sysctl", "value", value)
    if name == "vm.nr_hugepages":
        if value is not None:
            k.set_nr_hugepages(DEFAULT_HUGEPAGE_SIZE, value)
        return k.hstates[DEFAULT_HUGEPAGE_SIZE].nr_hugepages
    if name not in k.sysctls:
        raise SyscallError(errno.ENOENT, "sysctl", f"{name}: no such sysctl in this model")
    if value is not None:
        if value not in (0, 1):
            raise SyscallError(errno.EINVAL, "sysctl", f"{name} takes 0 or 1, not {value!r}")
        k.sysctls[name] = value
        k.emit(EventKind.SYSCALL, text=f"sysctl {name}={value}")
    return k.sysctls[name]
