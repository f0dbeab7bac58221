"""hugetlbfs file operations on a memfd: truncate, fallocate (allocate, punch hole), read, and
the removal of hugepages from the page cache.

Mirrors: fs/hugetlbfs/inode.c (hugetlbfs_setattr, hugetlb_vmdelete_list,
remove_inode_hugepages, hugetlbfs_punch_hole, hugetlbfs_zero_partial_page,
hugetlbfs_fallocate, hugetlbfs_read_iter, adjust_range_hwpoison) and, PROPOSED, the v3
series' filemap_offline_hwpoison_folio(). Rule IDs (E2, E6, E11) refer to docs/kernel.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import errno
from .align import ALIGN, DIV_ROUND_UP
from .constants import (
    F_SEAL_GROW,
    F_SEAL_SHRINK,
    F_SEAL_WRITE,
    FALLOC_FL_KEEP_SIZE,
    MAX_LFS_FILESIZE,
    PAGE_SHIFT,
)
from .errors import SyscallError
from .folio import FolioState, HugetlbFolio
from .mce import do_memory_failure
from .memfd import Memfd
from .mm import zap_pte
from .trace import EventKind

if TYPE_CHECKING:
    from .kernel import Kernel

END_OF_FILE = 1 << 62  # a file index past any file


def truncate(k: Kernel, memfd: Memfd, length: int) -> None:
    """hugetlbfs_setattr(ATTR_SIZE) (E2). Raises SyscallError: EINVAL (negative, or not a
    multiple of the hugepage size); EFBIG (inode_newsize_ok()); EPERM (F_SEAL_SHRINK /
    F_SEAL_GROW)."""
    if length < 0:
        raise SyscallError(errno.EINVAL, "ftruncate", "length is negative")
    if length > MAX_LFS_FILESIZE:
        raise SyscallError(errno.EFBIG, "ftruncate", "length is past the file size limit")
    if memfd.hugetlb and length % memfd.size:
        raise SyscallError(
            errno.EINVAL,
            "ftruncate",
            f"{length:#x} is not a multiple of the hugepage size {memfd.size:#x}",
        )
    if length < memfd.i_size and memfd.seals & F_SEAL_SHRINK:
        raise SyscallError(errno.EPERM, "ftruncate", "the memfd is sealed with F_SEAL_SHRINK")
    if length > memfd.i_size and memfd.seals & F_SEAL_GROW:
        raise SyscallError(errno.EPERM, "ftruncate", "the memfd is sealed with F_SEAL_GROW")
    old = memfd.i_size
    memfd.i_size = length
    if memfd.hugetlb and length < old:
        start = length >> memfd.shift
        unmap_file_range(k, memfd, start, END_OF_FILE)
        remove_inode_hugepages(k, memfd, start, END_OF_FILE)


def unmap_file_range(k: Kernel, memfd: Memfd, start: int, end: int) -> None:
    """hugetlb_vmdelete_list(): zap file pages [start, end) from every mapping."""
    for proc in k.live_processes():
        for vma in proc.vmas:
            if vma.memfd is memfd:
                for index in [i for i in vma.ptes if start <= i < end]:
                    zap_pte(k, vma, index)


def remove_inode_hugepages(k: Kernel, memfd: Memfd, start: int, end: int) -> None:
    """remove_inode_hugepages() over file pages [start, end) (E2, E11):
    healthy folios go back to the pool; a poisoned one is LEAKED (stock: never freed) or,
    PROPOSED, dissolved at once (remove_inode_single_folio() ->
    filemap_offline_hwpoison_folio()); reservations in the range are dropped."""
    for index in sorted(i for i in memfd.pagecache if start <= i < end):
        folio = memfd.pagecache[index]
        keep = folio.keep_ue_mapped
        k.remove_from_pagecache(folio)
        if not folio.hwpoison:
            k.free_folio(folio)
        elif keep:
            _offline_hwpoison_folio(k, folio)
        else:
            folio.state = FolioState.LEAKED
            folio.contents = None
            k.emit(EventKind.LEAK, pfn=folio.pfn, folio=folio.number)
    dropped = {i for i in memfd.reserved if start <= i < end}
    memfd.reserved -= dropped
    if memfd.hstate is not None:
        memfd.hstate.resv_hugepages -= len(dropped)


def _offline_hwpoison_folio(k: Kernel, folio: HugetlbFolio) -> None:
    """PROPOSED: filemap_offline_hwpoison_folio_hugetlb() (A.4 item 9): the folio is freed
    with PG_hwpoison and dissolved; v3 logs nothing on success. The dissolve fails (-EBUSY)
    when every free page is reserved, or, as the v3 kernel really does, after a second error
    in the folio was Ignored (docs/kernel.md V4); the folio then stays on the free list,
    poisoned."""
    hstate = k.hstates[folio.hstate_name]
    folio.state = FolioState.FREE_POISONED
    folio.contents = None
    if hstate.free_hugepages - hstate.resv_hugepages > 0 and not folio.mf_ref_lost:
        k.dissolve(folio)
    else:
        k.printk(f"Memory failure: failed to dissolve hugetlb folio: {-errno.EBUSY}")


def punch_hole(k: Kernel, memfd: Memfd, offset: int, length: int) -> None:
    """hugetlbfs_punch_hole()."""
    if memfd.seals & F_SEAL_WRITE:
        raise SyscallError(errno.EPERM, "fallocate", "the memfd is sealed with F_SEAL_WRITE")
    size, end = memfd.size, offset + length
    hole_start = ALIGN(offset, size)
    hole_end = end // size * size
    if offset < hole_start:
        _zero_partial(memfd, offset, min(end, hole_start))
    if end > hole_end and end > hole_start:
        _zero_partial(memfd, hole_end, end)
    if hole_end > hole_start:
        first, last = hole_start >> memfd.shift, hole_end >> memfd.shift
        unmap_file_range(k, memfd, first, last)
        remove_inode_hugepages(k, memfd, first, last)


def _zero_partial(memfd: Memfd, start: int, end: int) -> None:
    """hugetlbfs_zero_partial_page(). SIMPLIFICATION: zeroing a poisoned subpage is not a
    kernel-mode machine check here (docs/kernel.md D.13: no source covers it)."""
    folio = memfd.pagecache.get(start >> memfd.shift)
    if folio is not None and folio.contents is not None:
        base = (start >> memfd.shift) << memfd.shift
        folio.contents.fill(start - base, end - start, 0)


def allocate(k: Kernel, memfd: Memfd, mode: int, offset: int, length: int) -> None:
    """hugetlbfs_fallocate() allocate mode."""
    end = offset + length
    if end > memfd.i_size and memfd.seals & F_SEAL_GROW:  # checked before KEEP_SIZE
        raise SyscallError(errno.EPERM, "fallocate", "the memfd is sealed with F_SEAL_GROW")
    assert memfd.hstate is not None
    indices = range(offset >> memfd.shift, DIV_ROUND_UP(end, memfd.size))
    # Count from what is there (the page cache and the reservations, bounded by the pool),
    # never by walking the range, which may be 2^40 hugepages long.
    present = {i for i in memfd.pagecache if i in indices}
    reserved = {i for i in memfd.reserved if i in indices} - present
    unreserved = len(indices) - len(present) - len(reserved)
    if unreserved > memfd.hstate.available:
        raise SyscallError(
            errno.ENOSPC,
            "fallocate",
            f"{unreserved} free hugepages needed, {max(0, memfd.hstate.available)} available",
        )
    for index in (i for i in indices if i not in present):
        folio = k.alloc_folio(memfd.hstate, index in memfd.reserved)
        assert folio is not None
        memfd.reserved.discard(index)
        k.add_to_pagecache(memfd, index, folio)
    if not mode & FALLOC_FL_KEEP_SIZE and end > memfd.i_size:
        memfd.i_size = end


def hwpoison_safe_bytes(folio: HugetlbFolio, offset: int, nbytes: int) -> int:
    """adjust_range_hwpoison(): how many bytes from ``offset`` (within the folio) can be read
    before the first raw page on the folio's raw-error list."""
    first = offset >> PAGE_SHIFT
    last = (offset + nbytes - 1) >> PAGE_SHIFT
    if last - first < len(folio.raw_hwp):
        hit = next((s for s in range(first, last + 1) if s in folio.raw_hwp), None)
    else:
        hit = min((s for s in folio.raw_hwp if first <= s <= last), default=None)
    return nbytes if hit is None else max(0, (hit << PAGE_SHIFT) - offset)


