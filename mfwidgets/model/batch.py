"""A batch of user-space loads, as a guest workload issues them: the common case vectorized.

Mirrors: nothing new in the kernel: each load means exactly what Process.load() means. A load
that hits a present, healthy page never enters the kernel, so the model counts those with
numpy and runs only the others (first touches, poison, unmapped addresses) one by one through
the ordinary fault path, in order. After such a load changes a folio (maps it, poisons it),
the later loads into that folio are classified again; the rest keep their answer.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from .constants import PAGE_SHIFT, PAGE_SIZE
from .mm import user_access
from .siginfo import SigInfo
from .trace import EventKind

if TYPE_CHECKING:
    from .kernel import Kernel
    from .process import Process

# Events after which earlier answers to "is this load plain?" may be wrong. Most name the
# folio they changed: only the loads into that folio are classified again. The others may
# change any mapping: then the rest of the batch is.
_RECLASSIFY = {
    EventKind.FAULT,
    EventKind.COW,
    EventKind.UNMAP,
    EventKind.MEMORY_FAILURE,
    EventKind.INJECT,
    EventKind.DISSOLVE,
    EventKind.EXIT,
    EventKind.RELEASE,
}
_RECLASSIFY_ALL = {EventKind.DISSOLVE, EventKind.EXIT, EventKind.RELEASE}


@dataclasses.dataclass(frozen=True)
class LoadBatch:
    """What a batch of loads did: ``done`` loads ran (the rest did not, because a signal killed
    the process), ``ok`` of them completed, ``faults`` lists (index, SigInfo) of the others."""

    done: int
    ok: int
    faults: tuple[tuple[int, SigInfo], ...]


def _plain(
    proc: Process, addrs: np.ndarray, length: int, folios: set[int] | None = None
) -> np.ndarray:
    """True where a load of ``length`` bytes at that address hits a present page-table entry
    and no hardware-bad subpage, and stays within one 4 KiB page. With ``folios``, only the
    entries of those folios are looked at (the others answer False).

    Cost: the loads (a sorted lookup each) plus the entries and the bad subpages of the folios
    looked at, never a pass over the loads per entry."""
    plain = np.zeros(len(addrs), dtype=bool)
    inside_page = (addrs & (PAGE_SIZE - 1)) + length <= PAGE_SIZE
    for vma in proc.vmas:
        ptes = [
            (i, pte)
            for i, pte in vma.ptes.items()
            if not pte.hwpoison and (folios is None or pte.folio.number in folios)
        ]
        if not ptes:
            continue
        hit = np.flatnonzero((addrs >= vma.start) & (addrs < vma.end) & inside_page)
        if not len(hit):
            continue
        rel = addrs[hit] - vma.start
        index = vma.pgoff + (rel >> vma.shift)
        present = np.sort(np.fromiter((i for i, _ in ptes), dtype=np.int64, count=len(ptes)))
        at = np.minimum(np.searchsorted(present, index), len(present) - 1)
        good = present[at] == index
        # The bad subpages of these folios, as (file index, subpage) keys.
        nr_sub = 1 << (vma.shift - PAGE_SHIFT)
        bad = [i * nr_sub + s for i, pte in ptes for s in pte.folio.bad]
        if bad:
            subpage = (rel & ((1 << vma.shift) - 1)) >> PAGE_SHIFT
            keys = np.sort(np.fromiter(bad, dtype=np.int64, count=len(bad)))
            probe = index * nr_sub + subpage
            good &= keys[np.minimum(np.searchsorted(keys, probe), len(keys) - 1)] != probe
        plain[hit[good]] = True
    return plain


def _touching(proc: Process, addrs: np.ndarray, folios: set[int]) -> np.ndarray:
    """True where an address lies in a hugepage of ``proc`` that maps one of ``folios``."""
    near = np.zeros(len(addrs), dtype=bool)
    for vma in proc.vmas:
        for index, pte in vma.ptes.items():
            if pte.folio.number in folios:
                lo = vma.addr_of(index)
                near |= (addrs >= lo) & (addrs < lo + (1 << vma.shift))
    return near


def load_many(k: Kernel, proc: Process, addrs: np.ndarray, length: int) -> LoadBatch:
    """Load ``length`` bytes at each of ``addrs``, in order (see the module docstring).

    The batch is classified once; a load that enters the kernel and changes some folios
    (a first touch, a machine check) has only the later loads into those folios classified
    again, so the cost follows the loads and the poisoned pages they hit."""
    ok = 0
    faults: list[tuple[int, SigInfo]] = []
    n = len(addrs)
    plain = _plain(proc, addrs, length)
    i = 0
    while i < n:
        slow = np.flatnonzero(~plain[i:])
        if not len(slow):
            ok += n - i
            break
        j = i + int(slow[0])
        ok += j - i
        seq = k.seq
        _, signal, _ = user_access(k, proc, int(addrs[j]), length)
        k.deliver_signals()  # the next load runs after the handler, in user space
        if signal is None:
            ok += 1
        else:
            faults.append((j, signal))
        i = j + 1
        if proc in k.doomed:
            return LoadBatch(i, ok, tuple(faults))
        changed = [e for e in k.trace.since(seq) if e.kind in _RECLASSIFY]
        if not changed or i == n:
            continue
        rest = addrs[i:]
        if any(e.kind in _RECLASSIFY_ALL or e.folio is None for e in changed):
            plain[i:] = _plain(proc, rest, length)
            continue
        folios = {e.folio for e in changed if e.folio is not None}
        near = np.flatnonzero(_touching(proc, rest, folios))
        if len(near):
            plain[i + near] = _plain(proc, rest[near], length, folios)
    return LoadBatch(n, ok, tuple(faults))
