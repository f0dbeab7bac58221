"""The site's configuration and server, and the project changes the browser workbook needs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from mfwidgets.lite import build, serve

REPO = Path(__file__).resolve().parents[2]


def test_site_config_preloads_and_never_falls_back_to_pypi() -> None:
    data = build.site_config(["mfwidgets", "ipython"], expose_app=False)["jupyter-config-data"]
    kernel = data["litePluginSettings"][build.KERNEL_PLUGIN]
    assert kernel["disablePyPIFallback"] is True
    assert kernel["loadPyodideOptions"]["packages"] == ["mfwidgets", "ipython"]
    # Relative: the site works under any sub-path.
    assert kernel["pyodideUrl"] == "./static/pyodide/pyodide.js"
    assert "exposeAppInBrowser" not in data


def test_server_serves_under_a_sub_path_with_browser_mime_types(tmp_path: Path) -> None:
    (tmp_path / "a.wasm").write_bytes(b"\0asm")
    (tmp_path / "b.mjs").write_text("export {}")
    server = serve.make_server(tmp_path, prefix="/course/lite/")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{base}/course/lite/a.wasm") as r:
            assert r.headers["Content-Type"] == "application/wasm"
        with urllib.request.urlopen(f"{base}/course/lite/b.mjs") as r:
            assert r.headers["Content-Type"] == "text/javascript"
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"{base}/a.wasm")
        assert e.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_every_notebook_carries_the_same_kernel_metadata() -> None:
    metas = {
        p.name: json.loads(p.read_text())["metadata"]
        for p in sorted((REPO / "notebooks").glob("*.ipynb"))
    }
    want = {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        },
        "language_info": {"name": "python"},
    }
    assert {n: {k: m.get(k) for k in want} for n, m in metas.items()} == dict.fromkeys(metas, want)


def test_in_notebook_accepts_the_pyodide_kernel_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython

    from mfwidgets.widgets import display

    interp = type("Interpreter", (), {"__module__": "pyodide_kernel.interpreter"})
    monkeypatch.setattr(IPython, "get_ipython", lambda: interp())
    assert display.in_notebook()
    other = type("Interpreter", (), {"__module__": "somewhere.else"})
    monkeypatch.setattr(IPython, "get_ipython", lambda: other())
    assert not display.in_notebook()


def test_doctor_in_pyodide_says_the_site_brings_everything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mfwidgets import __main__ as launcher

    assert launcher.doctor("emscripten") == 0
    out = capsys.readouterr().out
    assert "nothing to install" in out and "pip install" not in out


NOTEBOOK_IMPORTS = (
    "import mfwidgets as mf; from mfwidgets import fleet; "
    "from mfwidgets.conformance import changes; import mfwidgets.widgets, mfwidgets.exercises, "
    "mfwidgets.teaching; mf.show_versions"
)


def test_what_notebooks_import_needs_no_lzma() -> None:
    code = "import sys; sys.modules['lzma'] = sys.modules['_lzma'] = None; " + NOTEBOOK_IMPORTS
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_module_level_lzma_subprocess_or_threads_in_what_notebooks_import() -> None:
    code = NOTEBOOK_IMPORTS + "; print('\\n'.join(m.__file__ for n, m in sys.modules.items() "
    code += "if n.startswith('mfwidgets') and getattr(m, '__file__', None)))"
    out = subprocess.run(
        [sys.executable, "-c", "import sys; " + code], check=True, capture_output=True, text=True
    ).stdout
    banned = {"lzma", "subprocess", "threading", "multiprocessing", "concurrent"}
    found = []
    for path in out.split():
        for node in ast.parse(Path(path).read_text()).body:
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            found += [f"{path}: {n}" for n in names if n.split(".")[0] in banned]
    assert found == []
