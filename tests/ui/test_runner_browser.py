"""Real browser: the WorkloadRunner renders in JupyterLab, and ticks run from the kernel show
up in the page. Needs Debian's chromium and the `ui` extra (see conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.ui

CELLS = [
    "import mfwidgets as mf",
    "mf.setup_notebook()",
    "wr = mf.WorkloadRunner()",
    "wr",
]


def _counts_text(page: Any) -> str:
    table = page.locator(".jp-OutputArea-output table.mfw-runner").first
    table.wait_for(state="attached", timeout=30_000)
    return str(table.inner_text())


def test_workload_runner_renders_and_ticks(page: Any, page_log: Any, lab: Any) -> None:
    name = "ui_runner.ipynb"
    lab.write_notebook(name, CELLS)
    lab.run_notebook(page, name)

    canvases = page.locator(".jp-OutputArea-output canvas")
    canvases.first.wait_for(state="attached", timeout=30_000)
    big = 0
    for _ in range(50):  # BokehJS draws after the widget view is attached
        boxes = [canvases.nth(i).bounding_box() for i in range(canvases.count())]
        big = sum(1 for b in boxes if b and b["width"] > 200 and b["height"] > 200)
        if big >= 2:
            break
        page.wait_for_timeout(200)
    assert big >= 2, "the two 1 GiB heatmaps did not render"
    body = page.locator("body").inner_text()
    assert "Error displaying widget" not in body
    before = _counts_text(page)
    assert "memory still usable" in before

    out = lab.kernel_eval(page, name, "t = wr.step(5); print(int(t['keep']['ticks']))")
    assert out.strip() == "5"
    after = before
    for _ in range(50):  # kernel -> comm -> page is asynchronous
        after = _counts_text(page)
        if after != before:
            break
        page.wait_for_timeout(200)
    assert after != before, "the counts in the page did not change after 5 ticks"
    page.get_by_text("last tick (5)").first.wait_for(timeout=10_000)

    # The counts, the last tick and both heatmaps in one view (the controls scroll off).
    intro = page.get_by_text("Both guests issue").first
    intro.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.mouse.move(1, 1)  # no hover tooltip in the screenshot
    lab.screenshot(page, "ui_runner")
    assert "Error displaying widget" not in page.locator("body").inner_text()
    assert page_log.external_requests() == [], "requests left 127.0.0.1 (CDN?)"
    assert page_log.bad_console() == [], "console errors"
