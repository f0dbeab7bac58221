"""memory_failure(): what the kernel does with a poisoned 4 KiB frame of a hugepage.

Mirrors: mm/memory-failure.c (memory_failure, try_memory_failure_hugetlb,
hugetlb_update_hwpoison, hwpoison_user_mappings, collect_procs_file, kill_procs,
kill_accessing_process, me_huge_page, action_result, unpoison_memory, soft_offline_page) in
2026 mainline as Debian's 7.3.4 behaves, plus the PROPOSED MFD_MF_KEEP_UE_MAPPED v3 series.
Rule IDs (E7...) refer to docs/kernel.md.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from . import errno
from .constants import MF_ACTION_REQUIRED, MF_COUNT_INCREASED, MF_SW_SIMULATED, PAGE_SHIFT, BusCode
from .errors import EHWPOISON
from .folio import FolioState, HugetlbFolio
from .mm import Vma
from .siginfo import sigbus
from .trace import EventKind, MFMsg, MFResult

if TYPE_CHECKING:
    from .kernel import Kernel
    from .process import Process

#: ``Kernel(kept_second_error=...)``: what a new error in a kept hugepage does when memory
#: failure did not get its own reference (docs/kernel.md V4): "ignored", as the v3 kernel
#: really does; "intent", as the series says (handled as a first error).
KEPT_SECOND_ERRORS = ("ignored", "intent")


@dataclasses.dataclass
class MFStats:
    """/sys/devices/system/node/node0/memory_failure/{total,ignored,failed,delayed,recovered}."""

    total: int = 0
    ignored: int = 0
    failed: int = 0
    delayed: int = 0
    recovered: int = 0


# -- the chokepoint ------------------------------------------------------------------------
def action_result(k: Kernel, pfn: int, msg: MFMsg, result: MFResult) -> int:
    """Log, trace and count one outcome. Returns 0 for Recovered/Delayed, else -EBUSY.

    "already poisoned" events are not counted (Kyle Meyer's fix, v6.17; B.0)."""
    folio = k.folio_of_pfn(pfn)
    k.emit(
        EventKind.MEMORY_FAILURE,
        pfn=pfn,
        folio=None if folio is None else folio.number,
        subpage=None if folio is None else pfn - folio.pfn,
        mf_type=msg,
        mf_result=result,
    )
    if msg is not MFMsg.ALREADY_POISONED:
        k.mf_stats.total += 1
        bucket = result.name.lower()
        setattr(k.mf_stats, bucket, getattr(k.mf_stats, bucket) + 1)
    k.printk(f"Memory failure: {pfn:#x}: recovery action for {msg.value}: {result.value}")
    return 0 if result in (MFResult.RECOVERED, MFResult.DELAYED) else -errno.EBUSY


def already_poisoned(k: Kernel, pfn: int, msg: MFMsg) -> None:
    """Log an error on a page that is already poisoned (E9). 6.12 and later go through
    action_result(..., Failed); 6.1 only says so with pr_err() (docs/kernel.md R3)."""
    if k.behaviour.legacy_messages:
        k.printk(f"Memory failure: {pfn:#x}: already hardware poisoned")
    else:
        action_result(k, pfn, msg, MFResult.FAILED)


# -- signals ---------------------------------------------------------------------------------
def _lsb(folio: HugetlbFolio) -> int:
    # PROPOSED: __add_to_kill() and kill_accessing_process() report PAGE_SHIFT when the
    # mapping has MFD_MF_KEEP_UE_MAPPED (A.4 items 3 and 4); stock reports the folio's shift.
    return PAGE_SHIFT if folio.keep_ue_mapped else folio.shift


def _kill_subpage(k: Kernel, folio: HugetlbFolio, subpage: int) -> int:
    """Which subpage's address a memory_failure()-time signal names: the poisoned raw page on
    6.12 and later, the head on 6.1 (docs/kernel.md R3 and R5.5).
    PROPOSED: under keep always the raw page (the series builds on the precise addresses)."""
    return subpage if k.behaviour.precise_kill_address or folio.keep_ue_mapped else 0


def _vmas_mapping(k: Kernel, folio: HugetlbFolio) -> list[tuple[Process, Vma, int]]:
    """collect_procs_file()/collect_procs_anon(): every (process, VMA, index) that covers the
    folio: for a page-cache folio any VMA of that file range, mapped in or not; for an anonymous
    folio the VMAs whose entries point at it."""
    found = []
    for proc in k.live_processes():
        # The kernel walks the file's (or anon_vma's) interval tree: VMAs by their first file
        # index, equal ones oldest first. The kill list keeps that order, and of several
        # SIGBUSes to one task only the first is queued (see Kernel.send_signal).
        for vma in sorted(proc.vmas, key=lambda v: v.pgoff):
            if folio.anon:
                found += [(proc, vma, i) for i, p in vma.ptes.items() if p.folio is folio]
            elif folio.mapping is vma.memfd and folio.index is not None and vma.covers(folio.index):
                found.append((proc, vma, folio.index))
    return found


def _kill_proc(k: Kernel, proc: Process, pfn: int, code: BusCode, addr: int, lsb: int) -> None:
    k.printk(
        f"Memory failure: {pfn:#x}: Sending SIGBUS to {proc.comm}:{proc.pid} "
        "due to hardware memory corruption"
    )
    k.send_signal(proc, sigbus(code, addr, lsb, proc.pid), pfn)


def kill_accessing_process(
    k: Kernel, current: Process | None, folio: HugetlbFolio, subpage: int
) -> int:
    """The "already poisoned" path: SIGBUS AR to the task that touched it again, at the precise
    4 KiB address (Jane Chu, Jan 2026) found by walking its page tables (E9a).

    Returns -EHWPOISON if the task maps the folio, else 0. 6.1 walks for the head pfn and
    names the hugepage-aligned address."""
    if current is None:
        return 0
    subpage = _kill_subpage(k, folio, subpage)
    for vma in current.vmas:
        for index, pte in vma.ptes.items():
            if pte.folio is folio:
                addr = vma.addr_of(index, subpage)
                _kill_proc(
                    k, current, folio.pfn + subpage, BusCode.BUS_MCEERR_AR, addr, _lsb(folio)
                )
                return -EHWPOISON
    return 0


def hwpoison_user_mappings(
    k: Kernel, folio: HugetlbFolio, subpage: int, flags: int, current: Process | None
) -> None:
    """Unmap (stock) and signal the users of a newly poisoned folio (E7).

    - nobody has it mapped: nothing happens here;
    - AR event: the current task gets BUS_MCEERR_AR; other tasks only if early-kill, with AO;
    - stock: every present entry becomes a hwpoison entry (try_to_unmap, TTU_HWPOISON);
    - PROPOSED keep: unmap_poisoned_folio() is skipped; signals still go out, lsb 12.
    SIMPLIFICATION: a process is one thread, so "the current thread" and "the first early-kill
    thread" are the process; no page is pinned (VFIO, iommufd), so the stock
    "huge page still referenced by N users" Failed never happens (E7 variants).
    """
    if folio.mapcount == 0:
        return
    victims = []
    for proc, vma, index in _vmas_mapping(k, folio):
        if flags & MF_ACTION_REQUIRED and proc is current:
            code = BusCode.BUS_MCEERR_AR
        elif k.early_kill(proc):
            code = BusCode.BUS_MCEERR_AO
        else:
            continue
        victims.append((proc, code, vma.addr_of(index, _kill_subpage(k, folio, subpage))))
    if not folio.keep_ue_mapped:
        for proc, vma, index in _vmas_mapping(k, folio):
            pte = vma.ptes.get(index)
            if pte is not None and pte.folio is folio and not pte.hwpoison:
                pte.hwpoison = True
                folio.mapcount -= 1
                k.emit(
                    EventKind.UNMAP,
                    pid=proc.pid,
                    pfn=folio.pfn,
                    folio=folio.number,
                    addr=vma.addr_of(index),
                )
    for proc, code, addr in victims:
        _kill_proc(k, proc, folio.pfn + subpage, code, addr, _lsb(folio))


# -- the entry point -------------------------------------------------------------------------
# Kept whole. Mirrors memory_failure() in mm/memory-failure.c, step for step.
def memory_failure(k: Kernel, pfn: int, flags: int, current: Process | None = None) -> int:
    """Handle an uncorrected error at ``pfn``. Returns 0 or a negative errno, as the kernel.

    Returns:
      0            recovered (or, for keep, a new raw page of a kept folio: E9b keep);
      -EHWPOISON   that raw page was already poisoned (E9a), or stock: a new raw page in a
                   folio that is already poisoned (E9b stock, "huge page: Failed", counted);
      -EBUSY       the result was Failed or Ignored (e.g. a free hugepage with no headroom);
      -ENXIO       not memory this model simulates.
    """
    if not flags & MF_SW_SIMULATED:
        k.hw_memory_failure = True
    folio = k.folio_of_pfn(pfn)
    if folio is None:
        return -errno.ENXIO
    subpage = pfn - folio.pfn
    if folio.state is FolioState.DISSOLVED:
        # A 4 KiB page of a dissolved hugepage: now an ordinary buddy page.
        if subpage in folio.isolated:
            already_poisoned(k, pfn, MFMsg.ALREADY_POISONED)
            return -EHWPOISON
        folio.isolated.add(subpage)
        k.num_poisoned_pages += 1
        return action_result(k, pfn, MFMsg.BUDDY, MFResult.RECOVERED)

    if subpage in folio.raw_hwp:
        return _hwpoison_again(k, folio, subpage, flags, current, MFMsg.ALREADY_POISONED)
    already = folio.hwpoison
    folio.raw_hwp[subpage] = k.seq + 1
    k.num_poisoned_pages += 1
    if already and not folio.keep_ue_mapped:
        # hugetlb_update_hwpoison() -> MF_HUGETLB_FOLIO_PRE_POISONED; counted since a148a2040191.
        return _hwpoison_again(k, folio, subpage, flags, current, MFMsg.HUGE)
    if folio.state is FolioState.KEPT and _second_error_ignored(k, flags):
        return _kept_second_error_ignored(k, folio, pfn)
    # PROPOSED: under keep, a new raw page of a kept folio is handled as a first error (E9b;
    # the v3 intent, docs/kernel.md D.5).
    if folio.state is FolioState.FREE:
        # E8: dissolve_free_hugetlb_folio() needs one page of headroom above the reservations.
        hstate = k.hstates[folio.hstate_name]
        if hstate.available >= 1:
            k.dissolve(folio)
            # 6.1: a free 1 GiB page leaves the pool all the same, but the result is Failed
            # (docs/kernel.md R5.4). SIMPLIFICATION: its poisoned 4 KiB page is isolated
            # as on later kernels.
            gigantic = folio.hstate_name == "1G"
            if gigantic and not k.behaviour.free_gigantic_recovered:
                return action_result(k, pfn, MFMsg.FREE_HUGE, MFResult.FAILED)
            return action_result(k, pfn, MFMsg.FREE_HUGE, MFResult.RECOVERED)
        folio.state = FolioState.FREE_POISONED
        return action_result(k, pfn, MFMsg.FREE_HUGE, MFResult.FAILED)
    if folio.state is not FolioState.IN_USE and folio.state is not FolioState.KEPT:
        # A free-poisoned or leaked folio was caught above (it has hwpoison already).
        raise AssertionError(f"memory_failure on {folio!r}")
    hwpoison_user_mappings(k, folio, subpage, flags, current)
    if folio.anon:
        # me_huge_page() -> __page_handle_poison(): an anonymous hugepage is dissolved at once.
        k.dissolve(folio)
    else:
        folio.state = FolioState.KEPT if folio.keep_ue_mapped else FolioState.OFFLINED
    return action_result(k, pfn, MFMsg.HUGE, MFResult.RECOVERED)


def _second_error_ignored(k: Kernel, flags: int) -> bool:
    """PROPOSED, as the v3 kernel really does (docs/kernel.md V4): the first error cleared the
    folio's hugetlb_migratable flag, so an error that brings no reference of its own (a machine
    check, corrupt-pfn; MADV_HWPOISON brings its GUP reference: MF_COUNT_INCREASED) cannot take
    one: get_huge_page_for_hwpoison() gives -EBUSY even on the retry."""
    return k.kept_second_error == "ignored" and not flags & MF_COUNT_INCREASED


def _kept_second_error_ignored(k: Kernel, folio: HugetlbFolio, pfn: int) -> int:
    """The raw page is on the folio's error list all the same (hugetlb_update_hwpoison() ran),
    but nobody is signalled here: "get hwpoison page: Ignored", -EBUSY. A machine check then
    ends in "Memory error not recovered" and a SIGBUS without an address (Kernel.machine_check);
    at release the folio cannot be dissolved (hugetlbfs._offline_hwpoison_folio)."""
    folio.mf_ref_lost = True
    return action_result(k, pfn, MFMsg.GET_HWPOISON, MFResult.IGNORED)


def _hwpoison_again(
    k: Kernel,
    folio: HugetlbFolio,
    subpage: int,
    flags: int,
    current: Process | None,
    msg: MFMsg,
) -> int:
    """A hugetlb folio that is already poisoned: -EHWPOISON, and for an AR event the SIGBUS of
    kill_accessing_process(). 6.12 and later log after the signal, 6.1 before it."""
    pfn = folio.pfn + subpage
    if k.behaviour.legacy_messages:
        already_poisoned(k, pfn, msg)
    res = -EHWPOISON
    if flags & MF_ACTION_REQUIRED:
        res = kill_accessing_process(k, current, folio, subpage)
    if not k.behaviour.legacy_messages:
        already_poisoned(k, pfn, msg)
    return res


# -- unpoison and soft offline ---------------------------------------------------------------
def _unpoison_log(k: Kernel, pfn: int, text: str) -> None:
    """unpoison_pr_info(): "Unpoison: 0x<pfn>: <text>"; 6.1: "Unpoison: <Text> 0x<pfn>"."""
    if k.behaviour.legacy_messages:
        k.printk(f"Unpoison: {text[0].upper()}{text[1:]} {pfn:#x}")
    else:
        k.printk(f"Unpoison: {pfn:#x}: {text}")


def unpoison_memory(k: Kernel, pfn: int) -> int:
    """unpoison_memory() (E13; the messages in the wording of the version, docs/kernel.md R3).

    Returns 0, or -ENXIO (no such pfn), -EOPNOTSUPP (after any real hardware error), -EBUSY
    (not poisoned: a hugepage's flag is on its head pfn only; still referenced or mapped)."""
    folio = k.folio_of_pfn(pfn)
    if folio is None:
        return -errno.ENXIO
    if k.hw_memory_failure:
        _unpoison_log(k, pfn, "disabled after HW memory failure")
        return -errno.EOPNOTSUPP
    subpage = pfn - folio.pfn
    if folio.state is FolioState.DISSOLVED:
        if subpage not in folio.isolated:
            _unpoison_log(k, pfn, "page was already unpoisoned")
            return -errno.EBUSY
        folio.isolated.discard(subpage)  # put_page_back_buddy()
        k.num_poisoned_pages -= 1
    else:
        if subpage != 0 or not folio.hwpoison:
            _unpoison_log(k, pfn, "page was already unpoisoned")
            return -errno.EBUSY
        if folio.mapping is not None or folio.mapcount or folio.anon:
            _unpoison_log(k, pfn, "someone grabs the hwpoison page")
            return -errno.EBUSY
        k.num_poisoned_pages -= len(folio.raw_hwp)  # folio_free_raw_hwp(): all at once
        folio.raw_hwp.clear()
        if folio.state is FolioState.LEAKED:
            k.free_folio(folio)
        else:
            folio.state = FolioState.FREE
    k.emit(EventKind.UNPOISON, pfn=pfn, folio=folio.number, subpage=subpage)
    _unpoison_log(k, pfn, "software-unpoisoned page")
    return 0


def soft_offline_page(k: Kernel, pfn: int) -> int:
    """soft_offline_page() for an in-use hugepage (E14): migrate its contents to a new
    hugepage, dissolve the old one and poison the raw page. No signal, no data lost.

    Returns 0 (also when already poisoned), -EOPNOTSUPP (vm.enable_soft_offline = 0), -EBUSY
    (no free hugepage to migrate to), -ENXIO (no such pfn).
    SIMPLIFICATION: the copy does not consume a latent hardware error of the source.
    """
    folio = k.folio_of_pfn(pfn)
    if folio is None:
        return -errno.ENXIO
    if not k.sysctls.get("vm.enable_soft_offline", 1):
        if not k.soft_offline_warned:
            k.soft_offline_warned = True
            k.printk("Soft offline: disabled by /proc/sys/vm/enable_soft_offline")
        return -errno.EOPNOTSUPP
    if folio.hwpoison or folio.state is FolioState.DISSOLVED:
        k.printk(f"Soft offline: {pfn:#x}: page already poisoned")
        return 0
    hstate = k.hstates[folio.hstate_name]
    new = k.alloc_folio(hstate, False)
    if new is None:
        k.printk(f"Soft offline: {pfn:#x}: hugepage migration failed -12")
        return -errno.EBUSY
    assert folio.contents is not None
    new.contents = folio.contents.copy()
    new.anon = folio.anon
    if folio.mapping is not None and folio.index is not None:
        memfd, index = folio.mapping, folio.index
        k.remove_from_pagecache(folio)
        k.add_to_pagecache(memfd, index, new)
    for proc in k.live_processes():
        for vma in proc.vmas:
            for pte in vma.ptes.values():
                if pte.folio is folio:
                    pte.folio = new
                    if not pte.hwpoison:
                        folio.mapcount -= 1
                        new.mapcount += 1
    subpage = pfn - folio.pfn
    folio.raw_hwp[subpage] = k.seq + 1
    folio.anon = False
    k.num_poisoned_pages += 1
    k.dissolve(folio)
    k.emit(EventKind.SOFT_OFFLINE, pfn=pfn, folio=folio.number, subpage=subpage)
    return 0
