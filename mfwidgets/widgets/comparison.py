"""PolicyComparison: the same clicks on a stock memfd and on an MFD_MF_KEEP_UE_MAPPED memfd,
side by side, with a one-line verdict of what differs.

Mirrors: me_huge_page() in mm/memory-failure.c, which hard-offlines the whole hugepage on a
stock kernel and, with the proposed flag, keeps it mapped and records only the raw error.

Two lanes (front.py), each a ``Session`` and its heatmap, own the two kernels and their
histories; both boot identical pools, so hugepage #n and subpage s name the same cell in
each. ``Front`` turns a click into one ``Action`` applied to both; ``verdict()`` is a pure
function of the two sessions.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
from bokeh.layouts import column

from ..model import PAGE_SHIFT, EventKind, Kernel, Signal, Snapshot, SubpageState
from ..plots import FolioHeatmap
from ..plots.heatmap import heatmap_title
from .display import bokeh_widget
from .front import Front, Lane, size_controls
from .parts import bytes_html, control_row, step_html
from .session import Action, Session, Setup, Step

STOCK_TITLE = "stock"
KEEP_TITLE = "MFD_MF_KEEP_UE_MAPPED"


def usable_subpages(session: Session, index: int = -1) -> int:
    """Subpages the guest can still count on: those of hugepages still in the guest memfd whose
    state is IN_USE (healthy, mapped or in the page cache).

    The rule is the same for both policies, and a poisoned 4 KiB page never counts. Under keep
    a software-poisoned subpage (HWPOISON_SW) keeps its bytes and its mapping, so a load of it
    even succeeds, as in the selftest; it still does not count, because it stands for a lost
    page and the kernel told the VMM so (SIGBUS, lsb 12). A latent hardware error does not
    count before anything notices it. Offlined (stock), leaked and dissolved subpages, and
    hugepages that left the memfd (ftruncate, release), count for nothing.
    """
    snap = session.steps[index].snapshot
    return sum(
        int((f.codes() == SubpageState.IN_USE).sum()) for f in snap.folios if f.memfd == "guest"
    )


def _signals(session: Session, index: int) -> str:
    """E.g. "1 SIGBUS (lsb 21)": how many SIGBUS the VMM got up to step ``index``, and their
    si_addr_lsb values."""
    upto = session.steps[: len(session.steps) + index + 1 if index < 0 else index + 1]
    lsbs = [
        e.addr_lsb or 0
        for step in upto
        for e in step.events
        if e.kind is EventKind.SIGNAL and e.pid == session.vmm.pid and e.signal is Signal.SIGBUS
    ]
    if not lsbs:
        return "no SIGBUS"
    return f"{len(lsbs)} SIGBUS (lsb {', '.join(str(v) for v in sorted(set(lsbs)))})"


def _nr_hugepages(session: Session, index: int) -> int:
    return session.steps[index].snapshot.hstates[session.setup.size].nr_hugepages


def verdict(stock: Session, keep: Session, index: int = -1) -> str:
    """One line on what differs, e.g. "stock: 1536 of 2048 subpages still usable, 1 SIGBUS
    (lsb 21), nr_hugepages 4 | keep: 2047 usable, 1 SIGBUS (lsb 12), nr_hugepages 4".

    Usable subpages: ``usable_subpages()``; "of N" is the guest memfd's size at boot, in 4 KiB
    subpages. SIGBUS: those delivered to the VMM, with their distinct si_addr_lsb values.
    nr_hugepages: the pool of the session's hugepage size (a leaked hugepage stays counted).
    """
    nr_pages = stock.hugepage_size >> PAGE_SHIFT
    total = stock.setup.nr_hugepages * nr_pages
    return (
        f"stock: {usable_subpages(stock, index)} of {total} subpages still usable, "
        f"{_signals(stock, index)}, nr_hugepages {_nr_hugepages(stock, index)} | "
        f"keep: {usable_subpages(keep, index)} usable, {_signals(keep, index)}, "
        f"nr_hugepages {_nr_hugepages(keep, index)}"
    )


class _PolicyHeatmap(FolioHeatmap):
    """A FolioHeatmap whose title starts with the policy it draws ("stock: hugepage #0 ...")."""

    def __init__(self, prefix: str, snap: Snapshot, number: int, **kw: Any) -> None:
        self.prefix = prefix
        super().__init__(snap, number, **kw)
        self._retitle(snap)

    def _retitle(self, snap: Snapshot) -> None:
        self._title.text = f"{self.prefix}: {heatmap_title(snap.folios[self.number])}"

    def update(self, snap: Snapshot) -> int:
        cells = super().update(snap)
        self._retitle(snap)
        return cells

    def show_folio(self, snap: Snapshot, number: int) -> None:
        super().show_folio(snap, number)
        self._retitle(snap)


class PolicyComparison(Front):
    """One click, two kernels: stock (hard offline) above, MFD_MF_KEEP_UE_MAPPED below.

    ``.stock`` and ``.keep`` are the two Sessions (history of Step records), ``.kernels`` the
    two live kernels, for the next cell to analyse. ``click(folio, subpage)`` does what a click
    on a cell of either heatmap does.
    """

    def __init__(self, size: str = "2M", nr_hugepages: int = 4, *, theme: str = "light") -> None:
        stock, keep = self._boot(size, nr_hugepages)
        self._updating = False
        self._size, self._count = size_controls(size, nr_hugepages)
        self._folio = w.Dropdown(
            description="show hugepage #",
            style={"description_width": "initial"},
            layout=w.Layout(width="200px", margin="2px 24px 2px 2px"),
        )
        self._verdict = w.HTML()
        half = w.Layout(flex="1 1 0", min_width="300px", padding="0 8px 0 0")
        self._stock_text = w.HTML(layout=half)
        self._keep_text = w.HTML(layout=w.Layout(flex="1 1 0", min_width="300px"))
        snap_s, snap_k = stock.steps[-1].snapshot, keep.steps[-1].snapshot
        self._stock_map = _PolicyHeatmap(STOCK_TITLE, snap_s, 0, theme=theme)
        self._keep_map = _PolicyHeatmap(KEEP_TITLE, snap_k, 0, theme=theme)
        self._stock_lane = Lane(stock, self._stock_map, STOCK_TITLE)
        self._keep_lane = Lane(keep, self._keep_map, KEEP_TITLE)
        self._front([self._stock_lane, self._keep_lane], "both VMMs call", theme)
        # Stacked, not side by side: one heatmap with its legend is ~800 px, the whole
        # output area is ~900 px.
        self._view = bokeh_widget(column(self._stock_map.figure, self._keep_map.figure))
        self._size.observe(self._on_setup_change, names="value")
        self._count.observe(self._on_setup_change, names="value")
        self._folio.observe(self._on_folio_pick, names="value")
        texts = w.HBox([self._stock_text, self._keep_text], layout=w.Layout(flex_flow="row wrap"))
        super().__init__(
            [
                control_row(self._size, self._count, self._folio, self._theme_choice),
                control_row(self._kind, self._mode),
                control_row(w.HTML("both VMMs call:&nbsp;"), *self._buttons, self._reset),
                self._banner,
                self._verdict,
                self._view,
                self._history,
                texts,
            ],
            layout=w.Layout(max_width="100%"),
        )
        self._set_folio_options()
        self._refresh()

    @staticmethod
    def _boot(size: str, nr_hugepages: int) -> tuple[Session, Session]:
        stock = Session(Setup(False, size, nr_hugepages, False))
        keep = Session(Setup(True, size, nr_hugepages, True))
        return stock, keep

    # -- what the next cell reads ------------------------------------------------------------
    @property
    def stock(self) -> Session:
        return self._stock_lane.session

    @property
    def keep(self) -> Session:
        return self._keep_lane.session

    @property
    def kernels(self) -> tuple[Kernel, Kernel]:
        """(stock kernel, keep kernel)."""
        return self.stock.kernel, self.keep.kernel

    # -- actions ------------------------------------------------------------------------------
    def click(self, folio: int, subpage: int) -> tuple[Step, Step]:
        """What a click on a cell does, to both sessions: inject, load or store."""
        stock, keep = self._click(folio, subpage)
        return stock, keep

    def act(self, action: Action) -> tuple[Step, Step]:
        """Apply ``action`` to both sessions; a refused call shows in the banner. Acting while
        an earlier step is shown replays both sessions up to it first."""
        stock, keep = self._act(action)
        return stock, keep

    def _refusal(self, steps: tuple[Step, ...]) -> str | None:
        if steps[0].error and steps[0].error == steps[1].error:
            return f"both: {steps[0].error}"  # the same refusal, said once
        return " | ".join(
            f"{lane.title}: {s.error}"
            for lane, s in zip(self._lanes, steps, strict=True)
            if s.error
        )

    def show_folio(self, number: int) -> None:
        """Draw hugepage ``number`` (a pool index, the same in both kernels) in both heatmaps."""
        for lane in self._lanes:
            lane.heatmap.show_folio(lane.session.steps[-1].snapshot, number)
        self._updating = True  # the dropdown follows; its observer must not draw again
        try:
            self._folio.value = number
        finally:
            self._updating = False

    def _on_folio_pick(self, change: dict[str, Any]) -> None:
        if not self._updating and change["new"] is not None:
            self.show_folio(change["new"])

    # -- setup changes --------------------------------------------------------------------------
    def _on_setup_change(self, change: dict[str, Any]) -> None:
        self.reset()

    def reset(self) -> None:
        """Boot both kernels again from the controls (reset keeps the controls as they are)."""
        self._stock_lane.session, self._keep_lane.session = self._boot(
            self._size.value, self._count.value
        )
        self._banner.show(None)
        self._set_folio_options()
        self.show_folio(0)
        self._refresh()

    def _set_folio_options(self) -> None:
        self._updating = True
        try:
            self._folio.options = list(range(self.stock.setup.nr_hugepages))
            self._folio.value = 0
        finally:
            self._updating = False

    # -- drawing --------------------------------------------------------------------------------
    def _show_step(self, index: int) -> None:
        """Draw step ``index`` of both sessions (the latest, or one the learner went back to)."""
        # One line as data, two lines on screen: stock above keep, as the heatmaps are.
        lines = verdict(self.stock, self.keep, index).split(" | ")
        self._verdict.value = "<b>" + "<br>".join(html.escape(t) for t in lines) + "</b>"
        for lane, text in zip(self._lanes, (self._stock_text, self._keep_text), strict=True):
            steps = lane.session.steps
            step = steps[index]
            lane.heatmap.update(step.snapshot)
            previous = steps[index - 1] if index else None
            text.value = (
                f"<h4>{lane.title}</h4>"
                + step_html(step, previous, index, len(steps) - 1)
                + bytes_html(step)
            )
