"""The workbook launcher: copies never overwrite a student's work; doctor finds problems."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mfwidgets import __main__ as launcher


def test_copy_notebooks_keeps_a_students_edits(tmp_path: Path) -> None:
    copied, kept = launcher.copy_notebooks(tmp_path)
    assert "notebooks/00_index.ipynb" in copied and kept == []
    assert {f"docs/{name}" for name in launcher.DOCS} <= set(copied)
    edited = tmp_path / "notebooks" / "00_index.ipynb"
    edited.write_text("my answers")
    copied_again, kept_again = launcher.copy_notebooks(tmp_path)
    assert copied_again == [] and sorted(kept_again) == sorted(copied)
    assert edited.read_text() == "my answers"


def test_copy_notebooks_fills_in_what_is_missing(tmp_path: Path) -> None:
    launcher.copy_notebooks(tmp_path)
    (tmp_path / "docs" / "GLOSSARY.md").unlink()
    (tmp_path / "notebooks" / "03_behaviour.ipynb").write_text("my answers")
    copied, kept = launcher.copy_notebooks(tmp_path)
    assert copied == ["docs/GLOSSARY.md"]
    assert "notebooks/03_behaviour.ipynb" in kept
    assert (tmp_path / "notebooks" / "03_behaviour.ipynb").read_text() == "my answers"


def test_the_wheel_ships_every_page_the_launcher_copies() -> None:
    pyproject = (Path(launcher.__file__).parent.parent / "pyproject.toml").read_text()
    for name in launcher.DOCS:
        assert f'"docs/{name}" = "mfwidgets/_docs/{name}"' in pyproject


def _servers(monkeypatch: pytest.MonkeyPatch, missing: str = "") -> list[list[str]]:
    """Pretend JupyterLab and Voila are installed, except the module ``missing``; record the
    server command lines instead of running them."""
    monkeypatch.setattr(
        launcher.importlib.util, "find_spec", lambda name: None if name == missing else name
    )
    calls: list[list[str]] = []
    monkeypatch.setattr(launcher, "launch", lambda cmd: calls.append(cmd) or 0)
    return calls


@pytest.mark.parametrize(
    ("argv", "module", "extra"),
    [([], "jupyterlab", "lab"), (["lab"], "jupyterlab", "lab"), (["voila"], "voila", "dashboard")],
)
def test_without_the_server_one_line_names_the_extra_and_nothing_is_copied(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    module: str,
    extra: str,
) -> None:
    calls = _servers(monkeypatch, missing=module)
    assert launcher.main([*argv, "--dir", str(tmp_path / "wb")]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert f"pip install 'mfwidgets[{extra}]'" in err
    assert calls == [] and not (tmp_path / "wb").exists()


def test_bare_command_without_jupyterlab_exits_1_without_traceback(tmp_path: Path) -> None:
    """The plain `pip install mfwidgets` case: importing jupyterlab fails."""
    blocked = (
        "import runpy, sys; sys.modules['jupyterlab'] = None; "
        "runpy.run_module('mfwidgets', run_name='__main__')"
    )
    run = subprocess.run(
        [sys.executable, "-c", blocked], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr == (
        "mfwidgets: JupyterLab is not installed here; install it: pip install 'mfwidgets[lab]'\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("root", [True, False])
def test_voila_command_line_never_carries_allow_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: bool
) -> None:
    """Voila rejects --allow-root and has no root check: as root it runs as it is."""
    monkeypatch.setattr(launcher, "_is_root", lambda: root)
    calls = _servers(monkeypatch)
    argv = ["voila", "--dir", str(tmp_path), "--port", "8866", "--no-browser", "--Voila.ip=::1"]
    assert launcher.main(argv) == 0
    assert calls == [
        [
            sys.executable,
            "-m",
            "voila",
            str(tmp_path / "notebooks" / "dashboard.ipynb"),
            "--port=8866",
            "--no-browser",
            "--Voila.ip=::1",
        ]
    ]


@pytest.mark.parametrize("root", [True, False])
def test_lab_command_line_carries_allow_root_only_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: bool
) -> None:
    monkeypatch.setattr(launcher, "_is_root", lambda: root)
    calls = _servers(monkeypatch)
    assert launcher.main(["--dir", str(tmp_path), "--ServerApp.token=t"]) == 0
    (cmd,) = calls
    assert cmd[:5] == [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={tmp_path}"]
    assert cmd[5] == str(tmp_path / "notebooks" / "00_index.ipynb")
    assert cmd[6:] == (["--allow-root"] if root else []) + ["--ServerApp.token=t"]


def test_unknown_options_are_refused_outside_lab_and_voila(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        launcher.main(["doctor", "--bogus"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


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
    calls = _servers(monkeypatch)
    assert launcher.main(["lab", "--dir", str(tmp_path), "--port", "8899", "--no-browser"]) == 0
    (cmd,) = calls
    assert cmd[:4] == [sys.executable, "-m", "jupyter", "lab"]
    assert str(tmp_path / "notebooks" / "00_index.ipynb") in cmd and "--port=8899" in cmd
    assert (tmp_path / "notebooks" / "00_index.ipynb").exists()


def test_module_entry_point_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mfwidgets", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "copy-notebooks" in out and "doctor" in out


@pytest.mark.skipif(sys.platform == "win32", reason="exec replaces the process on POSIX only")
def test_launch_replaces_the_launcher_so_signals_reach_the_server() -> None:
    """The server runs in the launcher's own process: a kill of that pid stops the server."""
    code = (
        "import sys; from mfwidgets.__main__ import launch; "
        "print('launcher', flush=True); "
        "launch([sys.executable, '-c', 'import os; print(os.getpid())'])"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert out.split() == ["launcher", str(proc.pid)]
