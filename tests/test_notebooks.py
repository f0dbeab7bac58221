"""Every notebook runs top to bottom with no error output, and is committed without outputs."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from mfwidgets import grading
from mfwidgets.exercises import NAMES

from .notebook_checks import CHECKS

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


# Run last in every notebook: each prediction was revealed, and what the model did falls on one
# of its choices (a classification outside them would leave every student "not quite").
PREDICTIONS_REVEALED = """
from mfwidgets.widgets.predict import Prediction as _Prediction

for _q in [v for v in globals().values() if isinstance(v, _Prediction)]:
    assert _q._reveals, f"{_q.prompt.key}: never revealed"
    for _r in _q._reveals:
        _happened = _q.prompt.classify(_r.actual)
        assert _happened in [v for _, v in _q.prompt.choices], (_q.prompt.key, _happened)
"""


def with_checks(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The notebook with its checks (tests/notebook_checks.py) inserted after their cells, and
    the check of its predictions at the end."""
    ids = [cell.get("id") for cell in nb.cells]
    for anchor, code in reversed(CHECKS.get(name, [])):
        assert anchor in ids, f"{name}: no cell {anchor!r} to run a check after"
        nb.cells.insert(ids.index(anchor) + 1, nbformat.v4.new_code_cell(code.strip()))
    nb.cells.append(nbformat.v4.new_code_cell(PREDICTIONS_REVEALED.strip()))
    return nb


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path) -> None:
    nb = with_checks(nbformat.read(path, as_version=4), path.name)
    # Run in a scratch directory: 05 saves a submission file where it runs.
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_answer_is_printed_under_its_question(path: Path) -> None:
    """Answers live in mfwidgets.predictions, revealed by mf.predict() once a prediction is
    locked in; checks live in tests/notebook_checks.py, not in collapsed cells."""
    nb = nbformat.read(path, as_version=4)
    assert [c.id for c in nb.cells if c.cell_type == "markdown" and "**Reveal" in c.source] == []
    hidden = [c for c in nb.cells if "hide-input" in c.get("metadata", {}).get("tags", [])]
    assert [c.id for c in hidden if "assert" in c.source] == []


EXERCISES = Path(__file__).resolve().parent.parent / "notebooks" / "05_exercises.ipynb"
CHECK_CALL = re.compile(r"mf\.exercises\.check_(\w+)\(ex, answer\)")


@pytest.mark.notebooks
def test_exercises_notebook_answered_right_hands_in_a_full_score(tmp_path: Path) -> None:
    """Every answer cell filled in with the instructor's solution (the notebook itself has
    none): every check prints ✓, the saved submission grades 6 of 6."""
    nb = nbformat.read(EXERCISES, as_version=4)
    filled = 0
    for cell in nb.cells:
        call = CHECK_CALL.search(cell.source) if cell.cell_type == "code" else None
        if call and "answer = None" in cell.source:
            name = NAMES[[f"check_{n}" for n in NAMES].index(f"check_{call.group(1)}")]
            line = f'answer = mf.exercises.solution(ex, "{name}")'
            cell.source = re.sub(r"^answer = None.*$", line, cell.source, flags=re.M)
            filled += 1
    assert filled == len(NAMES)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
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
    assert text.count("✓") == len(NAMES)
    assert "Saved submission-student-id-here.json: 6 of 6 right so far." in text
    grades, rejected = grading.grade_dir(tmp_path)
    assert rejected == [] and [(g.student_id, g.score) for g in grades] == [("student-id-here", 6)]
