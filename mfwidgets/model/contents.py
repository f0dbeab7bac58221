"""The bytes of one hugepage, stored sparsely.

Mirrors: nothing in the kernel (the kernel has real memory); this is how the model holds the
data of up to terabytes of simulated hugepages without allocating it.

SIMPLIFICATION: contents are kept at three levels, and each level exists only where needed:
1. one fill byte for the whole folio (a fresh, zeroed folio; or one filled by ``fill``);
2. a fill byte per 4 KiB subpage (``numpy.uint8`` array), once subpages differ;
3. a real 4 KiB ``bytearray`` for a subpage whose bytes differ from each other.
Memory and time follow the subpages written at byte granularity, not the size of the folio.
"""

from __future__ import annotations

import numpy as np

from .align import DIV_ROUND_UP
from .constants import PAGE_SHIFT, PAGE_SIZE


class Contents:
    """The data of a folio of ``nr_pages`` subpages."""

    __slots__ = ("nr_pages", "_base", "_page_fill", "_pages")

    def __init__(self, nr_pages: int, byte: int = 0) -> None:
        self.nr_pages = nr_pages
        self._base = byte
        self._page_fill: np.ndarray | None = None
        self._pages: dict[int, bytearray] = {}

    # -- small helpers --
    def _fill_of(self, subpage: int) -> int:
        if self._page_fill is None:
            return self._base
        return int(self._page_fill[subpage])

    def _page(self, subpage: int) -> bytearray:
        """The detailed bytes of ``subpage``, created on first need."""
        page = self._pages.get(subpage)
        if page is None:
            page = bytearray([self._fill_of(subpage)]) * PAGE_SIZE
            self._pages[subpage] = page
        return page

    @property
    def nr_detailed_pages(self) -> int:
        """Subpages held as real 4 KiB buffers (what the model's memory grows with)."""
        return len(self._pages)

    # -- writers --
    def fill(self, offset: int, length: int, byte: int) -> None:
        """Set ``length`` bytes from ``offset`` (within the folio) to ``byte``."""
        end = offset + length
        if offset == 0 and end == self.nr_pages << PAGE_SHIFT:
            self._base, self._page_fill, self._pages = byte, None, {}
            return
        first_full = DIV_ROUND_UP(offset, PAGE_SIZE)
        last_full = end // PAGE_SIZE  # exclusive
        if first_full < last_full:
            if self._page_fill is None:
                self._page_fill = np.full(self.nr_pages, self._base, dtype=np.uint8)
            self._page_fill[first_full:last_full] = byte
            for subpage in [s for s in self._pages if first_full <= s < last_full]:
                del self._pages[subpage]
        for lo, hi in (
            (offset, min(end, first_full * PAGE_SIZE)),
            (max(offset, last_full * PAGE_SIZE), end),
        ):
            if lo < hi:
                self._splice(lo, bytes([byte]) * (hi - lo))

    def write(self, offset: int, data: bytes) -> None:
        """Store ``data`` at ``offset`` within the folio."""
        self._splice(offset, data)

    def _splice(self, offset: int, data: bytes) -> None:
        pos = 0
        while pos < len(data):
            subpage, in_page = divmod(offset + pos, PAGE_SIZE)
            n = min(PAGE_SIZE - in_page, len(data) - pos)
            self._page(subpage)[in_page : in_page + n] = data[pos : pos + n]
            pos += n

    def zero(self) -> None:
        """Forget everything: the folio reads as zeros (a newly allocated hugepage)."""
        self._base, self._page_fill, self._pages = 0, None, {}

    def copy(self) -> Contents:
        """A deep copy (copy-on-write, migration by soft offline)."""
        other = Contents(self.nr_pages, self._base)
        other._page_fill = None if self._page_fill is None else self._page_fill.copy()
        other._pages = {s: bytearray(p) for s, p in self._pages.items()}
        return other

    # -- readers --
    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` within the folio."""
        out = bytearray()
        pos = offset
        end = offset + length
        while pos < end:
            subpage, in_page = divmod(pos, PAGE_SIZE)
            n = min(PAGE_SIZE - in_page, end - pos)
            page = self._pages.get(subpage)
            if page is None:
                out += bytes([self._fill_of(subpage)]) * n
            else:
                out += page[in_page : in_page + n]
            pos += n
        return bytes(out)

    def first_mismatch(self, offset: int, length: int, byte: int) -> int | None:
        """The offset of the first byte in ``[offset, offset + length)`` that is not
        ``byte``, or None. Costs O(subpages with their own buffer), not O(length)."""
        end = offset + length
        if self._page_fill is None and not self._pages:
            return None if self._base == byte or length == 0 else offset
        first = offset >> PAGE_SHIFT
        last = (end - 1) >> PAGE_SHIFT
        detailed = self._pages
        bad_fill: int | None = None
        if self._page_fill is None:
            if self._base != byte:
                bad_fill = first
                while bad_fill in detailed:
                    bad_fill += 1
                bad_fill = bad_fill if bad_fill <= last else None
        else:
            mism = np.flatnonzero(self._page_fill[first : last + 1] != byte) + first
            bad_fill = next((int(s) for s in mism if int(s) not in detailed), None)
        candidates = [] if bad_fill is None else [max(offset, bad_fill << PAGE_SHIFT)]
        pattern = bytes([byte])
        for subpage in sorted(s for s in self._pages if first <= s <= last):
            if bad_fill is not None and subpage > bad_fill:
                break
            lo = max(offset, subpage << PAGE_SHIFT)
            hi = min(end, (subpage + 1) << PAGE_SHIFT)
            chunk = self._pages[subpage][
                lo - (subpage << PAGE_SHIFT) : hi - (subpage << PAGE_SHIFT)
            ]
            same = len(chunk) - len(chunk.lstrip(pattern))
            if same < len(chunk):
                candidates.append(lo + same)
                break
        return min(candidates) if candidates else None
