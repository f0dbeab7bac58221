"""A hugetlb folio: one 2 MiB or 1 GiB hugepage of the pool, its hwpoison state and data.

Mirrors: struct folio for hugetlb in mm/hugetlb.c; the raw-error list (``raw_hwp_list``) and
``folio_test_hwpoison()`` of mm/memory-failure.c.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from .constants import PAGE_SHIFT, SIZE_BY_SHIFT
from .contents import Contents

if TYPE_CHECKING:
    from .memfd import Memfd


class FolioState(enum.Enum):
    """Where a hugepage is in its life (docs/kernel.md B.1)."""

    FREE = "free"  # on the hstate free list
    FREE_POISONED = "free, poisoned"  # on the free list with PG_hwpoison: never handed out
    IN_USE = "in use"  # in a memfd's page cache, or an anonymous (private COW) copy
    OFFLINED = "offlined"  # stock: hwpoison set, unmapped from every process, still cached
    KEPT = "kept"  # PROPOSED: MFD_MF_KEEP_UE_MAPPED: hwpoison set, still mapped
    LEAKED = "leaked"  # stock: poisoned, removed from the page cache, never freed
    DISSOLVED = "dissolved"  # gone from the pool, split into 4 KiB pages

    @property
    def label(self) -> str:
        return self.value


class HugetlbFolio:
    """One hugepage. ``subpage`` numbers its 4 KiB parts; ``pfn`` is the head frame."""

    def __init__(self, number: int, pfn: int, shift: int) -> None:
        self.number = number  # place in Kernel.folios, stable for the folio's life
        self.pfn = pfn
        self.shift = shift
        self.hstate_name = SIZE_BY_SHIFT[shift]  # "2M" or "1G"
        self.nr_pages = 1 << (shift - PAGE_SHIFT)
        self.state = FolioState.FREE
        # The raw-error list: subpages memory_failure() has recorded, with the seq of that
        # event. The folio's PG_hwpoison is "this dict is not empty".
        self.raw_hwp: dict[int, int] = {}
        # Subpages whose DRAM really holds an uncorrected error (hw_ue): their data is lost and a
        # load from them raises a machine check. Software injection never adds here.
        self.bad: set[int] = set()
        self.contents: Contents | None = None
        self.mapping: Memfd | None = None  # the memfd whose page cache holds it
        self.index: int | None = None  # its index in that page cache (offset >> shift)
        self.anon = False  # a private copy made by copy-on-write
        self.mapcount = 0  # page-table entries that map it (present, not hwpoison entries)
        self.alloc_seq = 0  # trace seq at which it last left the free list
        # PROPOSED v3 as it really is: a later error was Ignored in this kept folio, and its
        # references no longer add up: it cannot be dissolved at release (docs/kernel.md V4).
        self.mf_ref_lost = False
        # After a dissolve: the subpages kept off the buddy allocator (poisoned ones).
        self.isolated: set[int] = set()
        self.last_event: dict[int, int] = {}  # subpage -> seq of the last event that touched it

    # -- predicates, named as the kernel's ------------------------------------------------
    @property
    def hwpoison(self) -> bool:
        """folio_test_hwpoison(): the folio has at least one recorded raw error."""
        return bool(self.raw_hwp)

    @property
    def size(self) -> int:
        return 1 << self.shift

    @property
    def keep_ue_mapped(self) -> bool:
        """PROPOSED: hugetlb_should_keep_hwpoison_mapped(): the owning memfd has the flag.
        Anonymous folios never keep (docs/kernel.md E7, anon rule)."""
        return self.mapping is not None and self.mapping.keep_ue_mapped and not self.anon

    @property
    def in_pool(self) -> bool:
        return self.state is not FolioState.DISSOLVED

    def __repr__(self) -> str:
        return f"<HugetlbFolio #{self.number} pfn={self.pfn:#x} {self.state.value}>"
