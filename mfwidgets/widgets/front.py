"""The one session front end: the controls every explorer shares, and its lanes.

A ``Lane`` is one kernel (a ``Session``) and the heatmap that draws it. A ``Front`` is the
controls around one or more lanes: the error kind, what a click does, the VMM's buttons,
reset, the banner, the history and the theme. A tap on any lane's heatmap becomes one
``Action`` that every lane applies; acting while an earlier step is shown replays every lane
up to it first. ``Explorer`` is a Front with one lane, ``PolicyComparison`` one with two.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w
from bokeh.events import Event, Tap

from ..params import declared
from ..plots import FolioHeatmap
from .controls import control
from .parts import BUTTON_STYLE, ErrorBanner, HistoryNav
from .session import BUTTON_OPS, CLICK_MODES, ERROR_KINDS, Action, Session, Setup, Step

THEMES = ("light", "dark")


def size_controls(size: str, nr_hugepages: int) -> tuple[w.ToggleButtons, w.IntSlider]:
    """The hugepage size and count controls, from Setup's declaration."""
    return (
        control(Setup, "size", size, toggle=True, description="hugepage size", style=BUTTON_STYLE),
        control(Setup, "nr_hugepages", nr_hugepages, description="hugepages"),
    )


def setup_bounds(name: str) -> tuple[int, int]:
    """The declared bounds of an integer Setup field."""
    bounds = next(p.bounds for f, p in declared(Setup) if f.name == name)
    assert bounds is not None
    return int(bounds[0]), int(bounds[1])


class Lane:
    """One kernel and its heatmap. ``session`` is replaced when history is rewritten."""

    def __init__(self, session: Session, heatmap: FolioHeatmap, title: str = "") -> None:
        self.session = session
        self.heatmap = heatmap
        self.title = title

    def rewind(self, index: int) -> None:
        """Forget the steps after ``index`` (replaying the ones before it)."""
        if index < len(self.session.steps) - 1:
            kept = self.session.actions[:index]
            self.session = Session.replay(self.session.setup, kept)

    def apply(self, action: Action) -> Step:
        step = self.session.apply(action)
        if action.folio == self.heatmap.number and action.subpage is not None:
            if step.access is not None and step.access.signal is not None:
                self.heatmap.mark_sigbus([action.subpage])
            elif action.op in ("load", "store") and step.error is None:
                self.heatmap.mark_loads([action.subpage])
        return step

    def step(self, index: int) -> Step:
        return self.session.steps[index]


class Front(w.VBox):  # type: ignore[misc]
    """The shared controls and their wiring; a subclass lays them out and draws a step."""

    def _front(self, lanes: Sequence[Lane], who: str, theme: str) -> None:
        """Make the shared controls for ``lanes``; ``who`` names the caller of the buttons."""
        self._lanes = list(lanes)
        self._kind = w.ToggleButtons(
            options=list(ERROR_KINDS), description="error", style=BUTTON_STYLE
        )
        self._mode = w.ToggleButtons(
            options=list(CLICK_MODES), description="click to", style=BUTTON_STYLE
        )
        self._buttons = [
            w.Button(description=op, tooltip=f"{who} {op}", layout=w.Layout(width="auto"))
            for op in BUTTON_OPS
        ]
        for op, button in zip(BUTTON_OPS, self._buttons, strict=True):
            button.on_click(lambda _, op=op: self.act(Action(op)))
        self._reset = w.Button(
            description="reset", button_style="warning", layout=w.Layout(width="auto")
        )
        self._reset.on_click(lambda _: self.reset())
        self._banner = ErrorBanner()
        self._history = HistoryNav(self._show_step)
        self._theme_choice = w.ToggleButtons(
            options=list(THEMES), value=theme, description="theme", style=BUTTON_STYLE
        )
        self._theme_choice.observe(lambda c: self.set_theme(c["new"]), names="value")
        for lane in self._lanes:
            lane.heatmap.figure.on_event(Tap, self._on_tap)

    # -- actions ------------------------------------------------------------------------------
    @property
    def folio(self) -> int:
        """The hugepage the heatmaps show."""
        return self._lanes[0].heatmap.number

    def _click(self, folio: int, subpage: int) -> tuple[Step, ...]:
        mode = self._mode.value
        kind = self._kind.value if mode == "inject" else None
        return self._act(Action(mode, folio, subpage, kind))

    def _act(self, action: Action) -> tuple[Step, ...]:
        """Apply ``action`` to every lane; acting while an earlier step is shown replays every
        lane up to it first. A refused call shows in the banner."""
        for lane in self._lanes:
            lane.rewind(self._history.index)
        steps = tuple(lane.apply(action) for lane in self._lanes)
        self._banner.show(self._refusal(steps))
        self._refresh()
        return steps

    def act(self, action: Action) -> object:  # each front end returns its own shape
        return self._act(action)

    def _refusal(self, steps: tuple[Step, ...]) -> str | None:
        return steps[0].error

    def _on_tap(self, event: Event) -> None:
        if not isinstance(event, Tap) or event.x is None or event.y is None:
            return
        subpage = self._lanes[0].heatmap.subpage_at(event.x, event.y)
        if subpage is not None:
            self._click(self.folio, subpage)

    def reset(self) -> None:
        """Boot again with the current controls."""

    # -- drawing --------------------------------------------------------------------------------
    def _refresh(self) -> None:
        total = len(self._lanes[0].session.steps)
        self._history.set(total - 1, total)
        self._show_step(total - 1)

    def _show_step(self, index: int) -> None:
        """Draw step ``index`` (the latest, or one the learner went back to)."""

    def set_theme(self, theme: str) -> None:
        """Draw the plots in the "light" or "dark" theme."""
        for lane in self._lanes:
            lane.heatmap.set_theme(theme)
