"""An hstate: the pool of hugepages of one size, and its counters.

Mirrors: struct hstate in include/linux/hugetlb.h; the sysfs files
/sys/kernel/mm/hugepages/hugepages-<kB>kB/{nr,free,resv,surplus}_hugepages.
"""

from __future__ import annotations

import dataclasses

from .folio import FolioState, HugetlbFolio


@dataclasses.dataclass(frozen=True, slots=True)
class HstateCounters:
    """The four pool counters of one hugepage size, as sysfs shows them."""

    nr_hugepages: int
    free_hugepages: int
    resv_hugepages: int
    surplus_hugepages: int


class Hstate:
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
