"""Snapshot: an immutable view of the kernel for plots and widgets.

Mirrors: nothing in the kernel; it is what a heatmap draws. One small-integer state code per
4 KiB subpage of every hugepage, built on demand per folio, so a snapshot of a 1.5 TiB host
costs what its poisoned pages cost until a folio's codes are asked for.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from .folio import FolioState
from .hstate import HstateCounters

if TYPE_CHECKING:
    from .kernel import Kernel


class SubpageState(enum.IntEnum):
    """The state of one 4 KiB subpage, as a heatmap colours it."""

    FREE = 0  # part of a free hugepage
    IN_USE = 1  # healthy, in a hugepage in use (mapped or in a memfd's page cache)
    HWPOISON_SW = 2  # poisoned by software injection (MADV_HWPOISON, corrupt-pfn): data intact
    HW_LATENT = 3  # a real DRAM error nobody has detected yet: data lost
    HWPOISON_HW = 4  # a real DRAM error memory_failure() has handled: data lost
    OFFLINED = 5  # healthy, but its hugepage is hard-offlined (stock): unreachable
    LEAKED = 6  # healthy, but its hugepage was leaked (stock): stranded, never reused
    FREE_POISONED = 7  # healthy, in a poisoned free hugepage that is never handed out
    DISSOLVED = 8  # healthy, given back to the buddy allocator as a 4 KiB page
    ISOLATED = 9  # poisoned and dissolved: isolated forever

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    SubpageState.FREE: "free",
    SubpageState.IN_USE: "in use",
    SubpageState.HWPOISON_SW: "hwpoison (software)",
    SubpageState.HW_LATENT: "hardware error, latent",
    SubpageState.HWPOISON_HW: "hwpoison (hardware)",
    SubpageState.OFFLINED: "offlined",
    SubpageState.LEAKED: "leaked",
    SubpageState.FREE_POISONED: "free, poisoned hugepage",
    SubpageState.DISSOLVED: "dissolved (buddy)",
    SubpageState.ISOLATED: "isolated",
}

_HEALTHY_CODE = {
    FolioState.FREE: SubpageState.FREE,
    FolioState.FREE_POISONED: SubpageState.FREE_POISONED,
    FolioState.IN_USE: SubpageState.IN_USE,
    FolioState.KEPT: SubpageState.IN_USE,
    FolioState.OFFLINED: SubpageState.OFFLINED,
    FolioState.LEAKED: SubpageState.LEAKED,
    FolioState.DISSOLVED: SubpageState.DISSOLVED,
}


@dataclasses.dataclass(frozen=True)
class FolioView:
    """One hugepage as it was when the snapshot was taken."""

    number: int
    size: str  # "2M" or "1G"
    pfn: int
    nr_pages: int
    state: FolioState
    memfd: str | None  # the owning memfd's name
    index: int | None  # its page-cache index in that memfd
    anon: bool
    keep_ue_mapped: bool
    mapped_by: tuple[int, ...]  # pids with a present entry
    raw_hwp: frozenset[int]
    bad: frozenset[int]
    isolated: frozenset[int]
    mapped_at: tuple[tuple[int, int], ...]  # (pid, virtual address of subpage 0) per mapping
    last_event: Mapping[int, str]  # subpage -> the last event that touched it, described

    def codes(self) -> np.ndarray:
        """A read-only uint8 array of SubpageState, one per 4 KiB subpage."""
        out = np.full(self.nr_pages, _HEALTHY_CODE[self.state], dtype=np.uint8)
        if self.state is FolioState.DISSOLVED:
            out[list(self.bad)] = SubpageState.HW_LATENT
            out[list(self.isolated)] = SubpageState.ISOLATED
        else:
            out[list(self.raw_hwp)] = SubpageState.HWPOISON_SW
            out[list(self.bad)] = SubpageState.HW_LATENT
            out[list(self.bad & self.raw_hwp)] = SubpageState.HWPOISON_HW
        out.flags.writeable = False
        return out


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """Everything a view draws, frozen at trace position ``seq``."""

    seq: int
    supports_keep_ue_mapped: bool
    folios: tuple[FolioView, ...]
    meminfo: Mapping[str, int]
    hstates: Mapping[str, HstateCounters]
    mf_stats: Mapping[str, int]

    def codes(self, number: int) -> np.ndarray:
        """The subpage codes of folio ``number``."""
        return self.folios[number].codes()


def _describe(k: Kernel, seq: int) -> str:
    event = k.trace.event(seq)
    return f"#{seq} (no longer in the trace)" if event is None else event.describe()


def take_snapshot(k: Kernel) -> Snapshot:
    mapped: dict[int, list[int]] = {}
    mapped_at: dict[int, list[tuple[int, int]]] = {}
    for proc in k.live_processes():
        for vma in proc.vmas:
            for index, pte in vma.ptes.items():
                if not pte.hwpoison:
                    pids = mapped.setdefault(pte.folio.number, [])
                    if proc.pid not in pids:
                        pids.append(proc.pid)
                    mapped_at.setdefault(pte.folio.number, []).append(
                        (proc.pid, vma.addr_of(index))
                    )
    views = tuple(
        FolioView(
            number=f.number,
            size=f.hstate_name,
            pfn=f.pfn,
            nr_pages=f.nr_pages,
            state=f.state,
            memfd=None if f.mapping is None else f.mapping.name,
            index=f.index,
            anon=f.anon,
            keep_ue_mapped=f.keep_ue_mapped,
            mapped_by=tuple(mapped.get(f.number, ())),
            raw_hwp=frozenset(f.raw_hwp),
            bad=frozenset(f.bad),
            isolated=frozenset(f.isolated),
            mapped_at=tuple(mapped_at.get(f.number, ())),
            last_event={s: _describe(k, seq) for s, seq in f.last_event.items()},
        )
        for f in k.folios
    )
    return Snapshot(
        seq=k.seq,
        supports_keep_ue_mapped=k.supports_keep_ue_mapped,
        folios=views,
        meminfo=k.meminfo(),
        hstates={name: h.counters() for name, h in k.hstates.items()},
        mf_stats=dataclasses.asdict(k.mf_stats),
    )
