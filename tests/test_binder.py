"""The Binder environment: built from binder/requirements.txt alone, it runs the notebooks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_binder_files_pin_everything() -> None:
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    reqs = [line for line in lines if line and not line.startswith("#")]
    assert reqs[0] == "-e ."
    unpinned = [r for r in reqs[1:] if "==" not in r]
    assert unpinned == []
    names = {r.split("==")[0].lower().replace("_", "-") for r in reqs[1:]}
    assert {"numpy", "bokeh", "ipywidgets", "jupyter-bokeh", "jupyterlab", "voila"} <= names
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


@pytest.mark.slow
def test_fresh_venv_from_binder_requirements_runs_the_notebooks(tmp_path: Path) -> None:
    """What Binder does: pip install -r binder/requirements.txt from the repository root."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", "binder/requirements.txt"], cwd=ROOT, check=True)
    listing = subprocess.run(
        [str(venv / "bin" / "jupyter"), "labextension", "list"],
        capture_output=True,
        text=True,
        check=True,
    )
    text = listing.stdout + listing.stderr
    for name in ("@jupyter-widgets/jupyterlab-manager", "@bokeh/jupyter_bokeh"):
        assert name in text
    work = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", work)
    notebooks = sorted(str(p) for p in work.glob("*.ipynb"))
    subprocess.run(
        [
            str(venv / "bin" / "jupyter"),
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--ExecutePreprocessor.timeout=300",
            "--output-dir",
            str(tmp_path / "out"),
            *notebooks,
        ],
        cwd=work,
        check=True,
        capture_output=True,
    )
    assert len(list((tmp_path / "out").glob("*.ipynb"))) == len(notebooks)
