"""Hover: the tooltip that names one 4 KiB subpage of the heatmap, computed in the browser.

Mirrors: what a developer reads off /proc/<pid>/pagemap and the kernel log for one page: its
pfn, its offset in the memfd, the virtual addresses that map it, its state and the last event.

Nothing per subpage travels to the browser except the uint8 image: the tooltip derives the
subpage from the hovered cell and combines it with a few per-hugepage scalars (head pfn, memfd
index, hugepage size, mappings as JSON) and a small table of the subpages that had an event.
"""

from __future__ import annotations

from typing import Any

from bokeh.models import ColumnDataSource, CustomJSHover, HoverTool
from bokeh.models.renderers.glyph_renderer import GlyphRenderer

from ..model import SubpageState

# Tooltip rows: (label, format key). The key selects a branch of _HOVER_JS.
HOVER_FIELDS = (
    ("subpage", "subpage"),
    ("pfn", "pfn"),
    ("file offset", "offset"),
    ("mapped at", "vaddr"),
    ("state", "state"),
    ("last event", "event"),
)

# Runs in the browser. ``value`` is the uint8 code under the cursor; special_vars.image_index
# carries the cell: flat_index = row * cols + col, which is the subpage (grids.py layout).
_HOVER_JS = """
const d = source.data;
const ix = special_vars.image_index;
if (ix == null) { return ""; }
const sub = ix.flat_index;
const cols = d.cols[0];
const hex = (n) => "0x" + Math.round(n).toString(16);
const PAGE_SIZE = 4096;
switch (format) {
  case "subpage":
    return sub + " (row " + Math.floor(sub / cols) + ", column " + (sub % cols) + ")";
  case "pfn":
    return hex(d.pfn[0] + sub);
  case "offset": {
    const index = d.index[0];
    if (index < 0) { return "not in a memfd"; }
    return hex(index * d.hugepage_bytes[0] + sub * PAGE_SIZE) + " in memfd:" + d.memfd[0];
  }
  case "vaddr": {
    const maps = JSON.parse(d.mapped_at[0]);
    if (maps.length == 0) { return "not mapped"; }
    return maps.map((m) => "pid " + m[0] + ": " + hex(m[1] + sub * PAGE_SIZE)).join(", ");
  }
  case "state":
    return labels[value] ?? String(value);
  case "event": {
    const subs = events.data.subpage;
    for (let i = subs.length - 1; i >= 0; i--) {
      if (subs[i] == sub) { return events.data.text[i]; }
    }
    return "none";
  }
}
return String(value);
"""


def subpage_hover(
    renderer: GlyphRenderer[Any], source: ColumnDataSource, events: ColumnDataSource
) -> HoverTool:
    """A HoverTool for the heatmap's image ``renderer``.

    ``source`` holds the image and the per-hugepage scalars pfn, index (-1: none),
    hugepage_bytes, cols, memfd and mapped_at (JSON list of [pid, addr of subpage 0]);
    ``events`` has the columns subpage and text (the last event that touched it).
    """
    formatter = CustomJSHover(
        args={
            "source": source,
            "events": events,
            "labels": [state.label for state in sorted(SubpageState)],
        },
        code=_HOVER_JS,
    )
    return HoverTool(
        renderers=[renderer],
        tooltips=[(label, f"@image{{{key}}}") for label, key in HOVER_FIELDS],
        formatters={"@image": formatter},
    )
