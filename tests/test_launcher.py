"""The workbook launcher: copies never overwrite a student's work; doctor finds problems."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mfwidgets import __main__ as launcher


def test_copy_notebooks_keeps_a_students_edits(tmp_path: Path) -> None:
    copied, kept = launcher.copy_notebooks(tmp_path)
    assert "00_index.ipynb" in copied and kept == []
    edited = tmp_path / "00_index.ipynb"
    edited.write_text("my answers")
    copied_again, kept_again = launcher.copy_notebooks(tmp_path)
    assert copied_again == [] and "00_index.ipynb" in kept_again
    assert edited.read_text() == "my answers"


def test_doctor_passes_here_and_names_a_missing_extension(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert launcher.doctor() == 0
    assert "All good" in capsys.readouterr().out
    monkeypatch.setattr(launcher, "installed_extensions", lambda: {"@bokeh/jupyter_bokeh"})
    assert launcher.doctor() == 1
    out = capsys.readouterr().out
    assert "extension @jupyter-widgets/jupyterlab-manager: MISSING" in out
    assert "Error displaying widget" in out


def test_lab_command_copies_then_starts_jupyterlab(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(launcher.subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    assert launcher.main(["lab", "--dir", str(tmp_path), "--port", "8899", "--no-browser"]) == 0
    (cmd,) = calls
    assert cmd[:4] == [sys.executable, "-m", "jupyter", "lab"]
    assert str(tmp_path / "00_index.ipynb") in cmd and "--port=8899" in cmd
    assert (tmp_path / "00_index.ipynb").exists()


def test_module_entry_point_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mfwidgets", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "copy-notebooks" in out and "doctor" in out
