"""check_invariants(): the model's VM_BUG_ON. Tests call it after every step.

Mirrors: the consistency the kernel keeps between hstate counters, the raw-error lists,
num_poisoned_pages and page tables (mm/hugetlb.c, mm/memory-failure.c).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constants import PAGE_SHIFT
from .folio import FolioState, HugetlbFolio
from .trace import EventKind

if TYPE_CHECKING:
    from .kernel import Kernel
    from .pool import HstatePool


class InvariantError(AssertionError):
    """The model broke one of its own rules: a bug in the model, not in the user's input."""


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise InvariantError(what)


def check_invariants(k: Kernel) -> None:
    """Raise InvariantError on the first broken rule."""
    for h in k.hstates.values():
        _check_hstate(k, h)
    _check_folios(k)
    _check_mappings(k)
    _check_memfds(k)
    _check_trace(k)


def _check_hstate(k: Kernel, h: HstatePool) -> None:
    """The counters of one pool against the reservations held."""
    # Not "usable free": a free hugepage that failed to dissolve (E8) keeps its reservation
    # while it can never be handed out, as in the kernel.
    _check(0 <= h.resv_hugepages <= h.free_hugepages, f"{h.name}: resv > free")
    reserved = sum(len(m.reserved) for m in k.memfds if m.hstate is h)
    reserved += sum(len(v.resv) for p in k.live_processes() for v in p.vmas if v.memfd.hstate is h)
    _check(
        reserved == h.resv_hugepages,
        f"{h.name}: resv {h.resv_hugepages} != reservations {reserved}",
    )
    _check(h.surplus_hugepages <= h.nr_hugepages, f"{h.name}: surplus > nr")
    _check(h.nr_hugepages - h.free_hugepages >= 0, f"{h.name}: free > nr")


def _check_folios(k: Kernel) -> None:
    """Every hugepage, and the poisoned-page counts against the raw-error lists."""
    poisoned = 0
    for f in k.folios:
        poisoned += len(f.isolated) if f.state is FolioState.DISSOLVED else len(f.raw_hwp)
        _check_folio(f)
    _check(
        poisoned == k.num_poisoned_pages, f"num_poisoned_pages {k.num_poisoned_pages} != {poisoned}"
    )
    _check(k.meminfo()["HardwareCorrupted"] == poisoned << (PAGE_SHIFT - 10), "HardwareCorrupted")


def _check_folio(f: HugetlbFolio) -> None:
    """One hugepage: its state against its flags, owner and raw-error list."""
    if f.state is FolioState.DISSOLVED:
        _check(
            not f.raw_hwp and f.mapping is None and f.mapcount == 0,
            f"{f}: dissolved but in use",
        )
        return
    _check(not f.isolated, f"{f}: isolated subpages in a live hugepage")
    _check(all(0 <= s < f.nr_pages for s in f.raw_hwp), f"{f}: raw_hwp out of range")
    if f.state in (FolioState.FREE, FolioState.FREE_POISONED, FolioState.LEAKED):
        _check(
            f.mapping is None and f.mapcount == 0 and not f.anon,
            f"{f}: free or leaked, but used",
        )
    if f.state is FolioState.FREE:
        _check(not f.hwpoison, f"{f}: a poisoned hugepage on the free list")
    if f.state in (
        FolioState.FREE_POISONED,
        FolioState.LEAKED,
        FolioState.OFFLINED,
        FolioState.KEPT,
    ):
        _check(f.hwpoison, f"{f}: {f.state.value} without hwpoison")
    if f.state is FolioState.OFFLINED:
        _check(f.mapcount == 0, f"{f}: hard-offlined but still mapped")
    if f.state is FolioState.KEPT:
        _check(f.keep_ue_mapped, f"{f}: kept without MFD_MF_KEEP_UE_MAPPED")
    if f.state is FolioState.IN_USE:
        _check(not f.hwpoison, f"{f}: in use with hwpoison")
        _check(f.mapping is not None or f.anon, f"{f}: in use but owned by nobody")
    # Poison recorded before the page was handed out would mean reuse of a poisoned page.
    _check(
        all(seq >= f.alloc_seq for seq in f.raw_hwp.values()) or f.state is not FolioState.IN_USE,
        f"{f}: poisoned before it was allocated",
    )


def _check_mappings(k: Kernel) -> None:
    """Page table entries against the VMAs and each hugepage's mapcount."""
    mapcount: dict[int, int] = {}
    for p in k.processes:
        if not p.alive:
            _check(not p.vmas and not p.fds, f"{p}: exited with mappings or fds")
            continue
        for v in p.vmas:
            _check(not v.memfd.released, f"{p}: maps a released memfd")
            for index, pte in v.ptes.items():
                _check(v.covers(index), f"{p}: entry outside its VMA")
                if not pte.hwpoison:
                    mapcount[pte.folio.number] = mapcount.get(pte.folio.number, 0) + 1
                    _check(
                        pte.folio.state in (FolioState.IN_USE, FolioState.KEPT),
                        f"{p}: maps {pte.folio}",
                    )
    for f in k.folios:
        _check(
            mapcount.get(f.number, 0) == f.mapcount,
            f"{f}: mapcount {f.mapcount} != {mapcount.get(f.number, 0)}",
        )


def _check_memfds(k: Kernel) -> None:
    """Each memfd's references and page cache."""
    for m in k.memfds:
        refs = sum(1 for p in k.live_processes() for fd in p.fds.values() if fd.memfd is m)
        refs += sum(1 for p in k.live_processes() for v in p.vmas if v.memfd is m)
        _check(refs == m.refs, f"{m}: refs {m.refs} != {refs}")
        _check(m.released == (refs == 0), f"{m}: released is {m.released} with {refs} references")
        if m.released:
            _check(not m.pagecache and not m.reserved, f"{m}: released but holds pages")
        for index, f in m.pagecache.items():
            _check(f.mapping is m and f.index == index, f"{m}: page cache entry {index} disagrees")
            _check(
                f.state in (FolioState.IN_USE, FolioState.OFFLINED, FolioState.KEPT),
                f"{m}: caches {f}",
            )


def _check_trace(k: Kernel) -> None:
    """The events since the last check."""
    # The trace is append-only, so only the events since the last check are read.
    seen = k.invariant_state
    if k.trace and k.trace[0].seq > seen["seq"] + 1:  # the ring dropped some: start after
        seen["seq"] = k.trace[0].seq - 1
    new = k.trace.since(seen["seq"])
    for event in new:
        _check(event.seq == seen["seq"] + 1, "trace seq is not strictly increasing by one")
        seen["seq"] = event.seq
        if event.kind is EventKind.MEMORY_FAILURE:
            seen["failed"].add(event.pfn)
    # PROPOSED: keep never signals a healthy subpage: a SIGBUS with lsb 12 names a pfn that
    # memory_failure() handled (in the same call: kill_procs() runs before action_result()).
    for event in new:
        if event.kind is EventKind.SIGNAL and event.addr_lsb == PAGE_SHIFT:
            _check(
                event.pfn in seen["failed"], f"SIGBUS lsb 12 for pfn {event.pfn} that never failed"
            )