def read_plan(
    memfd: Memfd, pos: int, count: int, adjust_hwpoison: bool = True
) -> tuple[list[tuple[int, int, int]], int]:
    """hugetlbfs_read_iter() (docs/kernel.md E6 and R3).

    Returns (chunks, retval): ``chunks`` are (index, offset in folio, length) to copy in order
    (a hole reads as zeros), ``retval`` the byte count the call returns or -EIO. A poisoned raw
    page stops the read: a short count ending exactly at it, or -EIO when the call reaches it
    before copying anything from that hugepage (the EIO overwrites an earlier partial count).
    Without ``adjust_hwpoison`` (6.1, before adjust_range_hwpoison()) any poisoned hugepage the
    read reaches gives -EIO.
    """
    size = memfd.size
    chunks: list[tuple[int, int, int]] = []
    retval = 0
    while count > 0 and pos < memfd.i_size:
        index, offset = divmod(pos, size)
        nr = min(size - offset, memfd.i_size - pos)
        folio = memfd.pagecache.get(index)
        want = nr
        if folio is not None and folio.hwpoison:
            if not adjust_hwpoison:
                return chunks, -errno.EIO
            want = hwpoison_safe_bytes(folio, offset, nr)
            if want == 0:
                return chunks, -errno.EIO
        copied = min(want, count)
        chunks.append((index, offset, copied))
        retval += copied
        pos += copied
        count -= copied
        if copied != nr and count:
            break
    return chunks, retval


