"""Grading: re-check a class's submissions against each student's own seeded instance.

Mirrors: nothing in the kernel. ``python -m mfwidgets grade DIR --out grades.csv`` reads every
``*.json`` in DIR, rebuilds each student's instance from the student id, runs the same checker
the notebook ran on every recorded answer (so a result edited in the file counts for nothing),
and writes one row per submission, with a note where the checksum or the instance does not
match. The summary says which exercise most students missed.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
from collections.abc import Sequence
from pathlib import Path

from . import submission
from .exercises import CHECKERS, NAMES, make


@dataclasses.dataclass(frozen=True)
class Grade:
    file: str
    student_id: str
    right: dict[str, bool]
    notes: tuple[str, ...] = ()

    @property
    def score(self) -> int:
        return sum(self.right.values())


def grade_file(path: Path) -> Grade:
    """One submission, re-checked. Raises ValueError if the file is not a submission."""
    body = submission.load(path)
    notes = []
    if body.get("checksum") != submission.checksum(body):
        notes.append("checksum mismatch: the file was edited by hand")
    ex = make(body["student_id"])
    if body["instance"] != submission.fingerprint(ex):
        notes.append("instance mismatch: made by another version of mfwidgets")
    right = {}
    for name in NAMES:
        if name not in body["answers"]:
            right[name] = False
            continue
        with contextlib.redirect_stdout(io.StringIO()):  # the checker's ✓/✗ line is for students
            right[name] = CHECKERS[name](ex, body["answers"][name])
    return Grade(path.name, ex.student_id, right, tuple(notes))


def grade_dir(directory: Path) -> tuple[list[Grade], list[str]]:
    """Every submission in ``directory`` (sorted by student id) and the files that were not."""
    if not directory.is_dir():
        raise NotADirectoryError(f"{directory}: not a directory of submissions")
    grades, rejected = [], []
    for path in sorted(directory.glob("*.json")):
        try:
            grades.append(grade_file(path))
        except (OSError, ValueError, TypeError) as why:
            rejected.append(f"{path.name}: {why}")
    grades.sort(key=lambda g: (g.student_id, g.file))
    return grades, rejected


def write_csv(grades: Sequence[Grade], out: Path) -> None:
    with out.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", *NAMES, "score", "out_of", "notes", "file"])
        for g in grades:
            marks = [int(g.right[n]) for n in NAMES]
            writer.writerow([g.student_id, *marks, g.score, len(NAMES), "; ".join(g.notes), g.file])


def summary(grades: Sequence[Grade], rejected: Sequence[str] = ()) -> str:
    if not grades:
        return "no submissions graded" + "".join(f"\nnot a submission: {r}" for r in rejected)
    n = len(grades)
    missed = {name: sum(not g.right[name] for g in grades) for name in NAMES}
    worst = max(NAMES, key=lambda name: missed[name])
    mean = sum(g.score for g in grades) / n
    lines = [
        f"{n} submission{'s' if n != 1 else ''}, mean score {mean:.1f} of {len(NAMES)}",
        f"most missed: {worst} ({missed[worst]} of {n} missed it)",
        "missed per exercise: " + ", ".join(f"{name} {missed[name]}" for name in NAMES),
    ]
    flagged = [f"{g.student_id} ({'; '.join(g.notes)})" for g in grades if g.notes]
    lines += [f"check by hand: {f}" for f in flagged]
    lines += [f"not a submission: {r}" for r in rejected]
    return "\n".join(lines)


def main(directory: str, out: str) -> int:
    """The ``grade`` command: 0 when it graded, 1 when there was nothing to grade."""
    grades, rejected = grade_dir(Path(directory))
    write_csv(grades, Path(out))
    print(summary(grades, rejected))
    print(f"wrote {out}: {len(grades)} row{'s' if len(grades) != 1 else ''}")
    return 0 if grades else 1
