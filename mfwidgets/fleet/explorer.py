"""FleetExplorer: sliders for the main fleet parameters, the summary table and the outcome
distributions of both policies, rerun on every change.

Mirrors: nothing in the kernel. Like mfwidgets.widgets.Explorer: controls are generated from
FleetParams' field metadata (doc -> tooltip, bounds -> slider range, choices -> dropdown), one
callback calls simulate(), and ``.result`` exposes what the learner last ran.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any

import ipywidgets as w
from jupyter_bokeh import BokehModel

from ..model import SyscallError
from . import plotting
from .params import FleetParams
from .simulate import FleetResult, simulate

CONTROLS = (
    "hosts",
    "years",
    "memory_per_host_gib",
    "hugepage_size",
    "ue_host_fraction_per_year",
    "repeat_probability",
    "scrub_fraction",
    "on_lsb_12",
    "replicas",
)
_STEPS = {
    "hosts": 1000,
    "years": 0.5,
    "memory_per_host_gib": 64,
    "ue_host_fraction_per_year": 0.001,
    "repeat_probability": 0.05,
    "scrub_fraction": 0.05,
    "replicas": 10,
}
_MAX = {"hosts": 100_000, "memory_per_host_gib": 4096, "replicas": 500}  # keep reruns fast


def _control(f: dataclasses.Field[Any], value: Any) -> w.Widget:
    meta = f.metadata
    style = {"description_width": "190px"}
    layout = w.Layout(width="520px")
    desc = f.name + (f" ({meta['unit']})" if meta["unit"] else "")
    if meta["choices"] is not None:
        return w.Dropdown(
            options=list(meta["choices"]),
            value=value,
            description=desc,
            tooltip=meta["doc"],
            style=style,
            layout=layout,
        )
    lo, hi = meta["bounds"]
    hi = min(hi, _MAX.get(f.name, hi))
    cls = w.IntSlider if isinstance(value, int) else w.FloatSlider
    extra = {} if cls is w.IntSlider else {"readout_format": ".3f"}
    return cls(
        value=value,
        min=lo,
        max=hi,
        step=_STEPS.get(f.name, 1),
        description=desc,
        tooltip=meta["doc"],
        continuous_update=False,
        style=style,
        layout=layout,
        **extra,
    )


class FleetExplorer(w.VBox):  # type: ignore[misc]
    """Sliders -> simulate() -> summary text and distributions (stock | keep)."""

    def __init__(self, params: FleetParams | None = None, **changes: Any) -> None:
        self._params = (params or FleetParams(replicas=50)).replace(**changes)
        fields = {f.name: f for f in dataclasses.fields(FleetParams)}
        self._controls = {n: _control(fields[n], getattr(self._params, n)) for n in CONTROLS}
        self._banner = w.HTML()
        self._table = w.HTML()
        self._plot = w.Box()
        for c in self._controls.values():
            c.observe(self._on_change, names="value")
        super().__init__([*self._controls.values(), self._banner, self._table, self._plot])
        self._run()

    @property
    def params(self) -> FleetParams:
        return self._params

    @property
    def result(self) -> FleetResult:
        return self._result

    def _on_change(self, change: Any) -> None:
        try:
            self._params = self._params.replace(**{n: c.value for n, c in self._controls.items()})
        except SyscallError as exc:
            self._banner.value = f"<b style='color:#D55E00'>{html.escape(str(exc))}</b>"
            return
        self._run()

    def _run(self) -> None:
        self._banner.value = ""
        self._result = simulate(self._params)
        self._table.value = f"<pre>{html.escape(self._result.text())}</pre>"
        self._plot.children = [BokehModel(plotting.distributions(self._result))]