def read_iter(k: Kernel, memfd: Memfd, call: str, count: int, pos: int) -> bytes:
    """E6: a short count at the first poisoned raw page, EIO inside one."""
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"{call}: count must be an int")
    if count < 0:
        raise SyscallError(errno.EINVAL, call, "count is negative")
    # SIMPLIFICATION: a latent hardware error that the copy would read is consumed the way a
    # machine-check-safe copy recovers: memory_failure(pfn, 0), then the read stops there.
    while True:
        chunks, retval = read_plan(memfd, pos, count, k.behaviour.read_adjusts_hwpoison)
        latent = _latent_in(memfd, chunks)
        if latent is None:
            break
        do_memory_failure(k, latent, 0, None)
    if retval < 0:
        raise SyscallError(-retval, call, f"offset {pos:#x} is inside a poisoned 4 KiB page")
    out = bytearray()
    for index, offset, n in chunks:
        folio = memfd.pagecache.get(index)
        if folio is None or folio.contents is None:
            out += bytes(n)
        else:
            out += folio.contents.read(offset, n)
    return bytes(out)


def _latent_in(memfd: Memfd, chunks: list[tuple[int, int, int]]) -> int | None:
    for index, offset, n in chunks:
        folio = memfd.pagecache.get(index)
        if folio is None or not folio.bad:
            continue
        first, last = offset >> PAGE_SHIFT, (offset + n - 1) >> PAGE_SHIFT
        hits = sorted(s for s in folio.bad if first <= s <= last and s not in folio.raw_hwp)
        if hits:
            return folio.pfn + hits[0]
    return None
