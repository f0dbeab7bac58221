"""Pool view: every hugepage of the kernel as one square, coloured by its FolioState.

Mirrors: the hstate pools of mm/hugetlb.c (nr_hugepages per size); each square is one folio,
free, in use, kept (PROPOSED), offlined, leaked, dissolved or free and poisoned.

Tap a square to choose the hugepage the heatmap shows: ``on_select(callback)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bokeh.models import ColumnDataSource, HoverTool, Range1d, TapTool
from bokeh.models.annotations.legends import Legend, LegendItem
from bokeh.models.renderers.glyph_renderer import GlyphRenderer
from bokeh.plotting import figure as Figure

from ..model import FolioState, Snapshot
from .grids import POOL_COLUMNS, pool_bands, pool_columns
from .palette import FOLIO_COLORS, apply_theme, theme_colors

CELL_PX = 20  # screen pixels per hugepage square
MIN_ROWS = 12  # the legend beside the squares needs this much height
MAX_FRAME_HEIGHT = 600
OFF_PLOT = -1000  # where legend swatches sit, outside the visible ranges
TOOLTIPS = [
    ("hugepage", "#@number"),
    ("size", "@size"),
    ("pfn", "@pfn"),
    ("state", "@state"),
    ("memfd", "@memfd"),
    ("mapped by", "@mapped_by"),
    ("poisoned subpages", "@nr_poisoned"),
]


def _nr_rows(columns: dict[str, list[Any]]) -> int:
    """Rows drawn: the last square's centre y rounded up, and at least MIN_ROWS."""
    return max(MIN_ROWS, int(max(columns["y"], default=0.5)) + 1)


class PoolView:
    """The hugepage pools as squares; ``update()`` patches the squares that changed.

    Attributes: ``figure``, ``source`` (pool_columns() of grids.py), ``bands`` (headings).
    """

    def __init__(self, snap: Snapshot, *, theme: str = "light") -> None:
        self.theme = theme
        columns = pool_columns(snap)
        self.source = ColumnDataSource(columns)
        self.bands = ColumnDataSource(self._band_data(snap))
        self._callbacks: list[Callable[[int], None]] = []
        nr_rows = _nr_rows(columns)
        self.figure = Figure(
            title="hugepage pools: one square per hugepage (tap one to inspect it)",
            x_range=Range1d(start=0, end=POOL_COLUMNS),
            y_range=Range1d(start=nr_rows, end=0),  # flipped: the first hugepage at top left
            frame_width=POOL_COLUMNS * CELL_PX,
            frame_height=min(MAX_FRAME_HEIGHT, nr_rows * CELL_PX),
            tools="pan,wheel_zoom,reset,save",
            toolbar_location="right",
        )
        self.figure.axis.visible = False
        self.figure.grid.grid_line_color = None
        self._rects = self.figure.rect(
            x="x", y="y", width=0.9, height=0.9, source=self.source, fill_color="color"
        )
        # Selection is shown by a thick outline, not by fading the others (fading would
        # change the state colours a learner is reading).
        self._selected = self._rects.glyph.clone(line_width=3)
        self._rects.nonselection_glyph = None
        self._rects.selection_glyph = self._selected
        self._headings = self.figure.text(
            x=0,
            y="y",
            text="text",
            source=self.bands,
            text_baseline="middle",
            text_font_size="11px",
            text_font_style="bold",
        )
        self.figure.add_tools(
            HoverTool(renderers=[self._rects], tooltips=TOOLTIPS),
            TapTool(renderers=[self._rects]),
        )
        self.figure.add_layout(self._legend(), "right")
        self.source.selected.on_change("indices", self._on_indices)
        self.set_theme(theme)

    @staticmethod
    def _band_data(snap: Snapshot) -> dict[str, list[Any]]:
        bands = pool_bands(snap)
        return {"text": [text for text, _ in bands], "y": [y for _, y in bands]}

    def _legend(self) -> Legend:
        items = []
        for state in FolioState:
            swatch: GlyphRenderer[Any] = self.figure.scatter(
                x=[OFF_PLOT], y=[OFF_PLOT], marker="square", size=12, fill_color=FOLIO_COLORS[state]
            )
            swatch.glyph.line_color = "#808080"
            items.append(LegendItem(label=state.label, renderers=[swatch]))
        return Legend(items=items, title="hugepage (folio)", location="top_left")

    # -- selection: a thin adapter over the callbacks -----------------------------------
    def on_select(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(number)`` when a hugepage is tapped (or ``select()``-ed)."""
        self._callbacks.append(callback)

    def select(self, number: int) -> None:
        """Select hugepage ``number`` as a tap would. Raises ValueError if it is not shown."""
        numbers = self.source.data["number"]
        if number not in numbers:
            raise ValueError(f"select: hugepage #{number} is not in the pool view")
        self.source.selected.indices = [list(numbers).index(number)]

    def _on_indices(self, attr: str, old: list[int], new: list[int]) -> None:
        if not new:
            return
        number = int(self.source.data["number"][new[0]])
        for callback in self._callbacks:
            callback(number)

    # -- updates ------------------------------------------------------------------------
    def update(self, snap: Snapshot) -> int:
        """Patch the hugepages whose columns changed. Returns the number of squares patched;
        a pool that grew or shrank is redrawn whole (and counts every square)."""
        new = pool_columns(snap)
        old = self.source.data
        if len(new["number"]) != len(old["number"]) or new["y"] != list(old["y"]):
            self.source.data = new
            self.bands.data = self._band_data(snap)
            nr_rows = _nr_rows(new)
            self.figure.y_range.update(start=nr_rows, end=0)
            self.figure.frame_height = min(MAX_FRAME_HEIGHT, nr_rows * CELL_PX)
            return len(new["number"])
        patches: dict[str, list[tuple[int, object]]] = {}
        rows: set[int] = set()
        for name, column in new.items():
            for i, (a, b) in enumerate(zip(old[name], column, strict=True)):
                if a != b:
                    patches.setdefault(name, []).append((i, b))
                    rows.add(i)
        if patches:
            self.source.patch(patches)
        return len(rows)

    def set_theme(self, theme: str) -> None:
        """Restyle for "light" or "dark". Raises ValueError for another theme."""
        colors = theme_colors(theme)
        apply_theme(self.figure, theme)
        self._rects.glyph.line_color = colors["cell_line"]
        self._selected.line_color = colors["text"]
        self._headings.glyph.text_color = colors["text"]
        self.theme = theme
