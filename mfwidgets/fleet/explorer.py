"""FleetExplorer: sliders for the main fleet parameters, the summary table and the outcome
distributions of both policies, rerun on every change.

Mirrors: nothing in the kernel. Like mfwidgets.widgets.Explorer: controls are generated from
FleetParams' declarations (mfwidgets.widgets.controls: doc -> tooltip, soft bounds -> slider
range, choices -> dropdown), one
callback calls simulate(), and ``.result`` exposes what the learner last ran.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
from jupyter_bokeh import BokehModel

from ..model import SyscallError
from ..widgets.controls import control
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


class FleetExplorer(w.VBox):  # type: ignore[misc]
    """Sliders -> simulate() -> summary text and distributions (stock | keep)."""

    def __init__(self, params: FleetParams | None = None, **changes: Any) -> None:
        self._params = (params or FleetParams(replicas=50)).replace(**changes)
        self._controls = {
            n: control(
                FleetParams, n, getattr(self._params, n), with_unit=True,
                style={"description_width": "190px"}, layout=w.Layout(width="520px"),
            )
            for n in CONTROLS
        }  # fmt: skip
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
