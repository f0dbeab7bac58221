"""Real-browser checks: JupyterLab renders BokehModel widgets and a click reaches Python.

Needs Debian's chromium (scripts/install-browser) and the `ui` extra; skips without them,
fails without them under CI=true. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.ui

SMOKE_CELLS = [
    "from bokeh.io import output_notebook\n"
    "from bokeh.resources import Resources\n"
    'output_notebook(Resources(mode="inline", components=["bokeh"]), hide_banner=True)',
    "import numpy as np\n"
    "import ipywidgets\n"
    "import jupyter_bokeh\n"
    "from bokeh.events import Tap\n"
    "from bokeh.plotting import figure\n"
    "\n"
    "arr = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) % 256).astype(np.uint8)\n"
    "p = figure(width=400, height=400, x_range=(0, 64), y_range=(0, 64), tools='tap')\n"
    "p.image(image=[arr], x=0, y=0, dw=64, dh=64, palette='Viridis256')\n"
    "label = ipywidgets.Label('no tap yet')\n"
    "\n"
    "def cb(ev):\n"
    '    label.value = f"tap at {ev.x:.0f},{ev.y:.0f}"\n'
    "\n"
    "p.on_event(Tap, cb)\n"
    "ipywidgets.VBox([jupyter_bokeh.BokehModel(p), label])",
]

EXPLORER_CELLS = [
    "import mfwidgets as mf",
    "mf.setup_notebook()",
    'ex = mf.Explorer(mf.Kernel(hugepages={"2M": 4}))',
    "ex",
]


def _largest_canvas(page: Any) -> Any:
    """The biggest <canvas> in an output area (Bokeh draws in shadow DOM; locators pierce it)."""
    canvases = page.locator(".jp-OutputArea-output canvas")
    canvases.first.wait_for(state="attached", timeout=30_000)
    best, best_area = None, -1.0
    for i in range(canvases.count()):
        c = canvases.nth(i)
        c.scroll_into_view_if_needed()
        box = c.bounding_box()
        if box and box["width"] * box["height"] > best_area:
            best, best_area = c, box["width"] * box["height"]
    assert best is not None and best_area > 0, "no visible canvas in the outputs"
    return best


def _click_centre(page: Any, canvas: Any) -> tuple[float, float]:
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # A raw mouse click at the centre: Bokeh stacks layers over its canvas, so Playwright's
    # element click would refuse ("another element intercepts pointer events").
    page.mouse.click(x, y)
    return x, y


def _assert_healthy(page: Any, page_log: Any) -> None:
    body = page.locator("body").inner_text()
    assert "Error displaying widget" not in body
    assert page.get_by_text("Error displaying widget").count() == 0
    assert page_log.external_requests() == [], "requests left 127.0.0.1 (CDN?)"
    assert not [r for r in page_log.requests if "cdn.bokeh.org" in r]
    assert page_log.bad_console() == [], "console errors"


def test_bokeh_widget_renders_and_tap_reaches_python(page: Any, page_log: Any, lab: Any) -> None:
    lab.write_notebook("ui_smoke.ipynb", SMOKE_CELLS)
    state = lab.run_notebook(page, "ui_smoke.ipynb")
    assert state["cells"] == len(SMOKE_CELLS)

    canvas = _largest_canvas(page)
    label = page.locator(".jp-OutputArea-output .widget-label")
    label.first.wait_for(state="visible")
    _assert_healthy(page, page_log)

    _click_centre(page, canvas)
    tapped = page.locator(".jp-OutputArea-output .widget-label", has_text=re.compile("^tap at"))
    tapped.wait_for(state="visible", timeout=20_000)
    text = tapped.inner_text()
    x, y = (int(v) for v in text.removeprefix("tap at ").split(","))
    assert 16 <= x <= 48 and 16 <= y <= 48, text  # the middle of a 64x64 image, give or take axes

    _assert_healthy(page, page_log)
    page.mouse.move(1, 1)  # no hover tooltip over the plot in the screenshot
    lab.screenshot(page, "ui_smoke")


def test_explorer_notebook(page: Any, page_log: Any, lab: Any) -> None:
    name = "ui_explorer.ipynb"
    lab.write_notebook(name, EXPLORER_CELLS)
    lab.run_notebook(page, name)

    canvas = _largest_canvas(page)
    _assert_healthy(page, page_log)
    before = int(lab.kernel_eval(page, name, "print(len(ex.kernel.trace))"))

    _click_centre(page, canvas)
    # The click goes browser -> comm -> Python asynchronously: poll the model.
    after = before
    for _ in range(50):
        after = int(lab.kernel_eval(page, name, "print(len(ex.kernel.trace))"))
        if after > before:
            break
        page.wait_for_timeout(200)
    page.mouse.move(1, 1)  # no hover tooltip over the heatmap in the screenshot
    assert after > before, "the click on the heatmap did not reach the Python model"
    # The click injected a software error into the subpage under the cursor: the model, the
    # heatmap's data and the counters panel and step text in the page all say so.
    poisoned = "print(ex.kernel.meminfo()['HardwareCorrupted'])"
    assert lab.kernel_eval(page, name, poisoned).strip() == "4"
    cells = "print(int((ex._heatmap.source.data['image'][0] == mf.SubpageState.HWPOISON_SW).sum()))"
    assert lab.kernel_eval(page, name, cells).strip() == "1"
    page.get_by_text("Step 1 of 1").first.wait_for(timeout=10_000)
    counters = page.locator(".mfw-counters").first
    counters.wait_for(state="attached", timeout=10_000)
    for _ in range(50):
        if "recovery action for huge page: Recovered" in counters.inner_text():
            break
        page.wait_for_timeout(200)
    assert "recovery action for huge page: Recovered" in counters.inner_text()
    canvas.scroll_into_view_if_needed()
    lab.screenshot(page, "ui_explorer")
    _assert_healthy(page, page_log)
