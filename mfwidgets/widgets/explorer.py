"""Explorer: one guest memfd, its hugepages drawn subpage by subpage; click to inject an error,
load or store, and read what the kernel did and why.

Model, view and wiring are kept apart: ``Session`` (session.py) owns the kernel and the
history; the plots draw snapshots; ``Front`` (front.py) turns clicks into ``Action``
records. This module adds the setup controls, the pool and the counters to one lane.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..model import Kernel, SubpageState
from ..plots import FolioHeatmap, PoolView
from ..plots.diagram import error_path_svg
from .controls import control
from .display import bokeh_widget
from .front import Front, Lane, setup_bounds, size_controls
from .parts import CountersView, bytes_html, control_row, step_html
from .session import Action, Session, Setup, Step

#: The kernels one can pick: (carries the proposed series, version). Older versions are offered
#: stock only: the series is written for current kernels.
KERNELS = [(True, "7.3"), (False, "7.3"), (False, "6.12"), (False, "6.1")]


def kernel_label(series: bool, version: str) -> str:
    return f"{version} with the proposed series" if series else f"{version} stock"


def _setup_from(kernel: Kernel | None, **overrides: Any) -> Setup:
    if kernel is None:
        return Setup(**overrides)
    size = next((s for s, n in kernel.boot_hugepages.items() if n), "2M")
    series = kernel.supports_keep_ue_mapped
    lo, hi = setup_bounds("nr_hugepages")
    count = min(hi, max(lo, kernel.boot_hugepages[size]))
    return Setup(series, size, count, series, kernel.version)


class Explorer(Front):
    """Explore one guest memfd. ``.kernel`` is the live model, for the next cell to analyse;
    ``.session.steps`` is the history (``Step`` records with explanations and snapshots).

    ``Explorer(mf.Kernel(hugepages={"1G": 2}))`` starts from a freshly booted kernel;
    ``Explorer(size="2M", nr_hugepages=4, series=True, keep_ue_mapped=True)`` boots one.
    """

    def __init__(self, kernel: Kernel | None = None, *, theme: str = "light", **setup: Any) -> None:
        session = Session(_setup_from(kernel, **setup), kernel)
        self._updating = False
        self._theme = theme
        s = session.setup
        wide = {"description_width": "initial"}
        self._kernels = {kernel_label(*k): k for k in KERNELS}
        self._kernels.setdefault(kernel_label(s.series, s.version), (s.series, s.version))
        self._kernel_choice = w.Dropdown(
            options=list(self._kernels),
            value=kernel_label(s.series, s.version),
            description="kernel",
            tooltip="the model reproduces its behaviour: 7.3 and 6.12 alike, 6.1 differs",
            style=wide,
        )
        self._size, self._count = size_controls(s.size, s.nr_hugepages)
        self._keep = control(
            Setup,
            "keep_ue_mapped",
            s.keep_ue_mapped,
            description="memfd with MFD_MF_KEEP_UE_MAPPED",
        )
        self._step = w.HTML()
        self._bytes = w.HTML()
        # The error's path with this step highlighted; folded, so it costs no room unasked.
        self._path = w.HTML()
        self._path_box = w.Accordion(children=[self._path], selected_index=None)
        self._path_box.set_title(0, "Where this step is on the error's path")
        snap = session.steps[-1].snapshot
        self._heatmap = FolioHeatmap(snap, _guest_folio(session, 0), theme=theme)
        self._pool = PoolView(snap, theme=theme)
        self._counters = CountersView(snap, theme=theme)
        self._lane = Lane(session, self._heatmap)
        self._front([self._lane], "the VMM calls", theme)
        self._pool.on_select(self.show_folio)
        # One column: a notebook output area is about 900 px wide next to the file browser.
        # The heatmap comes first (it is what one clicks), the step text right under it.
        self._view = bokeh_widget(self._heatmap.figure)
        self._overview = w.VBox([bokeh_widget(self._pool.figure), self._counters])
        for widget in (self._kernel_choice, self._size, self._count, self._keep):
            widget.observe(self._on_setup_change, names="value")
        super().__init__(
            [
                control_row(self._kernel_choice, self._size, self._count, self._keep),
                control_row(self._kind, self._mode),
                control_row(w.HTML("the VMM calls:&nbsp;"), *self._buttons, self._reset),
                control_row(self._theme_choice),
                self._banner,
                self._view,
                self._history,
                self._step,
                self._bytes,
                self._path_box,
                self._overview,
            ],
            layout=w.Layout(max_width="100%"),
        )
        self._refresh()

    # -- what the next cell reads ------------------------------------------------------------
    @property
    def kernel(self) -> Kernel:
        return self._lane.session.kernel

    @property
    def session(self) -> Session:
        return self._lane.session

    # -- actions ------------------------------------------------------------------------------
    def click(self, folio: int, subpage: int) -> Step:
        """What a click on a cell does: inject, load or store, by the current controls."""
        return self._click(folio, subpage)[0]

    def act(self, action: Action) -> Step:
        """Apply ``action``; acting while an earlier step is shown replays up to it first."""
        return self._act(action)[0]

    def show_folio(self, number: int) -> None:
        """Draw hugepage ``number`` (a pool index) in the heatmap."""
        self._heatmap.show_folio(self._shown().snapshot, number)

    # -- setup changes --------------------------------------------------------------------------
    def _on_setup_change(self, change: dict[str, Any]) -> None:
        if self._updating:
            return
        series, version = self._kernels[self._kernel_choice.value]
        setup = Setup(
            series=series,
            size=self._size.value,
            nr_hugepages=self._count.value,
            keep_ue_mapped=self._keep.value,
            version=version,
        )
        self._rebuild(setup)

    def reset(self) -> None:
        self._rebuild(self.session.setup)

    def _rebuild(self, setup: Setup) -> None:
        try:
            session = Session(setup)
        except OSError as e:
            # e.g. the flag on a stock kernel: say so, and keep the world (and controls) as is.
            self._banner.show(str(e))
            self._set_controls(self.session.setup)
            return
        self._lane.session = session
        self._banner.show(None)
        snap = session.steps[-1].snapshot
        self._heatmap.clear_marks()
        self._heatmap.show_folio(snap, _guest_folio(session, 0))
        self._pool.update(snap)
        self._refresh()

    def _set_controls(self, setup: Setup) -> None:
        self._updating = True
        try:
            self._kernel_choice.value = kernel_label(setup.series, setup.version)
            self._size.value = setup.size
            self._count.value = setup.nr_hugepages
            self._keep.value = setup.keep_ue_mapped
        finally:
            self._updating = False

    # -- drawing --------------------------------------------------------------------------------
    def _shown(self) -> Step:
        return self.session.steps[self._history.index]

    def _show_step(self, index: int) -> None:
        steps = self.session.steps
        step = steps[index]
        self._heatmap.update(step.snapshot)
        self._pool.update(step.snapshot)
        # The step's own log and signals: never the live kernel's, which may be steps ahead.
        self._counters.update(step.snapshot, list(step.dmesg), list(step.signals))
        previous = steps[index - 1] if index else None
        self._step.value = step_html(step, previous, index, len(steps) - 1)
        self._bytes.value = bytes_html(step)
        self._path.value = error_path_svg(step.stage)

    def set_theme(self, theme: str) -> None:
        """Draw the plots in the "light" or "dark" theme."""
        super().set_theme(theme)
        self._pool.set_theme(theme)
        self._counters.set_theme(theme)
        self._theme = theme

    def legend(self) -> list[str]:
        """The state names a cell can have (the heatmap's legend)."""
        return [s.label for s in SubpageState]


def _guest_folio(session: Session, index: int) -> int:
    snap = session.steps[-1].snapshot
    return next((f.number for f in snap.folios if f.memfd == "guest" and f.index == index), 0)
