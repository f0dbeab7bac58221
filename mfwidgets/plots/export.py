"""Export: BokehJS served from the installed package (never a CDN) and standalone HTML files.

Mirrors: nothing in the kernel. Classrooms behind firewalls and CI machines have no network,
and by default bokeh loads its JavaScript from cdn.bokeh.org, so nothing would render.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bokeh.embed import file_html
from bokeh.io import output_notebook
from bokeh.layouts import column
from bokeh.models import LayoutDOM
from bokeh.resources import Resources


def inline_resources() -> Resources:
    """BokehJS inlined from the bokeh package for the notebook: the core bundle (~1.3 MB: every
    plot, and jupyter_bokeh's BokehModel) and bokeh-widgets (~0.4 MB), without which the
    CountersPanel's Div cannot render. Tables, WebGL and MathJax are left out."""
    return Resources(mode="inline", components=["bokeh", "bokeh-widgets"])


def output_notebook_inline() -> None:
    """Load BokehJS into the notebook from the package; run it before showing any plot."""
    output_notebook(resources=inline_resources(), hide_banner=True)


def export_html(
    obj: LayoutDOM | Sequence[LayoutDOM], path: str | Path, title: str = "mfwidgets"
) -> Path:
    """Write ``obj`` (one bokeh layout, or several stacked) to a standalone HTML file with
    inline BokehJS. Returns the path written.

    Python callbacks (PoolView.on_select) do not run in a static file; hover and zoom do.
    """
    root = obj if isinstance(obj, LayoutDOM) else column(*obj)
    # Every component is offered: file_html keeps only those the models use (and it fails
    # on a component list that lacks one it wants to drop, bokeh 3.9 embed/bundle.py).
    html = file_html(
        root, resources=Resources(mode="inline"), title=title, suppress_callback_warning=True
    )
    out = Path(path)
    out.write_text(html, encoding="utf-8")
    return out
