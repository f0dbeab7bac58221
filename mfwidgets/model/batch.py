"""A batch of user-space loads, as a guest workload issues them: the common case vectorized.

Mirrors: nothing new in the kernel: each load means exactly what Process.load() means. A load
that hits a present, healthy page never enters the kernel, so the model counts those with
numpy and runs only the others (first touches, poison, unmapped addresses) one by one through
the ordinary fault path, in order. After such a load changes the mappings or the poison, the
rest of the batch is classified again.
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

# Events after which earlier answers to "is this load plain?" may be wrong.
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


@dataclasses.dataclass(frozen=True)
class LoadBatch:
    """What a batch of loads did: ``done`` loads ran (the rest did not, because a signal killed
    the process), ``ok`` of them completed, ``faults`` lists (index, SigInfo) of the others."""

    done: int
    ok: int
    faults: tuple[tuple[int, SigInfo], ...]


def _plain(proc: Process, addrs: np.ndarray, length: int) -> np.ndarray:
    """True where a load of ``length`` bytes at that address hits a present page-table entry
    and no hardware-bad subpage, and stays within one 4 KiB page."""
    plain = np.zeros(len(addrs), dtype=bool)
    inside_page = (addrs & (PAGE_SIZE - 1)) + length <= PAGE_SIZE
    for vma in proc.vmas:
        hit = (addrs >= vma.start) & (addrs < vma.end) & inside_page
        if not hit.any() or not vma.ptes:
            continue
        rel = addrs[hit] - vma.start
        index = vma.pgoff + (rel >> vma.shift)
        subpage = (rel & ((1 << vma.shift) - 1)) >> PAGE_SHIFT
        good = np.zeros(len(rel), dtype=bool)
        for i, pte in vma.ptes.items():
            if pte.hwpoison:
                continue
            here = index == i
            if pte.folio.bad:
                bad = np.fromiter(pte.folio.bad, dtype=np.int64, count=len(pte.folio.bad))
                here &= ~np.isin(subpage, bad)
            good |= here
        plain[np.flatnonzero(hit)[good]] = True
    return plain


def load_many(k: Kernel, proc: Process, addrs: np.ndarray, length: int) -> LoadBatch:
    """Load ``length`` bytes at each of ``addrs``, in order (see the module docstring)."""
    ok = 0
    faults: list[tuple[int, SigInfo]] = []
    start = 0
    n = len(addrs)
    while start < n:
        plain = _plain(proc, addrs[start:], length)
        slow = np.flatnonzero(~plain)
        while True:
            if not len(slow):
                return LoadBatch(n, ok + n - start, tuple(faults))
            i = start + int(slow[0])
            ok += i - start
            seq = k.seq
            _, signal, _ = user_access(k, proc, int(addrs[i]), length)
            k.deliver_signals()  # the next load runs after the handler, in user space
            if signal is None:
                ok += 1
            else:
                faults.append((i, signal))
            start = i + 1
            if proc in k.doomed:
                return LoadBatch(start, ok, tuple(faults))
            if any(e.kind in _RECLASSIFY for e in k.trace.since(seq)):
                break
            slow = slow[1:] - (slow[0] + 1)
    return LoadBatch(n, ok, tuple(faults))
