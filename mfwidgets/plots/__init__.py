"""mfwidgets.plots: bokeh views of the model: the subpage heatmap of one hugepage, the
hugepage pools, the counters panel, their palette and themes, and offline HTML export.

Imports bokeh, numpy and mfwidgets.model only, never ipywidgets: wrap a view's ``.figure``
(or ``.div``) in jupyter_bokeh's BokehModel to put it in a widget layout.
"""

from __future__ import annotations

from .counters import CountersPanel
from .export import export_html, inline_resources, output_notebook_inline
from .grids import cell_of, dirty_rects, folio_grid, grid_shape, pool_columns, subpage_at
from .heatmap import FolioHeatmap
from .palette import FOLIO_COLORS, SUBPAGE_COLORS, THEMES, apply_theme, subpage_palette
from .pool import PoolView

__all__ = [
    "FOLIO_COLORS",
    "SUBPAGE_COLORS",
    "THEMES",
    "CountersPanel",
    "FolioHeatmap",
    "PoolView",
    "apply_theme",
    "cell_of",
    "dirty_rects",
    "export_html",
    "folio_grid",
    "grid_shape",
    "inline_resources",
    "output_notebook_inline",
    "pool_columns",
    "subpage_at",
    "subpage_palette",
]
