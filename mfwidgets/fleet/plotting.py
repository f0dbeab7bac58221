"""Plotting: bokeh views of fleet results: outcome distributions per policy, side by side, and
the sweep heatmap. The only module of mfwidgets.fleet that imports bokeh.

Mirrors: nothing in the kernel. Colours are Okabe-Ito from mfwidgets.plots.palette (stock in
vermillion, keep in blue); the heatmap uses Cividis, readable with any colour vision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from bokeh.layouts import gridplot, row
from bokeh.models import ColumnDataSource, FactorRange, LogColorMapper, LogTicker
from bokeh.models.annotations import ColorBar, Span, Title
from bokeh.palettes import Cividis256
from bokeh.plotting import figure

from ..plots.palette import BLUE, VERMILLION
from .simulate import INTERVAL, METRICS, FleetResult, _scale, sweep_grid

POLICY_COLORS = {"stock": VERMILLION, "keep": BLUE}
POLICY_LABELS = {"stock": "stock: hard offline", "keep": "keep: MFD_MF_KEEP_UE_MAPPED (proposed)"}
DEFAULT_METRICS = (
    "vm_interruptions",
    "guest_lost_bytes",
    "hugepages_leaked",
    "hugepages_dissolved",
)


def show(obj: Any) -> None:
    """Show a figure in the notebook, BokehJS inlined from the package (no network needed)."""
    from bokeh.io import show as bokeh_show

    from ..plots.export import output_notebook_inline

    output_notebook_inline()
    bokeh_show(obj)


def three_digits(x: float) -> str:
    """``x`` to three significant digits, written out with thousands separators, never in
    exponent form (a student reads 11,400, not 1.14e+04)."""
    rounded = float(f"{x:.3g}")
    if abs(rounded) >= 1000:
        return f"{rounded:,.0f}"
    return f"{rounded:g}"


def histogram_columns(values: np.ndarray, scale: float, bins: int = 30) -> dict[str, Any]:
    """Pure: the quads of a histogram of ``values / scale`` (replicas per bin)."""
    v = values / scale
    lo, hi = float(v.min()), float(v.max())
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return {"left": edges[:-1], "right": edges[1:], "top": counts}


def distribution_figure(
    result: FleetResult, metric: str, policy: str, width: int = 380, height: int = 210
) -> Any:
    """One histogram of a metric's fleet total over replicas, with its 95% interval dashed."""
    label, unit = METRICS[metric]
    v = result.values[policy][metric]
    scale, shown = _scale(unit, float(v.max()))
    src = ColumnDataSource(histogram_columns(v, scale))
    fig = figure(
        width=width,
        height=height,
        title=POLICY_LABELS[policy],
        x_axis_label=f"{label} per fleet ({shown})",
        y_axis_label="replicas",
        toolbar_location=None,
    )
    color = POLICY_COLORS[policy]
    fig.quad(
        source=src,
        left="left",
        right="right",
        top="top",
        bottom=0,
        fill_color=color,
        line_color="white",
        legend_label=f"{len(v)} replicas, 95% interval dashed",
    )
    for q in np.percentile(v, INTERVAL):
        fig.add_layout(
            Span(
                location=q / scale,
                dimension="height",
                line_dash="dashed",
                line_color="black",
                line_width=1.5,
            )
        )
    # Above the plot, not on it: inside, the legend covered the tallest bars.
    fig.add_layout(fig.legend[0], "above")
    fig.legend.label_text_font_size = "8pt"
    fig.title.text_font_size = "9pt"  # type: ignore[union-attr]
    return fig


def distributions(result: FleetResult, metrics: Sequence[str] = DEFAULT_METRICS) -> Any:
    """A grid: one row per metric, one column per policy (dashed lines: the 95% interval)."""
    rows = [[distribution_figure(result, m, p) for p in result.params.policies] for m in metrics]
    return gridplot(rows, toolbar_location=None)


def _policy_heatmap(
    grid: np.ndarray,
    rates: Any,
    sizes: Any,
    mapper: LogColorMapper,
    middle: float,
    title: str,
    what: str,
) -> Any:
    """One policy's heatmap (rate x size) of values already in the shown unit, each cell
    labelled with its value, in black above ``middle`` of the colour scale and white below."""
    src = ColumnDataSource(
        {
            "rate": [f"{100 * r:g}%" for r in rates for _ in sizes],
            "size": [s for _ in rates for s in sizes],
            "value": grid.ravel(),
            "text": [three_digits(x) for x in grid.ravel()],
            "ink": ["black" if x > middle else "white" for x in grid.ravel()],
        }
    )
    fig = figure(
        width=360,
        height=260,
        x_range=FactorRange(factors=[f"{100 * r:g}%" for r in rates]),
        y_range=FactorRange(factors=list(sizes)),
        title=title,
        x_axis_label="hosts with a UE per year",
        y_axis_label="hugepage size",
        toolbar_location=None,
        tooltips=[("value", "@text")],
    )
    fig.rect(
        x="rate",
        y="size",
        width=1,
        height=1,
        source=src,
        fill_color={"field": "value", "transform": mapper},
        line_color="white",
    )
    fig.text(
        x="rate",
        y="size",
        text="text",
        source=src,
        text_align="center",
        text_baseline="middle",
        text_color="ink",
        text_font_size="9pt",
    )
    fig.title.text_font_size = "9pt"  # type: ignore[union-attr]
    # The metric on a line of its own: in one title with the policy it was clipped.
    fig.add_layout(Title(text=what, text_font_size="8pt"), "above")
    return fig


def sweep_heatmap(
    sweep_result: dict[str, Any], metric: str = "vm_interruptions", per: str = "host_year"
) -> Any:
    """Heatmaps (error rate x hugepage size) of a metric's mean, one per policy, one scale."""
    rates, sizes = sweep_result["rates"], sweep_result["sizes"]
    policies = sweep_result["results"][0][0].params.policies
    label, unit = METRICS[metric]
    grids = {p: sweep_grid(sweep_result, metric, p, per) for p in policies}
    top = max(float(g.max()) for g in grids.values())
    scale, shown = _scale(unit, top)
    per_word = "/ 1,000 host-years" if per == "host_year" else "per fleet"
    factor = 1000.0 if per == "host_year" else 1.0
    values = np.concatenate([g.ravel() for g in grids.values()]) * factor / scale
    positive = values[values > 0]
    low = float(positive.min()) if positive.size else 1e-3
    high = max(float(values.max()), low * 10)
    mapper = LogColorMapper(palette=Cividis256, low=low, high=high)
    middle = float(np.sqrt(low * high))
    what = f"{label} ({shown}) {per_word}"
    figs = [
        _policy_heatmap(
            grids[p] * factor / scale, rates, sizes, mapper, middle, POLICY_LABELS[p], what
        )
        for p in policies
    ]
    bar = ColorBar(color_mapper=mapper, ticker=LogTicker(), title=shown, width=12)
    figs[-1].add_layout(bar, "right")
    figs[-1].width = (figs[-1].width or 360) + 90
    return row(*figs)
