"""madvise(MADV_HWPOISON) and madvise(MADV_SOFT_OFFLINE): error injection by a process.

Mirrors: madvise_inject_error() in mm/madvise.c: one raw page per hugepage, the page at
``addr`` and then a step of the hugepage size (docs/kernel.md §C).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import errno
from .align import ALIGN
from .constants import (
    MADV_HWPOISON,
    MADV_SOFT_OFFLINE,
    MF_ACTION_REQUIRED,
    MF_COUNT_INCREASED,
    MF_SW_SIMULATED,
    PAGE_SHIFT,
    PAGE_SIZE,
)
from .errors import SyscallError
from .folio import HugetlbFolio
from .mce import do_memory_failure
from .memory_failure import soft_offline_page
from .mm import Vma, VmFault, find_vma, hugetlb_fault
from .trace import EventKind, InjectSource

if TYPE_CHECKING:
    from .kernel import Kernel
    from .process import Process


def gup(k: Kernel, proc: Process, addr: int) -> tuple[HugetlbFolio, Vma]:
    """get_user_pages_fast() of one page, faulting it in; a failure is EFAULT."""
    vma = find_vma(proc, addr)
    if vma is None:
        raise SyscallError(errno.EFAULT, "madvise", f"{addr:#x} is not mapped")
    if hugetlb_fault(k, proc, vma, addr, False) is not VmFault.OK:
        raise SyscallError(
            errno.EFAULT,
            "madvise",
            f"cannot get the page at {addr:#x} (hard-offlined or beyond EOF)",
        )
    return vma.ptes[vma.index_of(addr)].folio, vma


def madvise_inject_error(k: Kernel, proc: Process, addr: int, length: int, advice: int) -> str:
    """The work of Process.madvise() (see its docstring). Returns the advice's name."""
    if advice not in (MADV_HWPOISON, MADV_SOFT_OFFLINE):
        raise SyscallError(
            errno.EINVAL,
            "madvise",
            f"advice {advice!r}: the model has MADV_HWPOISON and MADV_SOFT_OFFLINE",
        )
    if not proc.cap_sys_admin:
        raise SyscallError(
            errno.EPERM, "madvise", "MADV_HWPOISON and MADV_SOFT_OFFLINE need CAP_SYS_ADMIN"
        )
    if addr % PAGE_SIZE:
        raise SyscallError(errno.EINVAL, "madvise", f"{addr:#x} is not page aligned")
    if length < 0:
        raise SyscallError(errno.EINVAL, "madvise", "length is negative")
    start, end = addr, addr + ALIGN(length, PAGE_SIZE)
    name = "MADV_HWPOISON" if advice == MADV_HWPOISON else "MADV_SOFT_OFFLINE"
    while start < end:
        folio, vma = gup(k, proc, start)
        pfn = folio.pfn + ((start - vma.addr_of(vma.index_of(start))) >> PAGE_SHIFT)
        if advice == MADV_HWPOISON:
            where = f"pfn {pfn:#x} at process virtual address {start:#x}"
            k.printk(f"Injecting memory failure for {where}")
            k.emit(
                EventKind.INJECT,
                pid=proc.pid,
                pfn=pfn,
                folio=folio.number,
                subpage=pfn - folio.pfn,
                addr=start,
                text=str(InjectSource.MADV_HWPOISON),
                source=InjectSource.MADV_HWPOISON,
            )
            # 6.1 injects without MF_ACTION_REQUIRED: the caller is not signalled as
            # the consumer (docs/kernel.md R3).
            flags = MF_COUNT_INCREASED | MF_SW_SIMULATED
            if k.behaviour.madvise_action_required:
                flags |= MF_ACTION_REQUIRED
            ret = do_memory_failure(k, pfn, flags, proc)
        else:
            k.printk(f"Soft offlining pfn {pfn:#x} at process virtual address {start:#x}")
            ret = soft_offline_page(k, pfn)
        if ret == -errno.EOPNOTSUPP and advice == MADV_HWPOISON:
            ret = 0  # filtered by hwpoison_filter(): not an error
        if ret:
            raise SyscallError(-ret, "madvise", f"{name} at {start:#x}: returned {ret}")
        start += folio.size
    return name
