"""export.py: BokehJS inlined from the package, never the CDN."""

from __future__ import annotations

import subprocess
import sys

from bokeh.layouts import column

from mfwidgets.plots import (
    CountersPanel,
    FolioHeatmap,
    PoolView,
    export_html,
    inline_resources,
    output_notebook_inline,
)
from mfwidgets.plots import export as export_module


def test_export_html_is_standalone_without_cdn(tmp_path, mixed) -> None:
    snap = mixed.k.snapshot()
    path = export_html(
        column(FolioHeatmap(snap, 1).figure, PoolView(snap).figure, CountersPanel(snap).div),
        tmp_path / "x.html",
        "hugepage #1",
    )
    html = path.read_text(encoding="utf-8")
    assert "cdn.bokeh.org" not in html
    assert "Bokeh" in html
    assert "<title>hugepage #1</title>" in html


def test_export_html_takes_a_list_of_plots(tmp_path, mixed) -> None:
    snap = mixed.k.snapshot()
    path = export_html([FolioHeatmap(snap, 0).figure, PoolView(snap).figure], tmp_path / "y.html")
    assert "cdn.bokeh.org" not in path.read_text(encoding="utf-8")


def test_inline_resources_come_from_the_package() -> None:
    res = inline_resources()
    assert res.mode == "inline"
    assert res.components == ["bokeh", "bokeh-widgets"]
    assert not res.js_files  # inline: no URLs at all
    assert "cdn.bokeh.org" not in "".join(res.js_raw)


def test_output_notebook_inline_passes_inline_resources(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(export_module, "output_notebook", lambda **kw: calls.append(kw))
    output_notebook_inline()
    [kw] = calls
    assert kw["hide_banner"] is True and kw["resources"].mode == "inline"


def test_plots_import_no_widget_libraries() -> None:
    code = (
        "import sys, mfwidgets.plots\n"
        "print(sorted(m for m in ('ipywidgets', 'traitlets', 'jupyter_bokeh') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
