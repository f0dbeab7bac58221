"""Submissions and grading: a student saves, the teacher re-checks against each instance."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import mfwidgets.__main__ as launcher
from mfwidgets import exercises, grading, submission


def answered(student_id: str, wrong: tuple[str, ...] = ()) -> exercises.ExerciseSet:
    """An exercise set with every answer checked: right, except those named in ``wrong``."""
    ex = exercises.make(student_id)
    for name in exercises.NAMES:
        answer = exercises.solution(ex, name)
        if name in wrong:
            answer = "EIO" if name == "read_result" and answer != "EIO" else 7
        exercises.CHECKERS[name](ex, answer)
    return ex


def test_a_saved_submission_holds_the_answers_and_passes_its_checksum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = answered("alice", wrong=("si_addr_lsb",))
    path = submission.save(ex, tmp_path / "a.json")
    out = capsys.readouterr().out
    assert f"Saved {path}: 5 of 6 right so far. Hand this file in." in out
    body = json.loads(path.read_text())
    assert body["student_id"] == "alice"
    assert body["answers"]["si_addr_lsb"] == 7
    assert body["results"]["si_addr_lsb"] is False
    assert body["checksum"] == submission.checksum(body)
    assert body["instance"] == submission.fingerprint(exercises.make("alice"))


def test_grading_rechecks_each_answer_on_the_students_own_instance(tmp_path: Path) -> None:
    submission.save(answered("alice"), tmp_path / "alice.json")
    submission.save(
        answered("bob", wrong=("who_gets_sigbus", "usable_bytes")), tmp_path / "bob.json"
    )
    grades, rejected = grading.grade_dir(tmp_path)
    assert rejected == []
    assert [(g.student_id, g.score, g.notes) for g in grades] == [("alice", 6, ()), ("bob", 4, ())]
    assert grades[1].right["who_gets_sigbus"] is False and grades[1].right["usable_bytes"] is False


def test_a_hand_edit_is_flagged_and_a_forged_result_counts_for_nothing(tmp_path: Path) -> None:
    path = submission.save(answered("carol", wrong=("tlb_entries",)), tmp_path / "carol.json")
    body = json.loads(path.read_text())
    body["results"]["tlb_entries"] = True  # claim it was right
    path.write_text(json.dumps(body))
    grade = grading.grade_file(path)
    assert grade.right["tlb_entries"] is False
    assert grade.notes == ("checksum mismatch: the file was edited by hand",)


def test_answers_copied_from_another_student_are_wrong_on_ones_own_instance(tmp_path: Path) -> None:
    # dave hands in erin's (right) answers under his own id, checksum recomputed.
    body = submission.build(answered("erin"))
    body["student_id"] = "dave"
    body["instance"] = submission.fingerprint(exercises.make("dave"))
    body["checksum"] = submission.checksum(body)
    (tmp_path / "dave.json").write_text(json.dumps(body))
    grade = grading.grade_file(tmp_path / "dave.json")
    assert grade.score < 6 and grade.notes == ()


def test_the_grade_command_writes_one_row_per_student_and_names_the_most_missed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    submission.save(answered("alice", wrong=("read_result",)), subs / "alice.json")
    submission.save(answered("bob", wrong=("read_result", "tlb_entries")), subs / "bob.json")
    (subs / "notes.json").write_text("{}")
    out = tmp_path / "grades.csv"
    assert launcher.main(["grade", str(subs), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["student_id"], r["score"], r["read_result"], r["tlb_entries"]) for r in rows] == [
        ("alice", "5", "0", "1"),
        ("bob", "4", "0", "0"),
    ]
    text = capsys.readouterr().out
    assert "2 submissions, mean score 4.5 of 6" in text
    assert "most missed: read_result (2 of 2 missed it)" in text
    assert "not a submission: notes.json: notes.json: not a submission of format 1" in text


def test_grading_a_missing_directory_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert launcher.main(["grade", str(tmp_path / "nope")]) == 2
    assert "not a directory of submissions" in capsys.readouterr().err


def test_save_refuses_to_overwrite_another_students_file(tmp_path: Path) -> None:
    path = submission.save(answered("alice"), tmp_path / "s.json")
    before = path.read_text()
    with pytest.raises(FileExistsError, match="holds the submission of 'alice'"):
        submission.save(answered("bob"), path)
    assert path.read_text() == before


def test_the_key_command_prints_each_students_answers(capsys: pytest.CaptureFixture[str]) -> None:
    assert launcher.main(["key", "alice", "bob"]) == 0
    text = capsys.readouterr().out
    ex = exercises.make("bob")
    assert repr(exercises.solution(ex, "usable_bytes")) in text
    assert "alice" in text and "Answer key (instructors only)" in text
