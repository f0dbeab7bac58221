"""Real browser: every workbook notebook runs in JupyterLab in chromium with no error output,
no "Error displaying widget", nothing fetched from outside 127.0.0.1, no console errors, and
every Bokeh view drawn. Needs Debian's chromium and the `ui` extra (see conftest.py).

notebooks/dashboard.ipynb is left to test_dashboard_voila.py: it is meant for Voila.

With MFW_SCREENSHOTS=1 each run also saves docs/notebooks/<name>_<theme>_<k>.png: the notebook
panel in JupyterLab's simple interface at 1280 px, in the light and the dark theme, top to bottom
in at most MAX_SHOTS viewport-high slices.

    MFW_SCREENSHOTS=1 .venv/bin/python -m pytest tests/ui/test_notebooks_browser.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.ui

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "notebooks"
ARTIFACTS = REPO / "test-artifacts"
NOTEBOOKS = sorted(
    p.name for p in (REPO / "notebooks").glob("*.ipynb") if p.name != "dashboard.ipynb"
)
SCREENSHOTS = os.environ.get("MFW_SCREENSHOTS", "").strip() not in ("", "0")
VIEWPORT = {"width": 1280, "height": 2400}  # the width a student's laptop window has
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
# Notebooks whose widgets hold no Bokeh view (only predictions): nothing to wait for there.
PLOTTERS = ("setup_notebook", "plotting.show", "Explorer(", "PolicyComparison(", "Player(")
WITHOUT_PLOTS = {
    p.name
    for p in (REPO / "notebooks").glob("*.ipynb")
    if not any(word in p.read_text() for word in PLOTTERS)
}
MAX_SHOTS = 6
OVERLAP = 40  # px shown twice, so that no line is cut in half unseen between two slices

# What a student would see as wrong in the outputs, read from the notebook model and the DOM.
# Errors come from the model (output_type "error"); stderr from the model and, as rendered, from
# the DOM (JupyterLab renders tracebacks with that mime type too); "Error displaying widget" and
# Bokeh views only exist in the DOM. Bokeh draws into nested shadow roots: each plot has a
# `.bk-Canvas` element, and it has drawn when it holds a <canvas> of non-zero size.
_JS_OUTPUT_REPORT = """
async ([name]) => {
  const panel = Array.from(window.jupyterapp.shell.widgets('main'))
    .find(w => w.context && w.context.path === name && w.content && w.content.widgets);
  if (!panel) throw new Error('no notebook panel for ' + name);
  const errors = [], stderr = [];
  let widgetOutputs = 0;
  panel.content.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    for (const o of cell.model.outputs.toJSON()) {
      if (o.output_type === 'error') errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
      if (o.output_type === 'stream' && o.name === 'stderr') {
        const text = Array.isArray(o.text) ? o.text.join('') : o.text;
        stderr.push(`cell ${i}: ${text.slice(0, 300)}`);
      }
      if (o.data && o.data['application/vnd.jupyter.widget-view+json']) widgetOutputs++;
    }
  });
  const node = panel.content.node;
  const domErrors = Array.from(node.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
  )).map(n => n.textContent.slice(0, 300));
  const widgetErrors = Array.from(node.querySelectorAll('.jp-OutputArea-output'))
    .filter(n => n.textContent.includes('Error displaying widget'))
    .map(n => n.textContent.slice(0, 300));
  // Every element under the outputs, shadow trees included.
  const all = [];
  const stack = Array.from(node.querySelectorAll('.jp-OutputArea-output'));
  while (stack.length) {
    const el = stack.pop();
    all.push(el);
    stack.push(...el.children);
    if (el.shadowRoot) stack.push(...el.shadowRoot.children);
  }
  const plots = all.filter(el => el.classList.contains('bk-Canvas'));
  const drawn = p => Array.from((p.shadowRoot || p).querySelectorAll('canvas'))
    .some(c => c.width > 0 && c.height > 0);
  return {
    errors, stderr, domErrors, widgetErrors, widgetOutputs,
    bokehPlots: plots.length, bokehUndrawn: plots.filter(p => !drawn(p)).length,
  };
}
"""

_JS_SCROLLER = """
([name]) => {
  const panel = Array.from(window.jupyterapp.shell.widgets('main'))
    .find(w => w.context && w.context.path === name && w.content && w.content.widgets);
  const nb = panel.content.node;
  // The notebook scrolls itself (.jp-WindowedPanel-outer); older layouts scroll the notebook node.
  const s = nb.classList.contains('jp-WindowedPanel-outer') ? nb
    : (nb.querySelector('.jp-WindowedPanel-outer') || nb);
  return s;
}
"""


_CSS_NO_ACTIVE_CELL = """
.jp-Notebook .jp-Cell .jp-cell-toolbar { display: none !important; }
.jp-Notebook .jp-Cell .jp-collapseHeadingButton:not(.jp-mod-collapsed) {
  display: none !important;
}
.jp-Notebook .jp-Cell .jp-Collapser { background: transparent !important; }
.jp-Notebook .jp-Cell .jp-MarkdownOutput { border-color: transparent !important; }
.jp-Notebook .jp-Cell.jp-mod-selected, .jp-Notebook .jp-Cell.jp-mod-active {
  background: transparent !important; border-color: transparent !important;
  box-shadow: none !important; outline: none !important;
}
"""


def output_report(page: Any, name: str) -> dict[str, Any]:
    return dict(page.evaluate(_JS_OUTPUT_REPORT, [name]))


def _scroll_to(page: Any, name: str, top: float) -> dict[str, float]:
    """Scroll the notebook to ``top`` px; return its scroll geometry."""
    return dict(
        page.evaluate(
            "([name, top]) => { const s = (" + _JS_SCROLLER + ")([name]);"
            " s.scrollTop = top;"
            " return {top: s.scrollTop, height: s.scrollHeight, client: s.clientHeight}; }",
            [name, top],
        )
    )


def _scroll_through(page: Any, name: str) -> None:
    """Scroll top to bottom once, so every cell has been in view and its views laid out."""
    geo = _scroll_to(page, name, 0)
    top = 0.0
    while top + geo["client"] < geo["height"]:
        top += geo["client"] * 0.8
        geo = _scroll_to(page, name, top)
        page.wait_for_timeout(150)
    _scroll_to(page, name, 0)


def _content_end(page: Any, name: str) -> float:
    """Where the last cell ends, in px from the top of the scrolled notebook (the scroll
    height is more: JupyterLab pads the end so that the last cell can scroll up)."""
    return float(
        page.evaluate(
            "([name]) => { const s = (" + _JS_SCROLLER + ")([name]);"
            " const top = s.getBoundingClientRect().top - s.scrollTop;"
            " return Math.max(...Array.from(s.querySelectorAll('.jp-Cell'))"
            "   .map(c => c.getBoundingClientRect().bottom - top)) + 24; }",
            [name],
        )
    )


def _wait_drawn(page: Any, name: str, timeout_s: float = 30) -> dict[str, Any]:
    """The output report once every Bokeh root has drawn (or the timeout passed)."""
    report = output_report(page, name)
    plots = name not in WITHOUT_PLOTS
    for _ in range(int(timeout_s * 5)):
        if report["widgetErrors"] or report["errors"]:
            break
        waiting = plots and report["widgetOutputs"] and not report["bokehPlots"]
        if report["bokehUndrawn"] == 0 and not waiting:
            break
        page.wait_for_timeout(200)
        report = output_report(page, name)
    return report


def assert_clean(report: dict[str, Any], name: str) -> None:
    assert report["errors"] == [], f"{name}: error outputs"
    assert report["stderr"] == [] and report["domErrors"] == [], f"{name}: stderr in the outputs"
    assert report["widgetErrors"] == [], f"{name}: Error displaying widget"
    assert report["bokehUndrawn"] == 0, f"{name}: Bokeh plots without a drawn canvas: {report}"
    if report["widgetOutputs"] and name not in WITHOUT_PLOTS:
        assert report["bokehPlots"] > 0, f"{name}: widget outputs but no Bokeh plot: {report}"


def _assert_page_clean(page: Any, page_log: Any) -> None:
    assert page.get_by_text("Error displaying widget").count() == 0
    assert page_log.external_requests() == [], "requests left 127.0.0.1 (CDN?)"
    assert page_log.bad_console() == [], "console errors"


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_clean_in_jupyterlab(
    page: Any, page_log: Any, lab: Any, notebook: str
) -> None:
    page.set_viewport_size(VIEWPORT)
    lab.run_notebook(page, notebook)  # raises on the first error output
    _scroll_through(page, notebook)
    report = _wait_drawn(page, notebook)
    assert_clean(report, notebook)
    _assert_page_clean(page, page_log)
    if SCREENSHOTS:
        _save_screenshots(page, notebook)
        _assert_page_clean(page, page_log)


def _save_screenshots(page: Any, notebook: str) -> None:
    """The notebook panel in JupyterLab's simple interface, in viewport-high slices."""
    stem = notebook.removesuffix(".ipynb")
    DOCS.mkdir(parents=True, exist_ok=True)
    ARTIFACTS.mkdir(exist_ok=True)
    for old in DOCS.glob(f"{stem}_*.png"):
        old.unlink()
    # The layout is saved in the workspace, which later tests in this session load: put it back.
    layout = page.evaluate(
        """() => {
          const shell = window.jupyterapp.shell;
          const was = {mode: shell.mode, left: shell.leftCollapsed, right: shell.rightCollapsed};
          shell.mode = 'single-document';
          shell.collapseLeft();
          shell.collapseRight();
          return was;
        }"""
    )
    # No active-cell frame or cell toolbar in the pictures: a reader has not clicked anything.
    page.add_style_tag(content=_CSS_NO_ACTIVE_CELL)
    try:
        page.evaluate(
            """async () => {
              await window.jupyterapp.commands.execute('notebook:enter-command-mode');
              document.activeElement && document.activeElement.blur();
            }"""
        )
        page.mouse.move(1, 1)  # no hover tooltip
        for theme, lab_theme in THEMES.items():
            page.evaluate(
                "t => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})",
                lab_theme,
            )
            page.set_viewport_size(VIEWPORT)
            _shoot(page, notebook, f"{stem}_{theme}")
    finally:
        page.evaluate(
            "t => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})",
            THEMES["light"],
        )
        page.evaluate(
            """was => {
              const shell = window.jupyterapp.shell;
              shell.mode = was.mode;
              if (!was.left) shell.expandLeft();
              if (!was.right) shell.expandRight();
            }""",
            layout,
        )


