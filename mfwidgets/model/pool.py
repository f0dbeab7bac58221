"""The hugepage pools: an HstatePool per size, and what takes pages from and gives them back.

Mirrors: struct hstate in include/linux/hugetlb.h; mm/hugetlb.c alloc_hugetlb_folio,
free_huge_folio, dissolve_free_hugetlb_folio, set_max_huge_pages; the sysfs files
/sys/kernel/mm/hugepages/hugepages-<kB>kB/{nr,free,resv,surplus}_hugepages.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

import numpy as np

from . import errno
from .align import ALIGN
from .constants import PAGE_SHIFT
from .contents import Contents
from .entry import entry, int_args
from .errors import SyscallError
from .folio import FolioState, HugetlbFolio
from .hstate import HstateCounters
from .trace import EventKind

if TYPE_CHECKING:
    from .kernel import Kernel

MAX_HUGEPAGES = 1 << 20  # per size: 2 TiB of 2 MiB pages, 1 PiB of 1 GiB pages


class HstatePool:
    """The pool of one size. Counters are derived from the folios, so they cannot drift."""

    def __init__(self, name: str, shift: int) -> None:
        self.name = name  # "2M" or "1G"
        self.shift = shift
        self.folios: list[HugetlbFolio] = []  # every folio of this size ever, in pfn order
        self.resv_hugepages = 0  # reserved by mmap and not yet faulted in
        # In-use pages above nr_hugepages after it was lowered: freed pages of this number
        # leave the pool instead of going back to the free list (adjust_pool_surplus()).
        self.surplus_hugepages = 0

    @property
    def kb(self) -> int:
        return (1 << self.shift) >> 10

    @property
    def nr_hugepages(self) -> int:
        return sum(1 for f in self.folios if f.in_pool)

    @property
    def free_hugepages(self) -> int:
        free = (FolioState.FREE, FolioState.FREE_POISONED)
        return sum(1 for f in self.folios if f.state in free)

    @property
    def available(self) -> int:
        """Pages a new allocation may take without stealing a reservation."""
        return sum(1 for f in self.folios if f.state is FolioState.FREE) - self.resv_hugepages

    def counters(self) -> HstateCounters:
        return HstateCounters(
            self.nr_hugepages, self.free_hugepages, self.resv_hugepages, self.surplus_hugepages
        )

    def dequeue(self) -> HugetlbFolio | None:
        """dequeue_hugetlb_folio_node_exact(): the first free folio without hwpoison.

        SIMPLIFICATION: the lowest pfn first, so runs are easy to follow; the kernel takes the
        head of a per-node list."""
        return next((f for f in self.folios if f.state is FolioState.FREE), None)


def grow_pool(k: Kernel, hstate: HstatePool, count: int) -> None:
    nr_pages = 1 << (hstate.shift - PAGE_SHIFT)
    for _ in range(count):
        pfn = ALIGN(k.next_pfn, nr_pages)
        folio = HugetlbFolio(len(k.folios), pfn, hstate.shift)
        k.folios.append(folio)
        k.folio_pfns.append(pfn)
        hstate.folios.append(folio)
        k.next_pfn = pfn + nr_pages


def folio_of_pfn(k: Kernel, pfn: int) -> HugetlbFolio | None:
    """The hugepage (live or dissolved) that holds ``pfn``, or None.

    SIMPLIFICATION: the model's physical memory is the hugepage pools; a pfn outside them
    is "not memory this model simulates" (ENXIO), as an invalid pfn is for the kernel."""
    if not isinstance(pfn, (int, np.integer)):
        return None
    i = bisect.bisect_right(k.folio_pfns, int(pfn)) - 1
    if i < 0:
        return None
    folio = k.folios[i]
    return folio if pfn < folio.pfn + folio.nr_pages else None


def alloc_folio(k: Kernel, hstate: HstatePool, reserved: bool) -> HugetlbFolio | None:
    """alloc_hugetlb_folio(): a zeroed hugepage, taken from a reservation or from the free
    pages nobody reserved; None when there is none."""
    if not reserved and hstate.available < 1:
        return None
    folio = hstate.dequeue()
    if folio is None:
        return None
    if reserved:
        hstate.resv_hugepages -= 1
    folio.state = FolioState.IN_USE
    folio.contents = Contents(folio.nr_pages)
    folio.alloc_seq = k.seq + 1
    k.emit(EventKind.ALLOC, pfn=folio.pfn, folio=folio.number)
    return folio


def free_folio(k: Kernel, folio: HugetlbFolio) -> None:
    """free_huge_folio(): back to the free list, or out of the pool if it is surplus."""
    folio.mapping = folio.index = None
    folio.anon = False
    folio.contents = None
    hstate = k.hstates[folio.hstate_name]
    if hstate.surplus_hugepages:
        hstate.surplus_hugepages -= 1
        k.dissolve(folio)
        return
    folio.state = FolioState.FREE
    k.emit(EventKind.FREE, pfn=folio.pfn, folio=folio.number)


def dissolve(k: Kernel, folio: HugetlbFolio) -> None:
    """dissolve_free_hugetlb_folio(): the hugepage leaves the pool (nr_hugepages - 1); its
    healthy 4 KiB pages go to the buddy allocator and its poisoned ones stay isolated
    (free_has_hwpoisoned(), docs/kernel.md D.7)."""
    folio.isolated |= set(folio.raw_hwp)
    folio.raw_hwp.clear()
    folio.state = FolioState.DISSOLVED
    folio.mapping = folio.index = None
    folio.anon = False
    folio.contents = None
    # A surplus page that leaves the pool takes its surplus count along
    # (remove_hugetlb_folio(..., adjust_surplus)).
    hstate = k.hstates[folio.hstate_name]
    hstate.surplus_hugepages = min(hstate.surplus_hugepages, hstate.nr_hugepages)
    k.emit(EventKind.DISSOLVE, pfn=folio.pfn, folio=folio.number)


@int_args("count")
@entry
def set_nr_hugepages(k: Kernel, size: str, count: int) -> None:
    """echo count > /sys/kernel/mm/hugepages/hugepages-<kB>kB/nr_hugepages
    (set_max_huge_pages()): grow with new pages, or free unused ones; pages still in use
    above ``count`` become surplus. Raises SyscallError EINVAL for a bad count."""
    if size not in k.hstates:
        raise ValueError(f"set_nr_hugepages: size {size!r} is not one of '2M', '1G'")
    if not 0 <= count <= MAX_HUGEPAGES:
        raise SyscallError(
            errno.EINVAL, "write nr_hugepages", f"{count!r} is not in 0..{MAX_HUGEPAGES}"
        )
    hstate = k.hstates[size]
    nr = hstate.nr_hugepages
    if count > nr:
        cut = min(hstate.surplus_hugepages, count - nr + hstate.surplus_hugepages)
        hstate.surplus_hugepages -= cut
        grow_pool(k, hstate, count - nr)
    else:
        floor = max(count, hstate.resv_hugepages + nr - hstate.free_hugepages)
        for folio in list(hstate.folios):
            if hstate.nr_hugepages <= floor:
                break
            if folio.state is FolioState.FREE:
                k.dissolve(folio)
        hstate.surplus_hugepages = max(0, hstate.nr_hugepages - count)
    k.emit(EventKind.SYSCALL, text=f"echo {count} > hugepages-{hstate.kb}kB/nr_hugepages")
