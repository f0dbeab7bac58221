"""A student's path in the browser: open 00, run it, predict, and see the reveal only then.

Needs Debian's chromium and the `ui` extra (see conftest.py).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from mfwidgets.widgets.predict import LOCKED_NOTE

pytestmark = pytest.mark.ui

REPO = Path(__file__).resolve().parents[2]


def test_a_student_predicts_then_sees_the_reveal(page: Any, page_log: Any, lab: Any) -> None:
    # A path of its own: another test may have the workbook's 00 open in this server.
    name = "student/00_index.ipynb"
    (lab.root / "student").mkdir(exist_ok=True)
    shutil.copy(REPO / "notebooks" / "00_index.ipynb", lab.root / name)
    page.set_viewport_size({"width": 1280, "height": 900})
    lab.run_notebook(page, name)
    question = page.get_by_text("What si_addr_lsb will the VMM's SIGBUS carry?")
    question.scroll_into_view_if_needed()
    # Run, but nothing predicted yet: the reveal keeps the answer back.
    page.get_by_text(LOCKED_NOTE).wait_for()
    assert page.get_by_text(re.compile(r"^[✓✗] Reveal\.")).count() == 0
    lab.screenshot(page, "student-00-before-predicting")

    lock = page.get_by_role("button", name="Lock in my prediction")
    assert lock.is_disabled()
    page.get_by_text("30: 1 GiB lost", exact=True).click()
    lock.click()
    page.get_by_text("✗ Reveal.").wait_for()
    texts = " ".join(page.locator(".jp-OutputArea-output").all_inner_texts())
    assert "you predicted “30: 1 GiB lost”; the model: 12: 4 KiB lost." in texts
    assert "is log2 of the size the kernel reports lost" in texts
    assert LOCKED_NOTE not in texts
    lab.screenshot(page, "student-00-after-predicting")
    assert page_log.external_requests() == []
    assert page_log.bad_console() == []


# Replace the source of cell `index`, run it, and return what it printed once it has run.
_JS_EDIT_AND_RUN = """
async ([name, index, source]) => {
  const panel = Array.from(window.jupyterapp.shell.widgets('main'))
    .find(w => w.context && w.context.path === name && w.content && w.content.widgets);
  const nb = panel.content;
  const cell = nb.widgets[index];
  if (source !== null) cell.model.sharedModel.setSource(source);
  const before = cell.model.executionCount;
  nb.activeCellIndex = index;
  await window.jupyterapp.commands.execute('notebook:run-cell');
  for (let i = 0; i < 600 && (cell.model.executionCount === before
       || cell.model.executionCount === null); i++) {
    await new Promise(r => setTimeout(r, 100));
  }
  return cell.model.outputs.toJSON()
    .map(o => o.text ? [].concat(o.text).join('') : JSON.stringify(o.data || o.evalue || ''))
    .join('');
}
"""


def test_a_student_answers_wrong_then_right_hands_in_and_is_graded(
    page: Any, page_log: Any, lab: Any, tmp_path: Path
) -> None:
    import csv
    import json
    import subprocess
    import sys

    from mfwidgets import exercises

    name = "student/05_exercises.ipynb"
    (lab.root / "student").mkdir(exist_ok=True)
    shutil.copy(REPO / "notebooks" / "05_exercises.ipynb", lab.root / name)
    cells = json.loads((lab.root / name).read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells]
    id_cell = next(i for i, s in enumerate(sources) if s.startswith("ex = mf.exercises.make("))
    save_cell = next(i for i, s in enumerate(sources) if s.startswith("mf.submission.save(ex)"))

    def answer_cell(exercise: str) -> int:
        return next(i for i, s in enumerate(sources) if f"check_{exercise}(ex, answer)" in s)

    page.set_viewport_size({"width": 1280, "height": 900})
    lab.open_notebook(page, name)
    page.evaluate(_JS_EDIT_AND_RUN, [name, id_cell, 'ex = mf.exercises.make("ada")\nex'])
    for i in range(id_cell):  # the import cell(s) above it
        if cells[i]["cell_type"] == "code":
            page.evaluate(_JS_EDIT_AND_RUN, [name, i, None])
    page.evaluate(_JS_EDIT_AND_RUN, [name, id_cell, None])

    ex = exercises.make("ada")
    for exercise in ("tlb_entries", "si_addr_lsb"):
        right = exercises.solution(ex, exercise)
        cell = answer_cell(exercise)
        template = sources[cell]
        wrong_src = template.replace("answer = None", f"answer = {right + 1!r}", 1)
        out = page.evaluate(_JS_EDIT_AND_RUN, [name, cell, wrong_src])
        assert out.startswith(f"✗ {exercise}: {right + 1!r} is not right. Hint: ")
        right_src = template.replace("answer = None", f"answer = {right!r}", 1)
        out = page.evaluate(_JS_EDIT_AND_RUN, [name, cell, right_src])
        assert out == f"✓ {exercise}: {right!r} is right.\n"
    lab.screenshot(page, "student-05-checked")

    out = page.evaluate(_JS_EDIT_AND_RUN, [name, save_cell, None])
    assert "Saved submission-ada.json: 2 of 6 right so far. Hand this file in." in out
    grades = tmp_path / "grades.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mfwidgets",
            "grade",
            str(lab.root / "student"),
            "--out",
            str(grades),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "1 submission, mean score 2.0 of 6" in done.stdout
    rows = list(csv.DictReader(grades.open()))
    assert [
        (r["student_id"], r["tlb_entries"], r["si_addr_lsb"], r["score"], r["notes"]) for r in rows
    ] == [("ada", "1", "1", "2", "")]
    assert page_log.external_requests() == []
    assert page_log.bad_console() == []
