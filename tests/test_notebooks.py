"""Every notebook runs top to bottom with no error output, and is committed without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .notebook_checks import CHECKS

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def with_checks(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The notebook with its checks (tests/notebook_checks.py) inserted after their cells."""
    ids = [cell.get("id") for cell in nb.cells]
    for anchor, code in reversed(CHECKS.get(name, [])):
        assert anchor in ids, f"{name}: no cell {anchor!r} to run a check after"
        nb.cells.insert(ids.index(anchor) + 1, nbformat.v4.new_code_cell(code.strip()))
    return nb


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    nb = with_checks(nbformat.read(path, as_version=4), path.name)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    assert any(c.cell_type == "code" and c.outputs for c in nb.cells)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_every_check_has_its_cell(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS[0].parent / name, as_version=4)
    with_checks(nb, name)  # fails on a check whose cell was deleted or renamed


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert [c for c in nb.cells if c.cell_type == "code" and (c.outputs or c.execution_count)] == []


EXERCISES = Path(__file__).resolve().parent.parent / "notebooks" / "05_exercises.ipynb"


@pytest.mark.notebooks
def test_exercises_notebook_with_solutions_checks_every_answer_right(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With MFW_SOLUTIONS=1 (inherited by the kernel) every answer cell is filled in by
    mfwidgets.exercises.solution(), so every check prints ✓ and the closing assert passes."""
    monkeypatch.setenv("MFW_SOLUTIONS", "1")
    nb = nbformat.read(EXERCISES, as_version=4)
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(EXERCISES.parent)}},
    ).execute()
    text = "".join(
        o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "stream"
    )
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    assert "✗" not in text
    assert text.count("✓") == 6
