"""Heatmap: one hugepage drawn as a grid of its 4 KiB subpages, coloured by SubpageState.

Mirrors: nothing in the kernel; it draws a FolioView (snapshot.py), i.e. what the raw-error
list, PG_hwpoison and the folio's life (offlined, kept, leaked, dissolved) mean per subpage.

The whole hugepage is ONE ``image`` glyph of uint8 codes coloured in the browser by a
LinearColorMapper (262,144 cells of a 1 GiB hugepage are 256 KiB, not 262,144 rects).
``update()`` sends only the rectangles that changed, so a one-subpage event costs bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np
from bokeh.models import ColumnDataSource, LinearColorMapper, Range1d
from bokeh.models.annotations.labels import Title
from bokeh.models.annotations.legends import Legend, LegendItem
from bokeh.models.glyphs import Image
from bokeh.models.renderers.glyph_renderer import GlyphRenderer
from bokeh.plotting import figure as Figure

from ..model import FolioView, Snapshot, SubpageState
from .grids import dirty_rects, folio_grid, grid_shape, poisoned_subpages, subpage_at
from .hover import subpage_hover
from .marks import OFF_PLOT, SubpageMarks
from .palette import SUBPAGE_COLORS, apply_theme, subpage_palette, theme_colors

# Cell-area size in screen pixels when the caller gives none: 20 px cells for 2 MiB,
# one pixel per subpage for 1 GiB (zoom in with the wheel or box tool) plus a margin of PAD
# cells, so that marks on the edge cells are not cut in half.
DEFAULT_FRAME = {"2M": (544, 272), "1G": (528, 528)}  # fits a 900 px output area
PAD = {"2M": 0, "1G": 8}
SIZE_WORDS = {"2M": "2 MiB", "1G": "1 GiB"}
HUGEPAGE_BYTES = {"2M": 1 << 21, "1G": 1 << 30}
AXIS_LABELS = {
    "2M": ("column: subpage = 32 × row + column", "row"),
    "1G": ("4 KiB subpage within the 2 MiB row", "2 MiB row: subpage = 512 × row + column"),
}
META_COLUMNS = ("pfn", "index", "hugepage_bytes", "cols", "memfd", "mapped_at")


def heatmap_title(view: FolioView) -> str:
    """E.g. "hugepage #0 (1 GiB, pfn 0x100000) — kept, memfd guest"."""
    owner = f", memfd {view.memfd}" if view.memfd else ", anonymous copy" if view.anon else ""
    return (
        f"hugepage #{view.number} ({SIZE_WORDS[view.size]}, pfn {view.pfn:#x}) — "
        f"{view.state.label}{owner}"
    )


def _meta(view: FolioView) -> dict[str, Any]:
    """Per-hugepage scalars the tooltip needs (hover.py); one value each."""
    return {
        "pfn": view.pfn,
        "index": -1 if view.index is None else view.index,
        "hugepage_bytes": HUGEPAGE_BYTES[view.size],
        "cols": grid_shape(view.size)[1],
        "memfd": view.memfd or "",
        "mapped_at": json.dumps([list(m) for m in view.mapped_at]),
    }


def _lenses(view: FolioView, grid: np.ndarray) -> dict[int, str]:
    """Subpage -> its cell colour, for every subpage with an error."""
    codes = grid.ravel()
    return {s: SUBPAGE_COLORS[SubpageState(int(codes[s]))] for s in poisoned_subpages(view)}


def _events(view: FolioView) -> dict[str, list[Any]]:
    subpages = sorted(view.last_event)
    return {"subpage": subpages, "text": [view.last_event[s] for s in subpages]}


class FolioHeatmap:
    """A bokeh figure of hugepage ``number``: build once, then ``update()`` it per snapshot.

    ``width``/``height`` size the cell area in screen pixels (legend and axes come on top).
    Attributes: ``figure``, ``source`` (column "image": [uint8 (rows, cols) array] plus the
    per-hugepage scalars of hover.py), ``events`` (subpage -> last event), ``number``.
    """

    def __init__(
        self,
        snap: Snapshot,
        number: int,
        *,
        theme: str = "light",
        width: int | None = None,
        height: int | None = None,
    ) -> None:
        view = snap.folios[number]
        self.number = number
        self.theme = theme
        self._frame = (width, height)
        self._size = view.size
        rows, cols = grid_shape(view.size)
        self.source = ColumnDataSource({"image": [folio_grid(view)], **_one_row(_meta(view))})
        self.events = ColumnDataSource(_events(view))
        self._event_rows = {s: i for i, s in enumerate(self.events.data["subpage"])}
        self._title = Title(text=heatmap_title(view))
        self.figure = Figure(
            title=self._title,
            x_range=Range1d(start=0, end=1),
            y_range=Range1d(start=1, end=0),
            tools="pan,wheel_zoom,box_zoom,reset,save",
            toolbar_location="right",
        )
        self._resize(view.size)
        self.figure.grid.grid_line_color = None
        mapper = LinearColorMapper(
            palette=subpage_palette(), low=-0.5, high=len(SubpageState) - 0.5
        )
        self._glyph = Image(image="image", x=0, y=0, dw=cols, dh=rows, color_mapper=mapper)
        self._image = self.figure.add_glyph(self.source, self._glyph)
        self.figure.add_tools(subpage_hover(self._image, self.source, self.events))
        colors = theme_colors(theme)
        # Lenses only where a cell is too small to see: a 1 GiB hugepage.
        self.marks = SubpageMarks(self.figure, cols, colors, lenses=rows > 64)
        self.marks.set_lenses(_lenses(view, self.source.data["image"][0]))
        self.figure.add_layout(self._legend(), "right")
        apply_theme(self.figure, theme)

    def _legend(self) -> Legend:
        items = []
        for state in sorted(SubpageState):
            # A square off the plot stands in for each state: the legend needs a renderer
            # with data to draw a swatch, and the image glyph is only one renderer.
            swatch: GlyphRenderer[Any] = self.figure.scatter(
                x=[OFF_PLOT],
                y=[OFF_PLOT],
                marker="square",
                size=12,
                fill_color=SUBPAGE_COLORS[state],
            )
            swatch.glyph.line_color = "#808080"
            items.append(LegendItem(label=state.label, renderers=[swatch]))
        items += self.marks.legend_items()
        # Compact rows: the 2 MiB heatmap is 272 px tall and the legend must fit beside it.
        legend = Legend(
            items=items,
            title="4 KiB subpage",
            location="top_left",
            label_height=14,
            glyph_height=14,
            spacing=1,
            label_text_font_size="11px",
        )
        legend.padding = 6  # type: ignore[assignment]
        return legend

    def _resize(self, size: str) -> None:
        rows, cols = grid_shape(size)
        pad = PAD[size]
        self.figure.x_range.update(start=-pad, end=cols + pad, bounds=(-pad, cols + pad))
        # Flipped: row 0, the first 4 KiB of the hugepage, is at the top left.
        self.figure.y_range.update(start=rows + pad, end=-pad, bounds=(-pad, rows + pad))
        width, height = self._frame
        self.figure.frame_width = width or DEFAULT_FRAME[size][0]
        self.figure.frame_height = height or DEFAULT_FRAME[size][1]
        self.figure.xaxis.axis_label, self.figure.yaxis.axis_label = AXIS_LABELS[size]

    # -- updates ------------------------------------------------------------------------
    def update(self, snap: Snapshot) -> int:
        """Send the browser only what changed for this hugepage. Returns the cells patched."""
        view = snap.folios[self.number]
        if view.size != self._size:  # a different kernel: start over
            self.show_folio(snap, self.number)
            return int(np.prod(grid_shape(view.size)))
        new = folio_grid(view)
        drawn = self.source.data["image"][0]
        patches: dict[str, list[Any]] = {}
        rects = dirty_rects(drawn, new)
        if rects:
            patches["image"] = [
                ((0, slice(r0, r1), slice(c0, c1)), new[r0:r1, c0:c1].ravel())
                for r0, r1, c0, c1 in rects
            ]
        for name, value in _meta(view).items():
            if self.source.data[name][0] != value:
                patches[name] = [(0, value)]
        if patches:
            self.source.patch(patches)  # one message; bokeh writes into ``drawn`` in place
        self._update_events(view)
        self.marks.set_lenses(_lenses(view, new))
        title = heatmap_title(view)
        if self._title.text != title:
            self._title.text = title
        return sum((r1 - r0) * (c1 - c0) for r0, r1, c0, c1 in rects)

    def _update_events(self, view: FolioView) -> None:
        rows = self._event_rows
        if not set(rows) <= set(view.last_event):
            self._reset_events(view)
            return
        texts = self.events.data["text"]
        changed = [(rows[s], t) for s, t in view.last_event.items() if s in rows]
        changed = [(i, t) for i, t in changed if texts[i] != t]
        added = sorted(s for s in view.last_event if s not in rows)
        if changed:
            self.events.patch({"text": changed})
        if added:
            for s in added:
                rows[s] = len(rows)
            self.events.stream({"subpage": added, "text": [view.last_event[s] for s in added]})

    def _reset_events(self, view: FolioView) -> None:
        self.events.data = _events(view)
        self._event_rows = {s: i for i, s in enumerate(self.events.data["subpage"])}

    def show_folio(self, snap: Snapshot, number: int) -> None:
        """Show hugepage ``number`` from scratch: the whole image, metadata, no marks."""
        view = snap.folios[number]
        self.number = number
        rows, cols = grid_shape(view.size)
        if view.size != self._size:
            self._size = view.size
            self._glyph.update(dw=cols, dh=rows)
            self._resize(view.size)
        grid = folio_grid(view)
        self.source.data = {"image": [grid], **_one_row(_meta(view))}
        self._reset_events(view)
        self.marks.clear(cols=cols)
        self.marks.set_lenses(_lenses(view, grid))
        self._title.text = heatmap_title(view)

    def subpage_at(self, x: float, y: float) -> int | None:
        """The subpage drawn under the data point (x, y) of a tap, or None off the grid."""
        rows, cols = grid_shape(self._size)
        row, col = int(y), int(x)
        if not (0 <= row < rows and 0 <= col < cols):
            return None
        return subpage_at(self._size, row, col)

    # -- overlays and theme -------------------------------------------------------------
    def mark_loads(self, subpages: Iterable[int]) -> None:
        """Dot the subpages a process just loaded from (the last MAX_MARKS are kept)."""
        self.marks.mark_loads(subpages)

    def mark_sigbus(self, subpages: Iterable[int]) -> None:
        """Cross the subpages whose access raised SIGBUS (the last MAX_MARKS are kept)."""
        self.marks.mark_sigbus(subpages)

    def clear_marks(self) -> None:
        self.marks.clear()

    def set_theme(self, theme: str) -> None:
        """Restyle for "light" or "dark". Raises ValueError for another theme."""
        colors = theme_colors(theme)
        apply_theme(self.figure, theme)
        self.marks.restyle(colors)
        self.theme = theme


def _one_row(meta: dict[str, Any]) -> dict[str, list[Any]]:
    return {name: [value] for name, value in meta.items()}
