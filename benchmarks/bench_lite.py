"""Benchmark: the static JupyterLite site, cold, in Chromium with every other host unresolvable.

Builds the site (``python -m mfwidgets lite``), serves it on 127.0.0.1 under /course/lite/,
opens notebooks/00_index.ipynb in a fresh browser context (empty cache and storage) and prints:

- page load to kernel idle (Pyodide and every package loaded from the site);
- page load to the first heatmap (the notebook run top to bottom, bokeh drawn);
- click on the Explorer heatmap to the model's change seen from the kernel (median of --clicks);
- MB transferred on that cold load, and whether any request left 127.0.0.1.

    .venv/bin/python benchmarks/bench_lite.py [--site DIR] [--clicks 1] [--pyodide SPEC]

Needs the `ui` extra (it includes `lite`), npm, and Debian's chromium (/usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ui"))
import lite_site  # noqa: E402

NOTEBOOK = "notebooks/00_index.ipynb"
PROBE = "print(len(ex.kernel.trace))"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--site", type=Path, help="an already built test site (exposeAppInBrowser)")
    parser.add_argument("--clicks", type=int, default=1)
    parser.add_argument("--pyodide")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        site = args.site
        if site is None:
            from mfwidgets.lite import build

            t0 = time.monotonic()
            site = build.build(
                Path(tmp) / "site", args.pyodide, expose_app=True, log=lambda *a: None
            )
            print(f"site built in {time.monotonic() - t0:.1f} s")
        with lite_site.serve(site) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=lite_site.CHROMIUM_ARGS
            )
            traffic = lite_site.Traffic()
            page = lite_site.new_page(browser, traffic)
            t0 = time.monotonic()
            idle = lite_site.open_notebook(page, url, NOTEBOOK)
            lite_site.run_all(page, NOTEBOOK)
            canvas = lite_site.first_heatmap(page)
            heatmap = time.monotonic() - t0
            clicks = []
            for i in range(args.clicks):
                at = 0.2 + 0.6 * i / max(1, args.clicks)  # a fresh cell each time
                before, after, dt = lite_site.click_and_wait(page, NOTEBOOK, canvas, PROBE, at)
                if after == before:
                    raise SystemExit("a click did not reach the model")
                clicks.append(dt)
            browser.close()
    print(f"page load to kernel idle:   {idle:.1f} s")
    print(f"page load to first heatmap: {heatmap:.1f} s")
    print(f"click to redraw (median of {len(clicks)}): {statistics.median(clicks):.2f} s")
    print(f"transferred on a cold load: {traffic.bytes_in / 1e6:.0f} MB")
    print(f"requests that left 127.0.0.1: {len(traffic.external())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