def _shoot(page: Any, notebook: str, stem: str) -> None:
    """Save the notebook in slices as test-artifacts/nb_<stem>_<k>.png and docs/notebooks/."""
    page.wait_for_timeout(800)
    # n equal slices, each at most the default viewport high: size the viewport to fit.
    client = _scroll_to(page, notebook, 0)["client"]
    end = _content_end(page, notebook)
    shots = min(MAX_SHOTS, -(-int(end) // int(client)))
    slice_h = -(-int(end + (shots - 1) * OVERLAP) // shots)
    height = page.viewport_size["height"] - client + slice_h
    page.set_viewport_size({"width": VIEWPORT["width"], "height": int(height)})
    page.wait_for_timeout(800)
    client = _scroll_to(page, notebook, 0)["client"]
    end = _content_end(page, notebook)
    box = page.evaluate(
        "([name]) => { const r = (" + _JS_SCROLLER + ")([name]).getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; }",
        [notebook],
    )
    if end < client:
        box["height"] = end
    step = client - OVERLAP
    for k in range(shots):
        top, clip = k * step, dict(box)
        if k and k == shots - 1:
            # The last slice ends with the last cell (past a gap if MAX_SHOTS cut the
            # notebook short) and shows only what the previous slice did not.
            top = max(0.0, end - client)
            cut = max(0.0, k * step - top)
            clip["y"] += cut
            clip["height"] -= cut
        _scroll_to(page, notebook, top)
        page.wait_for_timeout(600)
        path = ARTIFACTS / f"nb_{stem}_{k + 1}.png"
        page.screenshot(path=str(path), clip=clip)
        shutil.copy(path, DOCS / f"{stem}_{k + 1}.png")


def test_the_checks_catch_errors_stderr_and_broken_widgets(
    page: Any, page_log: Any, lab: Any
) -> None:
    """The checks above are not vacuous: a throwaway notebook trips each of them."""
    name = "ui_broken.ipynb"
    lab.write_notebook(
        name,
        [
            'import sys\nprint("a warning", file=sys.stderr)',
            "from IPython.display import display\n"
            "display({'application/vnd.jupyter.widget-view+json':"
            " {'model_id': 'no-such-model', 'version_major': 2, 'version_minor': 0}}, raw=True)",
            "1/0",
        ],
    )
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        lab.run_notebook(page, name)
    # The widget manager gives up on a model it does not know after a few seconds.
    page.get_by_text("Error displaying widget").wait_for(timeout=20_000)
    report = output_report(page, name)
    assert any("ZeroDivisionError" in e for e in report["errors"]), report
    assert any("a warning" in e for e in report["stderr"]), report
    assert any("a warning" in e for e in report["domErrors"]), report
    assert report["widgetErrors"], report
    with pytest.raises(AssertionError):
        assert_clean(report, name)
