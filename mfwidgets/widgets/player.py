"""ScenarioPlayer: a scenario played step by step, forward, back or on a timer, with the call,
the explanation, the heatmap and the counters of each step.

The model is deterministic, so the player runs the whole scenario once in one ``Session`` and
showing step i is drawing ``session.steps[i]``: going back costs nothing and replays nothing.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ..model import EventKind, Kernel
from ..plots import FolioHeatmap
from .display import bokeh_widget
from .parts import CountersView, ErrorBanner, control_row, step_html
from .scenario import BUILTIN, HARD_OFFLINE_1G, PLAY_INTERVAL_MS, Scenario
from .session import Session, Step


def _folio_of(step: Step, current: int) -> int:
    """The hugepage a step touched: the clicked one, else the first whose cells changed."""
    if step.action.folio is not None:
        return step.action.folio
    return step.changed[0][0] if step.changed else current


class ScenarioPlayer(w.VBox):  # type: ignore[misc]
    """Play a Scenario: reset, back, forward, or play on a timer; each step shows its call,
    its explanation, the cells it touched and the counters after it.

    Read by the next cell: ``.scenario``, ``.index`` (the step shown, 0 = the boot), ``.step``
    (that Step; its ``snapshot`` is the world after it), ``.steps``. ``.kernel`` is the kernel
    after the *whole* scenario, whatever step is shown: the player runs every step once, up
    front. The kernel as it was after step i is
    ``Session.replay(p.scenario.setup, p.scenario.steps[:i]).kernel``.
    """

    def __init__(self, scenario: Scenario = HARD_OFFLINE_1G, *, theme: str = "light") -> None:
        self._scenario = scenario
        self._session = Session.replay(scenario.setup, scenario.steps)
        self._index = 0
        self._updating = False
        # Font Awesome icons (JupyterLab ships them): "⏮" is missing from common fonts.
        button = {"layout": w.Layout(width="auto")}
        self._choice = w.Dropdown(
            options=list(BUILTIN), description="scenario", layout=w.Layout(width="620px")
        )
        self._about = w.HTML()
        self._first = w.Button(
            description="reset", icon="fast-backward", tooltip="back to the boot (step 0)", **button
        )
        self._back = w.Button(
            description="back", icon="step-backward", tooltip="one step back", **button
        )
        self._forward = w.Button(
            description="forward", icon="step-forward", tooltip="one step forward", **button
        )
        self._play = w.Play(interval=PLAY_INTERVAL_MS, show_repeat=False, tooltip="play")
        self._call = w.HTML()
        self._banner = ErrorBanner()
        self._step = w.HTML()
        self._json = w.Textarea(rows=10, layout=w.Layout(width="100%"))
        self._load_json = w.Button(description="load JSON")
        snap = self._session.steps[0].snapshot
        self._heatmap = FolioHeatmap(snap, 0, theme=theme)
        self._counters = CountersView(snap, theme=theme)
        self._play.observe(lambda c: self._show(c["new"]), names="value")
        self._first.on_click(lambda _: self.goto(0))
        self._back.on_click(lambda _: self.goto(max(0, self._index - 1)))
        self._forward.on_click(lambda _: self.goto(min(self._last, self._index + 1)))
        self._choice.observe(self._on_choice, names="value")
        self._load_json.on_click(self._on_load_json)
        editor = w.Accordion(
            [w.VBox([self._json, self._load_json])],
            titles=("edit or paste a scenario (JSON)",),
            selected_index=None,
        )
        super().__init__(
            [
                control_row(self._choice),
                self._about,
                control_row(self._first, self._back, self._forward, self._play, self._call),
                self._banner,
                bokeh_widget(self._heatmap.figure),
                self._step,
                self._counters,
                editor,
            ],
            layout=w.Layout(max_width="100%"),
        )
        self.load(scenario)

    # -- what the next cell reads ------------------------------------------------------------
    @property
    def scenario(self) -> Scenario:
        return self._scenario

    @property
    def index(self) -> int:
        return self._index

    @property
    def steps(self) -> list[Step]:
        return self._session.steps

    @property
    def step(self) -> Step:
        return self._session.steps[self._index]

    @property
    def kernel(self) -> Kernel:
        """The kernel after the last step (see the class docstring)."""
        return self._session.kernel

    @property
    def _last(self) -> int:
        return len(self._session.steps) - 1

    # -- navigation -----------------------------------------------------------------------------
    def load(self, scenario: Scenario) -> None:
        """Run ``scenario`` to the end and show its step 0."""
        self._session = Session.replay(scenario.setup, scenario.steps)
        self._scenario = scenario
        self._play.playing = False
        self._updating = True  # the dropdown follows; its observer must not load again
        try:
            self._choice.value = scenario.title if scenario.title in BUILTIN else None
        finally:
            self._updating = False
        self._json.value = scenario.to_json()
        s = scenario.setup
        kernel = (
            f"{s.version} kernel with the proposed series" if s.series else f"stock {s.version}"
        )
        self._about.value = (
            f"<b>{html.escape(scenario.title)}</b><br>{kernel}, {s.nr_hugepages} x {s.size} "
            f"hugepages, guest memfd: {s.policy}; {len(scenario.steps)} steps after the boot"
        )
        self._heatmap.show_folio(self._session.steps[0].snapshot, 0)
        self._play.max = self._last  # may clamp the value: the observer draws a valid step
        self.goto(0)

    def goto(self, index: int) -> Step:
        """Show step ``index`` (0 = the boot, ``len(scenario.steps)`` = the end).

        Raises: IndexError outside 0..len(scenario.steps).
        """
        if not 0 <= index <= self._last:
            raise IndexError(f"step {index} is not in 0..{self._last}")
        if self._play.value != index:
            self._play.value = index  # the Play widget holds the index; its observer draws
        else:
            self._show(index)
        return self.step

    def _on_choice(self, change: dict[str, Any]) -> None:
        if not self._updating and change["new"] is not None:
            self.load(BUILTIN[change["new"]])

    def _on_load_json(self, _: object) -> None:
        try:
            scenario = Scenario.from_json(self._json.value)
        except ValueError as e:
            # The learner's text stays in the box to be fixed; the old scenario stays loaded.
            self._banner.show(f"cannot load this scenario: {e}")
            return
        self.load(scenario)

    # -- drawing --------------------------------------------------------------------------------
    def _show(self, index: int) -> None:
        steps = self._session.steps
        step = steps[index]
        self._index = index
        folio = _folio_of(step, self._heatmap.number)
        self._heatmap.clear_marks()
        if folio != self._heatmap.number:
            self._heatmap.show_folio(step.snapshot, folio)
        else:
            self._heatmap.update(step.snapshot)
        a = step.action
        if a.folio == folio and a.subpage is not None:
            # A SIGBUS in this step (a load of poison, or MADV_HWPOISON's to its caller)
            # crosses the cell; a clean load or store dots it.
            if any(e.kind is EventKind.SIGNAL for e in step.events):
                self._heatmap.mark_sigbus([a.subpage])
            elif a.op in ("load", "store") and step.error is None:
                self._heatmap.mark_loads([a.subpage])
        self._banner.show(step.error)
        self._call.value = (
            f"&nbsp;step {index} of {self._last}: <code>{html.escape(step.call)}</code>"
        )
        self._step.value = step_html(step, steps[index - 1] if index else None, index, self._last)
        shown = [e for s in steps[: index + 1] for e in s.events]
        dmesg = [e.text for e in shown if e.kind is EventKind.PRINTK and e.text]
        signals = [e.text for e in shown if e.kind is EventKind.SIGNAL and e.text]
        self._counters.update(step.snapshot, dmesg[-12:], signals[-12:])
        self._first.disabled = self._back.disabled = index == 0
        self._forward.disabled = index == self._last

    def set_theme(self, theme: str) -> None:
        """Draw the plots in the "light" or "dark" theme."""
        self._heatmap.set_theme(theme)
        self._counters.set_theme(theme)
