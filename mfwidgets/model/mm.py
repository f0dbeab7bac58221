"""A process's hugetlb mappings: VMAs, page-table entries, page faults and user accesses.

Mirrors: mm/hugetlb.c (hugetlb_fault, hugetlb_no_page, hugetlb_wp), arch/x86/mm/fault.c
(do_sigbus) and, for a load that consumes poison, arch/x86/kernel/cpu/mce/core.c
(kill_me_maybe).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Collection
from typing import TYPE_CHECKING

from .constants import PAGE_SHIFT, PAGE_SIZE, PROT_WRITE, BusCode, SegvCode
from .folio import FolioState, HugetlbFolio
from .memfd import Memfd
from .siginfo import SigInfo, sigbus, sigsegv
from .trace import EventKind

if TYPE_CHECKING:
    from .kernel import Kernel
    from .process import Process


@dataclasses.dataclass(slots=True)
class Pte:
    """A huge page-table entry: present, or a hwpoison swap entry left by hard offline."""

    folio: HugetlbFolio
    hwpoison: bool = False
    writable: bool = True


class Vma:
    """One mapping of a memfd, ``[start, end)``, hugepage-aligned."""

    def __init__(
        self, start: int, length: int, prot: int, shared: bool, memfd: Memfd, pgoff: int
    ) -> None:
        self.start = start
        self.end = start + length
        self.prot = prot
        self.shared = shared
        self.memfd = memfd
        self.pgoff = pgoff  # file index (in hugepages) mapped at ``start``
        self.ptes: dict[int, Pte] = {}  # by file index
        self.resv: set[int] = set()  # MAP_PRIVATE: file indices still reserved for this VMA

    @property
    def shift(self) -> int:
        return self.memfd.shift

    def index_of(self, addr: int) -> int:
        """The file index (hugepage number in the memfd) that ``addr`` maps."""
        return self.pgoff + ((addr - self.start) >> self.shift)

    def addr_of(self, index: int, subpage: int = 0) -> int:
        """page_address_in_vma(): the address of ``subpage`` of file page ``index``."""
        return self.start + ((index - self.pgoff) << self.shift) + (subpage << PAGE_SHIFT)

    def covers(self, index: int) -> bool:
        return self.pgoff <= index < self.pgoff + ((self.end - self.start) >> self.shift)

    def __repr__(self) -> str:
        kind = "shared" if self.shared else "private"
        return f"<Vma {self.start:#x}-{self.end:#x} {kind} memfd:{self.memfd.name}>"


def set_pte(vma: Vma, index: int, folio: HugetlbFolio, writable: bool) -> None:
    old = vma.ptes.get(index)
    if old is not None and not old.hwpoison:
        old.folio.mapcount -= 1
    vma.ptes[index] = Pte(folio, False, writable)
    folio.mapcount += 1


def zap_pte(k: Kernel, vma: Vma, index: int) -> None:
    """Remove one entry (munmap, truncate); an anonymous copy nobody maps is freed."""
    pte = vma.ptes.pop(index, None)
    if pte is None:
        return
    folio = pte.folio
    if not pte.hwpoison:
        folio.mapcount -= 1
    if folio.anon and folio.mapcount == 0 and folio.state is FolioState.IN_USE:
        k.free_folio(folio)


class VmFault(enum.Enum):
    """What a page fault returns (the VM_FAULT_* codes that matter here)."""

    OK = "ok"
    HWPOISON_LARGE = "VM_FAULT_HWPOISON_LARGE"  # a poisoned hugepage: SIGBUS AR (E4)
    SIGBUS = "VM_FAULT_SIGBUS"  # beyond EOF, or no hugepage to allocate: BUS_ADRERR


def hugetlb_fault(k: Kernel, proc: Process, vma: Vma, addr: int, write: bool) -> VmFault:
    """Make ``addr`` accessible (hugetlb_fault()).

    - a hwpoison entry, or (stock) a poisoned page in the page cache: HWPOISON_LARGE (E4);
    - PROPOSED: under MFD_MF_KEEP_UE_MAPPED the poisoned page is mapped again (E4 keep,
      hugetlb_no_page() allows it);
    - beyond i_size, or no hugepage left to allocate: SIGBUS.
    """
    memfd = vma.memfd
    index = vma.index_of(addr)
    pte = vma.ptes.get(index)
    if pte is not None and pte.hwpoison:
        return VmFault.HWPOISON_LARGE
    if pte is None:
        if index << memfd.shift >= memfd.i_size:
            return VmFault.SIGBUS
        folio = memfd.pagecache.get(index)
        if folio is not None and folio.hwpoison and not folio.keep_ue_mapped:
            return VmFault.HWPOISON_LARGE
        if folio is None:
            folio = _no_page(k, vma, index)
            if folio is None:
                return VmFault.SIGBUS
        set_pte(vma, index, folio, writable=vma.shared or folio.anon)
        k.emit(EventKind.FAULT, pid=proc.pid, pfn=folio.pfn, folio=folio.number, addr=addr)
        pte = vma.ptes[index]
    if write and not pte.writable:
        if pte.folio.anon and pte.folio.mapcount == 1:
            pte.writable = True  # the only user of an anonymous copy reuses it
            return VmFault.OK
        return _cow(k, proc, vma, index, addr)
    return VmFault.OK


def do_sigbus(k: Kernel, proc: Process, vma: Vma, addr: int, fault: VmFault) -> SigInfo:
    """arch/x86/mm/fault.c do_sigbus(): a poisoned hugepage gives BUS_MCEERR_AR at the exact
    faulting byte with si_addr_lsb = the hugepage shift, and "MCE: Killing" (E4).
    SIMPLIFICATION: the kernel ratelimits that line; the model prints it every time."""
    if fault is VmFault.HWPOISON_LARGE:
        who = f"{proc.comm}:{proc.pid}"
        k.printk(f"MCE: Killing {who} due to hardware memory corruption fault at {addr:x}")
        info = sigbus(BusCode.BUS_MCEERR_AR, addr, vma.shift, proc.pid)
        return k.send_signal(proc, info, fault=fault)
    return k.send_signal(proc, sigbus(BusCode.BUS_ADRERR, addr, 0, proc.pid))


def _no_page(k: Kernel, vma: Vma, index: int) -> HugetlbFolio | None:
    """hugetlb_no_page() for a page not in the page cache: a new zeroed hugepage, in the page
    cache for a shared mapping, or an anonymous one for a private mapping."""
    memfd = vma.memfd
    assert memfd.hstate is not None
    reserved = index in (memfd.reserved if vma.shared else vma.resv)
    folio = k.alloc_folio(memfd.hstate, reserved)
    if folio is None:
        return None
    if vma.shared:
        memfd.reserved.discard(index)
        k.add_to_pagecache(memfd, index, folio)
    else:
        vma.resv.discard(index)
        folio.anon = True
    return folio


def _cow(k: Kernel, proc: Process, vma: Vma, index: int, addr: int) -> VmFault:
    """hugetlb_wp(): a write to a MAP_PRIVATE page copies it to a private anonymous folio.

    A copy that would read a hardware-poisoned subpage fails as copy_mc does (Tong Tiangen,
    "support recovery from HugePage copy-on-write faults"): HWPOISON_LARGE.
    SIMPLIFICATION: the poisoned pfn is not queued to memory_failure() here (docs/kernel.md E12).
    """
    old = vma.ptes[index].folio
    if old.bad:
        return VmFault.HWPOISON_LARGE
    assert vma.memfd.hstate is not None and old.contents is not None
    reserved = index in vma.resv
    new = k.alloc_folio(vma.memfd.hstate, reserved)
    if new is None:
        return VmFault.SIGBUS
    vma.resv.discard(index)
    new.contents = old.contents.copy()
    new.anon = True
    zap_pte(k, vma, index)
    set_pte(vma, index, new, writable=True)
    k.emit(EventKind.COW, pid=proc.pid, pfn=new.pfn, folio=new.number, addr=addr)
    return VmFault.OK


def find_vma(proc: Process, addr: int) -> Vma | None:
    for vma in proc.vmas:
        if vma.start <= addr < vma.end:
            return vma
    return None


def user_access(
    k: Kernel,
    proc: Process,
    addr: int,
    length: int,
    *,
    write: bytes | int | None = None,
    expect: int | None = None,
) -> tuple[bytes | None, SigInfo | None, int | None]:
    """A CPU doing ``length`` bytes of loads (or stores of ``write``: bytes, or one fill byte)
    from ``addr``, hugepage by hugepage; it stops at the first fault.

    With ``expect``, loads compare against that byte and stop at the first mismatch instead of
    returning the data. Returns (data, signal, first_mismatch address).
    """
    out = bytearray() if write is None and expect is None else None
    pos = addr
    end = addr + length
    while pos < end:
        vma = find_vma(proc, pos)
        if vma is None:
            return None, k.send_signal(proc, sigsegv(SegvCode.SEGV_MAPERR, pos, proc.pid)), None
        is_write = write is not None
        if is_write and not vma.prot & PROT_WRITE:
            return None, k.send_signal(proc, sigsegv(SegvCode.SEGV_ACCERR, pos, proc.pid)), None
        fault = hugetlb_fault(k, proc, vma, pos, is_write)
        if fault is not VmFault.OK:
            return None, do_sigbus(k, proc, vma, pos, fault), None
        index = vma.index_of(pos)
        folio = vma.ptes[index].folio
        chunk_end = min(end, vma.addr_of(index + 1))
        offset = pos - vma.addr_of(index)
        n = chunk_end - pos
        # The first subpage in the chunk whose DRAM is bad stops the CPU with a machine check.
        bad_at = _first_bad(folio, offset, n)
        safe = n if bad_at is None else bad_at - offset
        contents = folio.contents
        assert contents is not None
        if expect is not None:
            miss = contents.first_mismatch(offset, safe, expect)
            if miss is not None:
                return None, None, vma.addr_of(index) + miss
        elif isinstance(write, int):
            contents.fill(offset, safe, write)
        elif write is not None:
            contents.write(offset, write[pos - addr : pos - addr + safe])
        elif out is not None:
            out += contents.read(offset, safe)
        if bad_at is not None:
            return None, k.machine_check(proc, folio, bad_at >> PAGE_SHIFT, vma), None
        pos = chunk_end
    return (None if out is None else bytes(out)), None, None


def _first_bad(folio: HugetlbFolio, offset: int, n: int) -> int | None:
    """The offset of the first hardware-bad subpage in [offset, offset + n), or None."""
    if not folio.bad:
        return None
    first, last = offset >> PAGE_SHIFT, (offset + n - 1) >> PAGE_SHIFT
    hit = first_in_range(folio.bad, first, last)
    return None if hit is None else max(offset, hit * PAGE_SIZE)


def first_in_range(subpages: Collection[int], first: int, last: int) -> int | None:
    """The smallest of ``subpages`` in [first, last], looking at whichever is smaller: the
    range or the collection (a load touches one subpage; a folio may have thousands poisoned)."""
    if last - first < len(subpages):
        return next((s for s in range(first, last + 1) if s in subpages), None)
    return min((s for s in subpages if first <= s <= last), default=None)


def unmap_vma_range(k: Kernel, proc: Process, vma: Vma, lo: int, hi: int) -> None:
    """Remove [lo, hi) of ``vma``, splitting it if a part stays on either side."""
    first, last = vma.index_of(lo), vma.index_of(hi - 1) + 1
    for part_lo, part_hi in ((vma.start, lo), (hi, vma.end)):
        if part_lo < part_hi:
            part = Vma(
                part_lo,
                part_hi - part_lo,
                vma.prot,
                vma.shared,
                vma.memfd,
                vma.index_of(part_lo),
            )
            part.ptes = {i: p for i, p in vma.ptes.items() if part.covers(i)}
            part.resv = {i for i in vma.resv if part.covers(i)}
            proc.vmas.append(part)
            k.get_memfd(vma.memfd)
    for index in [i for i in vma.ptes if first <= i < last]:
        zap_pte(k, vma, index)
    dropped = {i for i in vma.resv if first <= i < last}
    assert vma.memfd.hstate is not None
    vma.memfd.hstate.resv_hugepages -= len(dropped)
    proc.vmas.remove(vma)
    proc.vmas.sort(key=lambda v: v.start)
    k.put_memfd(vma.memfd)


def dup_mmap(k: Kernel, parent: Process, child: Process) -> None:
    """dup_mmap() at fork: the child gets every mapping; a shared one is faulted in afresh, a
    private one is copied entry by entry, read-only in both, to be copied on write."""
    for vma in parent.vmas:
        copy = Vma(vma.start, vma.end - vma.start, vma.prot, vma.shared, vma.memfd, vma.pgoff)
        if not vma.shared:
            for index, pte in vma.ptes.items():
                pte.writable = False
                copy.ptes[index] = Pte(pte.folio, pte.hwpoison, False)
                if not pte.hwpoison:
                    pte.folio.mapcount += 1
        child.vmas.append(copy)
        k.get_memfd(vma.memfd)
