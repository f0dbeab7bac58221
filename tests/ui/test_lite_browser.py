"""The static JupyterLite site in a real browser, offline: every notebook runs top to bottom
with no error output, a click on the Explorer heatmap changes the model, and no request leaves
127.0.0.1 (Chromium resolves no other host). Needs Debian's chromium, the `ui` extra (which
includes `lite`) and npm (see tests/ui/lite_site.py and docs/lite.md).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lite_site  # noqa: E402

pytestmark = pytest.mark.ui

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
CHROMIUM = Path(os.environ.get("MFW_CHROMIUM", "/usr/bin/chromium"))
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def lite_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site, built once (test build: the app exposed to the page), served under a sub-path."""
    if importlib.util.find_spec("jupyterlite_core") is None:
        _unavailable("jupyterlite-core is not installed (pip install -e '.[lite]')")
    from mfwidgets.lite import build

    site = build.build(
        tmp_path_factory.mktemp("lite") / "site",
        os.environ.get("MFW_LITE_PYODIDE") or None,
        expose_app=True,
        log=lambda *a: None,
    )
    with lite_site.serve(site) as url:
        yield url


@pytest.fixture(scope="session")
def offline_browser(playwright: Any) -> Iterator[Any]:
    """Chromium that resolves no host but 127.0.0.1 (the session's one Playwright, conftest)."""
    b = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=lite_site.CHROMIUM_ARGS
    )
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def lite_page(offline_browser: Any) -> Iterator[tuple[Any, lite_site.Traffic]]:
    traffic = lite_site.Traffic()
    page = lite_site.new_page(offline_browser, traffic)
    try:
        yield page, traffic
    finally:
        page.context.close()


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_clean_in_the_browser(
    lite_url: str, lite_page: tuple[Any, lite_site.Traffic], notebook: str
) -> None:
    page, traffic = lite_page
    name = f"notebooks/{notebook}"
    lite_site.open_notebook(page, lite_url, name)
    state = lite_site.run_all(page, name)
    assert state["errors"] == [] and state["pending"] == 0
    assert "Error displaying widget" not in page.locator("body").inner_text()
    assert traffic.external() == [], "requests left 127.0.0.1"
    assert traffic.errors == [], "uncaught errors in the page"


def test_explorer_click_changes_the_model(
    lite_url: str, lite_page: tuple[Any, lite_site.Traffic]
) -> None:
    page, traffic = lite_page
    name = "notebooks/00_index.ipynb"
    lite_site.open_notebook(page, lite_url, name)
    lite_site.run_all(page, name)
    canvas = lite_site.first_heatmap(page)
    before, after, _ = lite_site.click_and_wait(page, name, canvas, "print(len(ex.kernel.trace))")
    assert int(after) > int(before), "the click did not reach the model"
    assert traffic.external() == [], "requests left 127.0.0.1"
