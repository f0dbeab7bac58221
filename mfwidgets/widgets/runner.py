"""WorkloadRunner: a guest under load on each recovery policy, tick by tick, side by side.

Model, view and wiring are kept apart: ``Workload`` (workload.py) simulates; FolioHeatmap draws
snapshots; this module builds the controls from WorkloadParams' declarations (controls.py) and turns
presses into ``step()`` and ``reset()``.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any

import ipywidgets as w
from bokeh.models.annotations.labels import Title

from ..model import PAGE_SHIFT, SZ_1G, Kernel, Snapshot, SubpageState
from ..plots import SUBPAGE_COLORS, FolioHeatmap
from .controls import control
from .display import bokeh_widget
from .parts import ErrorBanner
from .workload import MEMFD_NAME, POLICIES, POLICY_LABELS, TickResult, Workload, WorkloadParams

HEATMAP_PX = 330  # cell area of each 1 GiB heatmap: two side by side fit a 900 px output
TICK_MS = 100  # the Play widget's interval
LEGEND_STATES = (
    SubpageState.IN_USE,
    SubpageState.HW_LATENT,
    SubpageState.HWPOISON_HW,
    SubpageState.OFFLINED,
)
INTRO = (
    "Both guests issue the <i>same</i> loads and get the <i>same</i> hardware errors (UEs). "
    "Neither guest handles SIGBUS: a load that consumes a UE kills it, and the VMM, which "
    "keeps the memfd open, restarts it at once (the rest of that tick's loads are dropped). "
    "A restarted guest does not know which pages are bad, so it can die on the same poisoned "
    "4 KiB again; a real VMM forwards the error to the guest kernel, which stops using it."
)
ROWS = (
    ("ticks", "ticks"),
    ("hardware_ues", "hardware UEs so far"),
    ("loads_issued", "loads issued"),
    ("good_loads", "good loads"),
    ("sigbus", "SIGBUS"),
    ("vm_deaths", "VM deaths (guest killed, restarted)"),
    ("loads_dropped", "loads dropped while rebooting"),
)
_WIDE = {"description_width": "initial"}
_TEXT = "line-height:1.35"  # JupyterLab's widget HTML line height is for one-line labels


def _row(*children: w.Widget) -> w.HBox:
    return w.HBox(list(children), layout=w.Layout(flex_flow="row wrap", align_items="center"))


def _size(nbytes: float) -> str:
    """4096 -> "4 KiB"; 1 << 30 -> "1 GiB"; 0 -> "0"."""
    for shift, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
        if nbytes >= 1 << shift:
            return f"{nbytes / (1 << shift):.4g} {unit}"
    return f"{nbytes:.0f} B" if nbytes else "0"


def counts_html(totals: dict[str, dict[str, float]], size: int) -> str:
    """The running counts per policy as an HTML table."""
    head = "".join(f"<th>{html.escape(POLICY_LABELS[p])}</th>" for p in POLICIES)
    rows = [
        f"<tr><td>{label}</td>"
        + "".join(f"<td>{int(totals[p][key]):,}</td>" for p in POLICIES)
        + "</tr>"
        for key, label in ROWS
    ]
    usable = "".join(
        f"<td><b>{totals[p]['usable_bytes'] / SZ_1G:.4f} GiB "
        f"({100 * totals[p]['usable_fraction']:.4f} %)</b><br>"
        f"lost: {_size(size - totals[p]['usable_bytes'])}</td>"
        for p in POLICIES
    )
    rows.append(f"<tr><td><b>memory still usable</b></td>{usable}</tr>")
    style = (
        "<style>.mfw-runner td,.mfw-runner th{padding:0 10px;text-align:right;line-height:1.3}"
        ".mfw-runner td:first-child{text-align:left}</style>"
    )
    return f'{style}<table class="mfw-runner"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def tick_html(number: int, results: dict[str, TickResult]) -> str:
    """One line per policy on what the last tick did."""
    if not results:
        return f"<div style='{_TEXT}'><i>no tick yet: press ▶ or a step button</i></div>"
    lines = []
    for p in POLICIES:
        r = results[p]
        what = f"{r.good:,} good loads"
        if r.signals:
            what += f"; {r.signals[0]!r}"
        if r.died:
            what += f"; guest killed and restarted, {r.dropped:,} loads dropped"
        lines.append(f"<b>{html.escape(POLICY_LABELS[p])}</b>: {html.escape(what)}")
    return f"<div style='{_TEXT}'><i>last tick ({number}):</i><br>" + "<br>".join(lines) + "</div>"


def legend_html() -> str:
    swatches = "".join(
        f'<span style="display:inline-block;width:12px;height:12px;background:'
        f'{SUBPAGE_COLORS[s]};border:1px solid #808080;margin:0 4px 0 12px"></span>{s.label}'
        for s in LEGEND_STATES
    )
    marks = (
        "&nbsp;&nbsp; <b>✕</b> a load got SIGBUS here (last 64) &nbsp; <b>◯</b> lens: a 4 KiB "
        "subpage with an error, enlarged (a cell is under one pixel)"
    )
    return f"<div style='font-size:12px;{_TEXT}'>4 KiB subpage:{swatches}<br>{marks}</div>"


def _guest_folio(snap: Snapshot, index: int = 0) -> int:
    return next(f.number for f in snap.folios if f.memfd == MEMFD_NAME and f.index == index)


class WorkloadRunner(w.VBox):  # type: ignore[misc]
    """Run a guest workload on stock and on MFD_MF_KEEP_UE_MAPPED side by side.

    ``WorkloadRunner(pattern="hot set", ue_rate=2)``; ``.workload`` is the simulation,
    ``.kernels`` is (stock, keep), ``.kernel`` the keep kernel, for the next cell to analyse.
    """

    def __init__(
        self, params: WorkloadParams | None = None, *, theme: str = "light", **changes: Any
    ) -> None:
        self._theme = theme
        params = dataclasses.replace(params or WorkloadParams(), **changes)
        self._workload = Workload(params)
        self._last: dict[str, TickResult] = {}
        self._updating = False
        self._controls = {
            f.name: control(params, f.name, getattr(params, f.name), style=_WIDE)
            for f in dataclasses.fields(params)
        }
        for widget in self._controls.values():
            widget.observe(self._on_change, names="value")
        self._play = w.Play(
            value=0, min=0, max=10**9, interval=TICK_MS, show_repeat=False, tooltip="run / pause"
        )
        self._play.observe(self._on_play, names="value")
        buttons = {"step 1 tick": 1, "step 10 ticks": 10}
        self._buttons = [w.Button(description=d, layout=w.Layout(width="auto")) for d in buttons]
        for button in self._buttons:
            button.on_click(lambda b: self.step(buttons[b.description]))
        self._reset_button = w.Button(
            description="reset", button_style="warning", layout=w.Layout(width="auto")
        )
        self._reset_button.on_click(lambda _: self.reset())
        self._banner = ErrorBanner()
        self._counts = w.HTML()
        self._tick = w.HTML()
        self._heatmaps = self._make_heatmaps()
        self._views = [bokeh_widget(h.figure) for h in self._heatmaps]
        views = [
            w.VBox([w.HTML(f"<b>{html.escape(POLICY_LABELS[p])}</b>"), view])
            for p, view in zip(POLICIES, self._views, strict=True)
        ]
        c = self._controls
        super().__init__(
            [
                _row(c["pattern"], c["nr_hugepages"], c["seed"]),
                _row(c["loads_per_tick"], c["ue_rate"], c["hot_fraction"]),
                _row(self._play, *self._buttons, self._reset_button),
                self._banner,
                w.HTML(f"<div style='max-width:880px;{_TEXT}'>{INTRO}</div>"),
                self._counts,
                self._tick,
                _row(*views),
                w.HTML(legend_html()),
            ],
            layout=w.Layout(max_width="100%"),
        )
        self._refresh()

    # -- what the next cell reads ------------------------------------------------------------
    @property
    def workload(self) -> Workload:
        return self._workload

    @property
    def params(self) -> WorkloadParams:
        return self._workload.params

    @property
    def kernels(self) -> tuple[Kernel, Kernel]:
        """(stock, keep)."""
        k = self._workload.kernels
        return k["stock"], k["keep"]

    @property
    def kernel(self) -> Kernel:
        """The kernel with MFD_MF_KEEP_UE_MAPPED (proposed)."""
        return self._workload.kernels["keep"]

    # -- actions --------------------------------------------------------------------------------
    def step(self, n: int = 1) -> dict[str, dict[str, float]]:
        """Run ``n`` ticks, then redraw once. Returns the totals."""
        marks: dict[str, list[int]] = {p: [] for p in POLICIES}
        for _ in range(max(0, int(n))):
            self._last = self._workload.tick()
            for p in POLICIES:
                # The heatmap shows hugepage #0 of the guest: offsets below 1 GiB.
                marks[p] += [off >> PAGE_SHIFT for off in self._last[p].sigbus if off < SZ_1G]
        for p, heatmap in zip(POLICIES, self._heatmaps, strict=True):
            if marks[p]:
                heatmap.mark_sigbus(marks[p])
        return self._refresh()

    def set(self, **changes: Any) -> bool:
        """Change parameters and reset; an invalid value shows the banner and changes nothing.
        Returns True if the change was applied."""
        try:
            params = dataclasses.replace(self.params, **changes)
        except (ValueError, TypeError) as e:
            self._banner.show(f"invalid setting: {e}")
            return False
        self.reset(params)
        return True

    def reset(self, params: WorkloadParams | None = None) -> None:
        """Start over: fresh kernels and guests (with ``params`` if given)."""
        self._workload = Workload(params or self.params)
        self._last = {}
        self._banner.show(None)
        self._updating = True
        try:
            for name, control in self._controls.items():
                control.value = getattr(self.params, name)
        finally:
            self._updating = False
        for kernel, heatmap in zip(self.kernels, self._heatmaps, strict=True):
            snap = kernel.snapshot()
            heatmap.show_folio(snap, _guest_folio(snap))
        self._refresh()

    # -- wiring ---------------------------------------------------------------------------------
    def _on_change(self, change: dict[str, Any]) -> None:
        if self._updating:
            return
        name = next(n for n, c in self._controls.items() if c is change["owner"])
        self.set(**{name: change["new"]})

    def _on_play(self, change: dict[str, Any]) -> None:
        if change["new"] > change["old"]:  # the stop button rewinds to 0: no tick
            self.step(1)

    # -- drawing --------------------------------------------------------------------------------
    def _make_heatmaps(self) -> list[FolioHeatmap]:
        heatmaps = []
        for kernel in self.kernels:
            snap = kernel.snapshot()
            h = FolioHeatmap(
                snap, _guest_folio(snap), theme=self._theme, width=HEATMAP_PX, height=HEATMAP_PX
            )
            h.figure.legend.visible = False  # one shared, shorter legend below both
            if isinstance(h.figure.title, Title):
                h.figure.title.text_font_size = "10px"  # the whole title fits the narrow figure
            heatmaps.append(h)
        return heatmaps

    def _refresh(self) -> dict[str, dict[str, float]]:
        totals = self._workload.totals()
        self._counts.value = counts_html(totals, self._workload.size)
        self._tick.value = tick_html(self._workload.ticks, self._last)
        self._controls["hot_fraction"].disabled = self.params.pattern != "hot set"
        for kernel, heatmap in zip(self.kernels, self._heatmaps, strict=True):
            heatmap.update(kernel.snapshot())
        return totals
