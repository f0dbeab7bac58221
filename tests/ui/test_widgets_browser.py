"""Real browser: PolicyComparison and ScenarioPlayer render in JupyterLab, and clicks in the page
reach the Python model. Needs Debian's chromium and the `ui` extra (see conftest.py).

Screenshots (test-artifacts/): ui_comparison.png, ui_comparison_dark.png, ui_scenario.png.
The viewport is tall so that one screenshot shows a whole widget, as a student scrolls it.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.ui

VIEWPORT = {"width": 1400, "height": 2000}
COMPARISON_CELLS = [
    "import mfwidgets as mf",
    "mf.setup_notebook()",
    "pc = mf.PolicyComparison()",
    "pc",
]
SCENARIO_CELLS = [
    "import mfwidgets as mf",
    "mf.setup_notebook()",
    "p = mf.ScenarioPlayer(mf.widgets.HARD_OFFLINE_1G)",
    "p",
]
TRACE_LENGTHS = "print(*(len(k.trace) for k in pc.kernels))"


def _big_canvases(page: Any, want: int) -> list[Any]:
    """The output canvases larger than 200x200 px, top first, once ``want`` have drawn."""
    canvases = page.locator(".jp-OutputArea-output canvas")
    canvases.first.wait_for(state="attached", timeout=30_000)
    found: list[tuple[float, Any]] = []
    for _ in range(75):  # BokehJS draws after the widget view is attached
        found = []
        for i in range(canvases.count()):
            box = canvases.nth(i).bounding_box()
            if box and box["width"] > 200 and box["height"] > 200:
                found.append((box["y"], canvases.nth(i)))
        if len(found) >= want:
            break
        page.wait_for_timeout(200)
    assert len(found) >= want, f"{len(found)} heatmaps rendered, expected {want}"
    return [c for _, c in sorted(found, key=lambda t: t[0])]


def _assert_healthy(page: Any, page_log: Any) -> None:
    assert "Error displaying widget" not in page.locator("body").inner_text()
    assert page_log.external_requests() == [], "requests left 127.0.0.1 (CDN?)"
    assert page_log.bad_console() == [], "console errors"


def _poll(page: Any, lab: Any, name: str, code: str, done: Any) -> str:
    """Run ``code`` in the kernel until ``done(stdout)``: browser -> comm -> Python is async."""
    out = ""
    for _ in range(50):
        out = lab.kernel_eval(page, name, code)
        if done(out):
            break
        page.wait_for_timeout(200)
    return out


def test_policy_comparison_tap_reaches_both_kernels(page: Any, page_log: Any, lab: Any) -> None:
    page.set_viewport_size(VIEWPORT)
    name = "ui_comparison.ipynb"
    lab.write_notebook(name, COMPARISON_CELLS)
    lab.run_notebook(page, name)
    stock_canvas = _big_canvases(page, 2)[0]  # top first: the stock heatmap
    _assert_healthy(page, page_log)
    page.get_by_text("stock: 2048 of 2048 subpages still usable").wait_for(timeout=10_000)
    before = [int(n) for n in lab.kernel_eval(page, name, TRACE_LENGTHS).split()]

    box = stock_canvas.bounding_box()
    # The middle of the cell area: the legend and axes sit right of and below it.
    page.mouse.click(box["x"] + 300, box["y"] + 150)
    out = _poll(
        page,
        lab,
        name,
        TRACE_LENGTHS,
        lambda s: all(int(a) > b for a, b in zip(s.split(), before, strict=True)),
    )
    after = [int(n) for n in out.split()]
    assert all(a > b for a, b in zip(after, before, strict=True)), (before, after)
    actions = lab.kernel_eval(page, name, "print(pc.stock.actions == pc.keep.actions)")
    assert actions.strip() == "True"
    page.get_by_text("keep: 2047 usable").wait_for(timeout=10_000)
    page.mouse.move(1, 1)  # no hover tooltip in the screenshot
    page.wait_for_timeout(500)
    lab.screenshot(page, "ui_comparison")
    _assert_healthy(page, page_log)

    _set_lab_theme(page, "JupyterLab Dark")
    lab.kernel_eval(page, name, "pc._theme_choice.value = 'dark'")
    page.wait_for_timeout(1000)
    lab.screenshot(page, "ui_comparison_dark")
    _assert_healthy(page, page_log)
    _set_lab_theme(page, "JupyterLab Light")  # the setting outlives this test


def _set_lab_theme(page: Any, theme: str) -> None:
    page.evaluate(
        "theme => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme
    )
    light = "true" if "Light" in theme else "false"
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'")


def test_scenario_player_steps_from_the_page(page: Any, page_log: Any, lab: Any) -> None:
    page.set_viewport_size(VIEWPORT)
    name = "ui_scenario.ipynb"
    lab.write_notebook(name, SCENARIO_CELLS)
    lab.run_notebook(page, name)
    _set_lab_theme(page, "JupyterLab Light")
    _big_canvases(page, 1)
    _assert_healthy(page, page_log)
    page.get_by_text("step 0 of 4").first.wait_for(timeout=10_000)

    forward = page.locator(".jp-OutputArea-output button", has_text="forward")
    forward.first.click()
    out = _poll(page, lab, name, "print(p.index)", lambda s: s.strip() == "1")
    assert out.strip() == "1", "the forward button did not reach the Python player"
    forward.first.click()  # step 2: the load next door, SIGBUS lsb 30
    _poll(page, lab, name, "print(p.index)", lambda s: s.strip() == "2")
    page.get_by_text("step 2 of 4").first.wait_for(timeout=10_000)
    page.mouse.move(1, 1)
    page.wait_for_timeout(500)
    lab.screenshot(page, "ui_scenario")
    _assert_healthy(page, page_log)
