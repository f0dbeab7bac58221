"""Driving the static JupyterLite site in Chromium, offline: shared by tests/ui/test_lite_browser.py
and benchmarks/bench_lite.py.

The site is served on 127.0.0.1 under /course/lite/ (a sub-path, as on a course page) by
mfwidgets.lite.serve; Chromium resolves no other host, so anything the site tried to fetch
from elsewhere fails, and every request is recorded to prove none was tried.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PREFIX = "/course/lite/"
#: Chromium flags: headless, every host but 127.0.0.1 unresolvable, no background traffic.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--metrics-recording-only",
    "--no-pings",
]
KERNEL_TIMEOUT_S = 90
RUN_TIMEOUT_S = 240

#: JavaScript shared with conftest.py's JupyterLab tests: find a notebook panel (the app may
#: not exist yet while JupyterLite loads), and wait until its kernel is really idle.
JS_FIND_PANEL = """
const findPanel = async (name, timeoutMs) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const app = window.jupyterapp;
    const panel = app && Array.from(app.shell.widgets('main'))
      .find(w => w.context && w.context.path === name && w.content && w.content.widgets);
    if (panel) return panel;
    if (Date.now() > deadline) throw new Error('no notebook panel for ' + name);
    await new Promise(r => setTimeout(r, 100));
  }
};
const sleep = ms => new Promise(r => setTimeout(r, ms));
"""

JS_WAIT_IDLE = (
    "async ([name, timeoutMs]) => {"
    + JS_FIND_PANEL
    + """
  const panel = await findPanel(name, timeoutMs);
  const deadline = Date.now() + timeoutMs;
  await panel.context.ready;
  await panel.sessionContext.ready;
  for (;;) {
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    if (kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected') break;
    if (Date.now() > deadline) {
      throw new Error('kernel not idle: ' + (kernel ? kernel.status : 'no kernel'));
    }
    await sleep(100);
  }
  window.jupyterapp.shell.activateById(panel.id);
  return panel.sessionContext.session.kernel.name;
}"""
)

JS_RUN_STATE = (
    "async ([name]) => {"
    + JS_FIND_PANEL
    + """
  const panel = await findPanel(name, 5000);
  const code = panel.content.widgets.filter(c => c.model.type === 'code');
  const pending = code.filter(c => c.model.executionCount === null).length;
  const errors = [];
  code.forEach((c, i) => {
    for (const o of c.model.outputs.toJSON()) {
      if (o.output_type === 'error') errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
    }
  });
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {cells: code.length, pending, errors, kernel: kernel ? kernel.status : null};
}"""
)

JS_KERNEL_EVAL = (
    "async ([name, code]) => {"
    + JS_FIND_PANEL
    + """
  const panel = await findPanel(name, 5000);
  const kernel = panel.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  let out = '';
  let err = null;
  future.onIOPub = msg => {
    const t = msg.header.msg_type;
    if (t === 'stream') out += msg.content.text;
    else if (t === 'execute_result') out += msg.content.data['text/plain'] + '\\n';
    else if (t === 'error') err = msg.content.ename + ': ' + msg.content.evalue;
  };
  await future.done;
  if (err) throw new Error(err);
  return out;
}"""
)


@dataclass
class Traffic:
    """Every request the page made, and the bytes that came back."""

    requests: list[str] = field(default_factory=list)
    bytes_in: int = 0
    errors: list[str] = field(default_factory=list)

    def external(self) -> list[str]:
        return [
            u
            for u in self.requests
            if not u.startswith(("data:", "blob:", "about:"))
            and not re.match(r"^(https?|wss?)://127\.0\.0\.1(:\d+)?/", u)
        ]


@contextmanager
def serve(site: Path) -> Iterator[str]:
    """The site on 127.0.0.1 (a free port) under PREFIX; yields its URL."""
    from mfwidgets.lite.serve import make_server

    server = make_server(site, prefix=PREFIX)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    finally:
        server.shutdown()
        server.server_close()


def new_page(browser: Any, traffic: Traffic) -> Any:
    """A fresh context (cold cache, empty browser storage) and page that records traffic."""
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    context.set_default_timeout(60_000)
    page = context.new_page()
    context.on("request", lambda r: traffic.requests.append(r.url))
    page.on("pageerror", lambda e: traffic.errors.append(str(e)))

    def finished(r: Any) -> None:
        with contextlib.suppress(Exception):  # a cancelled request: nothing came back
            traffic.bytes_in += int(r.sizes()["responseBodySize"])

    context.on("requestfinished", finished)
    return page


def open_notebook(page: Any, base: str, name: str) -> float:
    """Open notebook ``name`` (path in the site) and wait for an idle kernel; seconds taken."""
    t0 = time.monotonic()
    page.goto(f"{base}lab/index.html?path={name}", wait_until="domcontentloaded")
    page.wait_for_function("() => !!window.jupyterapp", timeout=KERNEL_TIMEOUT_S * 1000)
    page.evaluate(JS_WAIT_IDLE, [name, KERNEL_TIMEOUT_S * 1000])
    return time.monotonic() - t0


def run_all(page: Any, name: str, timeout_s: float = RUN_TIMEOUT_S) -> dict[str, Any]:
    """Run every cell of the open notebook; the final state (AssertionError on a cell error)."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.monotonic() + timeout_s
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = page.evaluate(JS_RUN_STATE, [name])
        if state["errors"]:
            raise AssertionError(f"{name}: a cell raised: {state['errors']}")
        if state["pending"] == 0 and state["kernel"] == "idle":
            return state
        page.wait_for_timeout(250)
    raise AssertionError(f"{name}: cells still running after {timeout_s:.0f} s: {state}")


