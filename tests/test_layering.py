"""Layering: the model package must not pull in any UI or plotting library."""

from __future__ import annotations

import json
import subprocess
import sys

UI_MODULES = ("ipywidgets", "traitlets", "IPython", "bokeh")


def test_model_imports_no_ui_modules() -> None:
    code = (
        "import json, sys, mfwidgets.model\n"
        f"ui = {UI_MODULES!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ui)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, f"importing mfwidgets.model failed:\n{proc.stderr}"
    offending = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not offending, f"mfwidgets.model imported UI/plotting modules: {offending}"


def test_package_imports_and_has_version() -> None:
    import mfwidgets as mf

    assert isinstance(mf.__version__, str)
    assert mf.__version__
