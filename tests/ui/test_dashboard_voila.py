"""Real browser: notebooks/dashboard.ipynb renders under Voila (no code shown), its Bokeh plots
draw from local BokehJS, and a click on a heatmap reaches Python and changes the page.

Needs Debian's chromium, the `ui` extra and the `dashboard` extra (voila); see conftest.py.
Screenshot: test-artifacts/voila_dashboard.png, and docs/notebooks/dashboard_voila.png with
MFW_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.ui

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
DOCS = REPO / "docs" / "notebooks"
SCREENSHOTS = os.environ.get("MFW_SCREENSHOTS", "").strip() not in ("", "0")
RENDER_TIMEOUT_MS = 90_000

# Bokeh draws into nested shadow roots: every plot has a `.bk-Canvas` holding its <canvas>.
_JS_PLOTS = """
() => {
  const all = [];
  const stack = Array.from(document.body.children);
  while (stack.length) {
    const el = stack.pop();
    all.push(el);
    stack.push(...el.children);
    if (el.shadowRoot) stack.push(...el.shadowRoot.children);
  }
  const plots = all.filter(el => el.classList.contains('bk-Canvas'));
  const drawn = p => Array.from((p.shadowRoot || p).querySelectorAll('canvas'))
    .some(c => c.width > 0 && c.height > 0);
  return {plots: plots.length, drawn: plots.filter(drawn).length};
}
"""
# Voila's own `lab` template (share/jupyter/voila/templates/lab/index.html.j2) links FontAwesome
# from this CDN, whatever the notebook does. Offline it costs only icon glyphs (the dashboard's
# widgets use none); anything else leaving 127.0.0.1 (BokehJS from cdn.bokeh.org, say) fails.
VOILA_TEMPLATE_CDN = "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@"

# What Voila shows instead of a dashboard when a cell raises (show_tracebacks is on).
_FAILURE = re.compile(
    r"Traceback|There was an error when executing cell|Error displaying widget"
    r"|\b[A-Z]\w*(Error|Exception): "
)


def _wait_rendered(page: Any, want_plots: int = 1) -> dict[str, int]:
    """Voila streams cells in: wait until its spinner is gone and ``want_plots`` plots drew."""
    page.locator("canvas").first.wait_for(state="attached", timeout=RENDER_TIMEOUT_MS)
    state: dict[str, int] = {}
    for _ in range(150):
        state = dict(page.evaluate(_JS_PLOTS))
        if state["plots"] >= want_plots and state["drawn"] == state["plots"]:
            break
        page.wait_for_timeout(200)
    assert state["plots"] >= want_plots and state["drawn"] == state["plots"], state
    return state


def _assert_healthy(page: Any, page_log: Any) -> None:
    text = page.locator("body").inner_text()
    failure = _FAILURE.search(text)
    assert failure is None, f"the dashboard shows {failure.group(0)!r}:\n{text[:3000]}"
    stderr = page.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
    assert stderr.count() == 0, stderr.first.inner_text()
    external = [u for u in page_log.external_requests() if not u.startswith(VOILA_TEMPLATE_CDN)]
    assert external == [], "requests left 127.0.0.1 (CDN?)"
    console = [m for m in page_log.bad_console() if VOILA_TEMPLATE_CDN not in m]
    assert console == [], "console errors"


def _largest_canvas_box(page: Any) -> dict[str, float]:
    canvases = page.locator("canvas")
    best: dict[str, float] = {}
    for i in range(canvases.count()):
        box = canvases.nth(i).bounding_box()
        if box and box["width"] * box["height"] > best.get("width", 0) * best.get("height", 0):
            best = box
    assert best, "no visible canvas"
    return best


def test_dashboard_renders_under_voila_and_a_click_reaches_python(
    page: Any, page_log: Any, voila_server: Any
) -> None:
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.goto(voila_server.url, wait_until="domcontentloaded")
    _wait_rendered(page)
    _assert_healthy(page, page_log)
    # A dashboard: no code on show.
    text = page.locator("body").inner_text()
    assert "import mfwidgets" not in text and "mf.setup_notebook()" not in text
    assert page.locator(".jp-CodeCell .jp-InputArea:visible").count() == 0

    before = page.locator("body").inner_text()
    # The top heatmap, inside its cell area (its legend and axes sit right of and below it).
    page.locator("canvas").first.scroll_into_view_if_needed()
    box = _largest_canvas_box(page)
    page.mouse.click(box["x"] + min(300, box["width"] / 3), box["y"] + min(150, box["height"] / 3))
    after = before
    for _ in range(100):  # the click goes browser -> comm -> Python -> browser
        after = page.locator("body").inner_text()
        if after != before:
            break
        page.wait_for_timeout(200)
    assert after != before, "a click on the heatmap changed nothing in the page"
    # At a 1280 px window nothing sticks out sideways.
    wide = page.evaluate(
        """() => Array.from(document.querySelectorAll('.jp-OutputArea-output *'))
             .filter(el => el.getBoundingClientRect().right > window.innerWidth + 2)
             .map(el => el.tagName + '.' + el.className).slice(0, 5)"""
    )
    assert wide == [], f"wider than the window at 1280 px: {wide}"
    page.mouse.move(1, 1)  # no hover tooltip in the screenshot
    page.wait_for_timeout(800)
    _assert_healthy(page, page_log)

    # Voila's page scrolls inside a container, not the document, so full_page=True stops at the
    # viewport: make the viewport as tall as the content instead.
    height = page.evaluate(
        """() => Math.max(...Array.from(document.querySelectorAll('body, body *'))
             .map(el => el.scrollHeight))"""
    )
    page.set_viewport_size({"width": 1280, "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(800)
    _assert_healthy(page, page_log)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "voila_dashboard.png"
    page.screenshot(path=str(shot))
    if SCREENSHOTS:
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, DOCS / "dashboard_voila.png")