def kernel_eval(page: Any, name: str, code: str) -> str:
    return str(page.evaluate(JS_KERNEL_EVAL, [name, code]))


def first_heatmap(page: Any, timeout_s: float = 60) -> Any:
    """The first drawn canvas larger than 200x200 px in an output (bokeh's heatmap)."""
    canvases = page.locator(".jp-OutputArea-output canvas")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # A cell out of view is not drawn: walk down the notebook (wrapping at the end) until
        # the Explorer's heatmap is on screen.
        page.evaluate(
            "() => document.querySelectorAll('.jp-WindowedPanel-outer').forEach(s => {"
            " s.scrollTop = s.scrollTop + s.clientHeight >= s.scrollHeight ? 0"
            " : s.scrollTop + s.clientHeight / 2; })"
        )
        for i in range(canvases.count()):
            box = canvases.nth(i).bounding_box()
            if box and box["width"] > 200 and box["height"] > 200:
                return canvases.nth(i)
        page.wait_for_timeout(100)
    shot = Path(__file__).resolve().parents[2] / "test-artifacts" / "lite-no-heatmap.png"
    shot.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(shot))
    raise AssertionError(f"no heatmap drew (the page: {shot})")


def click_and_wait(
    page: Any, name: str, canvas: Any, probe: str, at: float = 0.4
) -> tuple[str, str, float]:
    """Click ``canvas`` at the fraction ``at`` of its width and height (a cell already poisoned
    changes nothing: click another one each time); poll ``probe`` in the kernel until its
    output changes. Returns (before, after, seconds from the click to the change)."""
    canvas.scroll_into_view_if_needed()
    before = kernel_eval(page, name, probe)
    box = canvas.bounding_box()
    t0 = time.monotonic()
    page.mouse.click(box["x"] + box["width"] * at, box["y"] + box["height"] * at)
    after = before
    while time.monotonic() - t0 < 30:
        after = kernel_eval(page, name, probe)
        if after != before:
            break
        page.wait_for_timeout(20)
    return before, after, time.monotonic() - t0
