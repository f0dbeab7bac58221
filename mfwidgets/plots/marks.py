"""Marks: overlays on heatmap cells: dots for recent loads, crosses for SIGBUS, error lenses.

Mirrors: nothing in the kernel; it is where a process touched memory (a load) and where the
kernel answered with SIGBUS (BUS_MCEERR_AR/AO), drawn on top of the subpage that was hit.

Marks are sized in screen pixels, so they stay visible on a 1 GiB hugepage whose cells are one
pixel wide; there a "lens" (a ringed disc in the cell's own colour) also shows every subpage
with an error. Loads and SIGBUS keep only their last MAX_MARKS subpages.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from bokeh.models import ColumnDataSource
from bokeh.models.annotations.legends import LegendItem
from bokeh.models.renderers.glyph_renderer import GlyphRenderer
from bokeh.plotting import figure as Figure

from .palette import VERMILLION

MAX_MARKS = 64
OFF_PLOT = -1000  # legend swatches sit here, outside the heatmap's range bounds
MAX_LENSES = 256  # lenses drawn on a 1 GiB hugepage; more would hide the cells


def _centres(subpages: Iterable[int], cols: int) -> dict[str, list[Any]]:
    xs: list[float] = []
    ys: list[float] = []
    for subpage in subpages:
        row, col = divmod(int(subpage), cols)
        xs.append(col + 0.5)
        ys.append(row + 0.5)
    return {"x": xs, "y": ys}


def _lens_data(lenses: dict[int, str], cols: int) -> dict[str, list[Any]]:
    return {**_centres(lenses, cols), "color": list(lenses.values())}


class SubpageMarks:
    """Load dots, SIGBUS crosses and (on big grids) lenses on subpages with an error."""

    def __init__(self, fig: Figure, cols: int, colors: dict[str, str], lenses: bool) -> None:
        self.cols = cols
        self.lenses_enabled = lenses
        self.loads: deque[int] = deque(maxlen=MAX_MARKS)
        self.sigbus: deque[int] = deque(maxlen=MAX_MARKS)
        self.lenses: dict[int, str] = {}  # subpage -> colour, in the order they were sent
        self.loads_source = ColumnDataSource(_centres((), cols))
        self.sigbus_source = ColumnDataSource(_centres((), cols))
        self.lenses_source = ColumnDataSource(_lens_data({}, cols))
        # Each kind is drawn twice: on its cells, and as a one-point swatch off the plot,
        # because the legend draws nothing for a renderer whose source is empty.
        swatch = {"x": [OFF_PLOT], "y": [OFF_PLOT], "color": [VERMILLION]}
        self._lens: list[GlyphRenderer[Any]] = [
            fig.scatter("x", "y", source=src, marker="circle", size=11, fill_color="color")
            for src in (self.lenses_source, ColumnDataSource(swatch))
        ]
        self._load: list[GlyphRenderer[Any]] = [
            fig.scatter("x", "y", source=src, marker="circle", size=7)
            for src in (self.loads_source, ColumnDataSource(swatch))
        ]
        # A wide halo under a narrow cross: the cross shows on every cell colour.
        self._halo: list[GlyphRenderer[Any]] = [
            fig.scatter("x", "y", source=src, marker="x", size=13, line_width=6)
            for src in (self.sigbus_source, ColumnDataSource(swatch))
        ]
        self._cross: list[GlyphRenderer[Any]] = [
            fig.scatter("x", "y", source=src, marker="x", size=13, line_width=3)
            for src in (self.sigbus_source, ColumnDataSource(swatch))
        ]
        self.restyle(colors)

    def legend_items(self) -> list[LegendItem]:
        items = [
            LegendItem(label="recent load", renderers=[self._load[1]]),
            LegendItem(label="SIGBUS", renderers=[self._halo[1], self._cross[1]]),
        ]
        if self.lenses_enabled:
            items.append(LegendItem(label="lens: error, enlarged", renderers=[self._lens[1]]))
        return items

    @property
    def renderers(self) -> list[GlyphRenderer[Any]]:
        return [*self._lens, *self._load, *self._halo, *self._cross]

    def restyle(self, colors: dict[str, str]) -> None:
        for lens in self._lens:
            lens.glyph.line_color = colors["mark"]
            lens.glyph.line_width = 1.5
        for load in self._load:
            load.glyph.fill_color = colors["halo"]
            load.glyph.line_color = colors["mark"]
        for halo in self._halo:
            halo.glyph.line_color = colors["halo"]
        for cross in self._cross:
            cross.glyph.line_color = colors["mark"]

    def mark_loads(self, subpages: Iterable[int]) -> None:
        self.loads.extend(int(s) for s in subpages)
        self.loads_source.data = _centres(self.loads, self.cols)

    def mark_sigbus(self, subpages: Iterable[int]) -> None:
        self.sigbus.extend(int(s) for s in subpages)
        self.sigbus_source.data = _centres(self.sigbus, self.cols)

    def clear(self, cols: int | None = None) -> None:
        """Forget every load and SIGBUS mark (and the lenses when the grid changes)."""
        self.loads.clear()
        self.sigbus.clear()
        self.loads_source.data = _centres((), self.cols)
        self.sigbus_source.data = _centres((), self.cols)
        if cols is not None:
            self.cols = cols
            self.lenses = {}
            self.lenses_source.data = _lens_data({}, cols)

    def set_lenses(self, lenses: dict[int, str]) -> None:
        """Show a lens on each subpage of ``lenses`` (subpage -> cell colour, ascending);
        sends only the new lenses when every old one is still there, unchanged."""
        if not self.lenses_enabled:
            return
        wanted = dict(list(lenses.items())[:MAX_LENSES])
        if wanted == self.lenses:
            return
        if all(wanted.get(s) == c for s, c in self.lenses.items()):
            # The common case, one new error: stream it rather than resend every lens.
            added = {s: c for s, c in wanted.items() if s not in self.lenses}
            self.lenses.update(added)
            self.lenses_source.stream(_lens_data(added, self.cols))  # type: ignore[arg-type]
        else:
            self.lenses = wanted
            self.lenses_source.data = _lens_data(wanted, self.cols)
