"""Real-browser harness: headless JupyterLab + Python Playwright driving Debian's chromium.

Fixtures:
  lab_server  (session)  JupyterLab on 127.0.0.1:<free port> with a random token, serving a
                         temporary root (a copy of notebooks/ plus whatever tests write there),
                         with throw-away config/runtime/data/settings/workspaces dirs.
  browser     (session)  chromium from /usr/bin/chromium (never `playwright install`).
  page        (function) a fresh context + page that records console errors and requests;
                         on failure it saves test-artifacts/<test>-failure.png and a log.
  voila_server (module)  Voila on 127.0.0.1:<free port> with a random token, rendering
                         notebooks/dashboard.ipynb from a temporary copy of notebooks/ (skips
                         without voila or the notebook; fails instead under CI=true).

Helpers (import from tests.ui.conftest is not needed: use the `lab` fixture):
  lab.write_notebook(name, cells)      write a code-only notebook into the server root
  lab.run_notebook(page, name)         open, wait for an idle kernel, run all, wait for the end
  lab.kernel_eval(page, name, code)    run code in that notebook's kernel, return its stdout
  lab.screenshot(page, label)          save test-artifacts/<label>.png

Without /usr/bin/chromium or playwright the `ui` tests skip; with CI=true they fail instead, so
CI cannot pass by skipping them. Run scripts/install-browser and
MFW_EXTRAS=test,ui,dashboard scripts/test (the `dashboard` extra is voila, for voila_server).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest

# JavaScript that finds a notebook panel and waits for an idle kernel (shared with lite).
from .lite_site import JS_FIND_PANEL, JS_WAIT_IDLE

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
# Debian's chromium; MFW_CHROMIUM overrides it (e.g. to check the skip/fail path).
CHROMIUM = Path(os.environ.get("MFW_CHROMIUM", "/usr/bin/chromium"))
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # --user-data-dir: Playwright's launch() always passes a fresh temporary one itself.
]

SERVER_START_TIMEOUT_S = 60
NOTEBOOK_RUN_TIMEOUT_S = 120

# Console errors that JupyterLab itself emits on a healthy start; anything else fails a test.
BENIGN_CONSOLE = [
    re.compile(r"Failed to load resource: the server responded with a status of 404 .*favicon"),
    # The static site's build tools (the `lite` extra, part of `ui`) install JupyterLite's kernel
    # extension into this environment; outside a JupyterLite site it finds no @jupyterlite/server
    # and logs this once, harmlessly (docs/lite.md says so to teachers).
    re.compile(r"Shared module @jupyterlite/server doesn't exist in shared scope default"),
]


def _unavailable(reason: str) -> None:
    """Skip locally; fail under CI, where the UI tests must run."""
    if IN_CI:
        pytest.fail(
            f"CI=true but {reason} (run scripts/install-browser; MFW_EXTRAS=test,ui,dashboard)"
        )
    pytest.skip(reason)


# -- failure screenshots: expose each phase's report to fixtures ------------------------------


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


# -- the server --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _code_notebook(cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


# One poll of the run state: counts, and the first error output if any cell raised.
_JS_RUN_STATE = (
    "async ([name]) => {"
    + JS_FIND_PANEL
    + """
  const panel = await findPanel(name, 5000);
  const code = panel.content.widgets.filter(c => c.model.type === 'code');
  const pending = code.filter(c => c.model.executionCount === null).length;
  const running = Array.from(panel.node.querySelectorAll('.jp-InputArea-prompt'))
    .filter(n => n.textContent.includes('*')).length;
  const errors = [];
  code.forEach((c, i) => {
    for (const o of c.model.outputs.toJSON()) {
      if (o.output_type === 'error') errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
    }
  });
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {cells: code.length, pending, running, errors, kernel: kernel ? kernel.status : null};
}"""
)

_JS_KERNEL_EVAL = (
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
class PageLog:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def bad_console(self) -> list[str]:
        return [
            m
            for m in self.console_errors + self.page_errors
            if not any(p.search(m) for p in BENIGN_CONSOLE)
        ]

    def external_requests(self) -> list[str]:
        """Requests that left 127.0.0.1 (data:/blob: URLs are in-page, not requests out)."""
        out = []
        for url in self.requests:
            if url.startswith(("data:", "blob:", "about:")):
                continue
            if not re.match(r"^(https?|wss?)://127\.0\.0\.1(:\d+)?/", url):
                out.append(url)
        return out

    def dump(self) -> str:
        return json.dumps(
            {
                "console_errors": self.console_errors,
                "page_errors": self.page_errors,
                "failed_requests": self.failed_requests,
                "external_requests": self.external_requests(),
                "request_count": len(self.requests),
            },
            indent=2,
        )


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    log_path: Path
    proc: subprocess.Popen[bytes]

    # -- files --

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(_code_notebook(cells), path)
        return path

    def log_tail(self, n: int = 60) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        return ""

    # -- the browser side --

    def open_notebook(self, page: Any, name: str, timeout_s: float = 60) -> str:
        """Open /lab/tree/<name>, wait for the app, the notebook and an idle kernel."""
        page.goto(f"{self.url}/lab/tree/{name}?token={self.token}", wait_until="domcontentloaded")
        page.wait_for_function("() => !!window.jupyterapp", timeout=timeout_s * 1000)
        page.wait_for_selector(".jp-Notebook", state="attached", timeout=timeout_s * 1000)
        return str(page.evaluate(JS_WAIT_IDLE, [name, timeout_s * 1000]))

    def run_notebook(
        self, page: Any, name: str, timeout_s: float = NOTEBOOK_RUN_TIMEOUT_S
    ) -> dict[str, Any]:
        """Open `name`, run all cells, wait until every code cell ran (or one raised).

        Returns the last run state: {cells, pending, running, errors, kernel}. Raises
        AssertionError on a cell error or on the timeout.
        """
        self.open_notebook(page, name)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        deadline = time.monotonic() + timeout_s
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = page.evaluate(_JS_RUN_STATE, [name])
            if state["errors"]:
                raise AssertionError(f"{name}: a cell raised: {state['errors']}")
            if state["pending"] == 0 and state["running"] == 0 and state["kernel"] == "idle":
                return state
            page.wait_for_timeout(200)
        raise AssertionError(f"{name}: cells still running after {timeout_s:.0f} s: {state}")

    def kernel_eval(self, page: Any, name: str, code: str) -> str:
        """Run `code` in the kernel of open notebook `name`, outside its cells; return stdout."""
        return str(page.evaluate(_JS_KERNEL_EVAL, [name, code]))

    @staticmethod
    def screenshot(page: Any, label: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{label}.png"
        page.screenshot(path=str(path), full_page=False)
        return path


def _write_lab_settings(settings_dir: Path) -> None:
    """User settings: no news toast (it covers the bottom-right corner), no update check."""
    plugin = (
        settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    )
    plugin.parent.mkdir(parents=True, exist_ok=True)
    plugin.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        _unavailable("jupyterlab is not installed (pip install -e '.[ui]')")

    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    shutil.copytree(REPO / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    # The notebooks' ../docs/ links: Jupyter resolves ".." at the server root to the root itself.
    shutil.copytree(REPO / "docs", root / "docs", ignore=shutil.ignore_patterns("notebooks"))
    dirs = {
        name: base / name
        for name in ("config", "runtime", "data", "settings", "workspaces", "ipython")
    }
    for d in dirs.values():
        d.mkdir()
    _write_lab_settings(dirs["settings"])

    token = secrets.token_hex(24)
    port = _free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "IPYTHONDIR": str(dirs["ipython"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    # What a student gets: no inherited Jupyter paths, and no BOKEH_RESOURCES=inline that would
    # hide a notebook loading BokehJS from the CDN (the tests assert nothing leaves 127.0.0.1).
    for var in ("JUPYTER_PATH", "BOKEH_RESOURCES", "BOKEH_MINIFIED"):
        env.pop(var, None)
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.allow_remote_access=False",
        "--allow-root",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={dirs['settings']}",
        f"--LabApp.workspaces_dir={dirs['workspaces']}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log_path = base / "jupyter-lab.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its kernels share the group; teardown ends exactly these
        )
    server = LabServer(f"http://127.0.0.1:{port}", token, root, log_path, proc)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({proc.returncode}):\n{server.log_tail()}")
            try:
                with urllib.request.urlopen(
                    f"{server.url}/api/status?token={token}", timeout=2
                ) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"jupyter lab not ready after {SERVER_START_TIMEOUT_S} s:\n{server.log_tail()}"
                )
            time.sleep(0.25)
        yield server
    finally:
        _stop_server(server)
        if IN_CI or os.environ.get("MFW_KEEP_LAB_LOG"):
            ARTIFACTS.mkdir(exist_ok=True)
            with contextlib.suppress(OSError):
                shutil.copy(log_path, ARTIFACTS / "jupyter-lab.log")


def _stop_server(server: LabServer) -> None:
    proc = server.proc
    if proc.poll() is None:
        # Ask politely: this shuts the kernels down too.
        req = urllib.request.Request(
            f"{server.url}/api/shutdown?token={server.token}", method="POST", data=b""
        )
        with contextlib.suppress(OSError):
            urllib.request.urlopen(req, timeout=5).close()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    # Anything left in the server's own process group (a stray kernel) goes too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


# -- the Voila dashboard ---------------------------------------------------------------------


@dataclass
class VoilaServer:
    url: str  # the rendered dashboard, token included
    root: Path
    log_path: Path
    proc: subprocess.Popen[bytes]

    def log_tail(self, n: int = 60) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        return ""


@pytest.fixture(scope="module")
def voila_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaServer]:
    """`python -m voila dashboard.ipynb`, as a learner runs it."""
    dashboard = REPO / "notebooks" / "dashboard.ipynb"
    if not dashboard.exists():
        _unavailable(f"{dashboard.relative_to(REPO)} does not exist yet")
    try:
        import voila  # noqa: F401
    except ImportError:
        _unavailable("voila is not installed (pip install -e '.[dashboard]')")

    base = tmp_path_factory.mktemp("voila")
    root = base / "root"
    shutil.copytree(REPO / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    # The notebooks' ../docs/ links: Jupyter resolves ".." at the server root to the root itself.
    shutil.copytree(REPO / "docs", root / "docs", ignore=shutil.ignore_patterns("notebooks"))
    dirs = {name: base / name for name in ("config", "runtime", "data", "ipython", "connections")}
    for d in dirs.values():
        d.mkdir()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "IPYTHONDIR": str(dirs["ipython"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    for var in ("JUPYTER_PATH", "BOKEH_RESOURCES", "BOKEH_MINIFIED"):
        env.pop(var, None)
    token = secrets.token_hex(24)
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "voila",
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",
        f"--Voila.token={token}",
        f"--Voila.connection_dir_root={dirs['connections']}",
        # A failing cell shows its traceback in the page, where the test looks for it.
        "--show_tracebacks=True",
        "dashboard.ipynb",
    ]
    log_path = base / "voila.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its kernels share the group; teardown ends exactly these
        )
    base_url = f"http://127.0.0.1:{port}"
    server = VoilaServer(f"{base_url}/?token={token}", root, log_path, proc)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"voila exited ({proc.returncode}):\n{server.log_tail()}")
            # A static file: polling the dashboard itself would start a kernel per poll.
            try:
                with urllib.request.urlopen(f"{base_url}/voila/static/voila.js", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"voila not ready after {SERVER_START_TIMEOUT_S} s:\n{server.log_tail()}"
                )
            time.sleep(0.25)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()  # on SIGTERM Voila stops its loop and shuts its kernels down
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if IN_CI or os.environ.get("MFW_KEEP_LAB_LOG"):
            ARTIFACTS.mkdir(exist_ok=True)
            with contextlib.suppress(OSError):
                shutil.copy(log_path, ARTIFACTS / "voila.log")


# -- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """One Playwright for the whole session: a second sync_playwright() in the same process
    fails ("Sync API inside the asyncio loop"), so every browser fixture launches from this."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[ui]')")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    b = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def page(browser: Any, page_log: PageLog, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    pg.on(
        "console",
        lambda m: (
            page_log.console_errors.append(f"{m.text} @ {m.location.get('url', '')}")
            if m.type == "error"
            else None
        ),
    )
    pg.on("pageerror", lambda e: page_log.page_errors.append(str(e)))
    context.on("request", lambda r: page_log.requests.append(r.url))
    context.on("requestfailed", lambda r: page_log.failed_requests.append(f"{r.url}: {r.failure}"))
    try:
        yield pg
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            label = re.sub(r"[^\w.-]+", "_", request.node.name)
            with contextlib.suppress(Exception):
                LabServer.screenshot(pg, f"{label}-failure")
            with contextlib.suppress(OSError):
                (ARTIFACTS / f"{label}-failure.log.json").write_text(page_log.dump())
        context.close()


@pytest.fixture
def lab(lab_server: LabServer) -> LabServer:
    return lab_server
