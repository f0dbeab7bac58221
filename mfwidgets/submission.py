"""Submission: a student's answers to the exercises, saved as one JSON file to hand in.

Mirrors: nothing in the kernel. A submission holds the student id, the fingerprint of the
student's seeded instance (``mf.exercises.make(student_id)``), every answer as last checked,
the result of that check, and a checksum over all of it. The checksum makes a hand edit of the
file visible to the grader; it is not a signature (the code is open), which is why the grader
re-checks every answer itself instead of trusting the recorded results.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from .exercises import NAMES, ExerciseSet

FORMAT = 1
MAX_BYTES = 64_000  # a submission is a few hundred bytes; anything larger is not one
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def fingerprint(ex: ExerciseSet) -> str:
    """A short digest of the instance's parameters: the grader's copy must be the same."""
    fields = {
        f.name: getattr(ex, f.name)
        for f in dataclasses.fields(ex)
        if f.name not in ("results", "answers")
    }
    text = json.dumps(fields, sort_keys=True, default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if hasattr(value, "tolist"):
        return value.tolist()  # numpy scalars and arrays
    return {"repr": repr(value)}


def as_json(answer: object) -> Any:
    """An answer as JSON: ints, strings and lists of names as they are; anything else as its
    repr, which the grader then marks wrong, as the checker did."""
    if answer is None or isinstance(answer, (bool, int, str)):
        return answer
    if isinstance(answer, float) and answer.is_integer():
        return int(answer)
    if isinstance(answer, (list, tuple, set, frozenset)) and all(
        isinstance(a, str) for a in answer
    ):
        return sorted(answer) if isinstance(answer, (set, frozenset)) else list(answer)
    if hasattr(answer, "__index__"):
        try:
            return int(answer.__index__())
        except (TypeError, ValueError):
            pass
    return {"repr": repr(answer)[:200]}


def checksum(body: dict[str, Any]) -> str:
    text = json.dumps({k: v for k, v in body.items() if k != "checksum"}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def build(ex: ExerciseSet) -> dict[str, Any]:
    """The submission of this exercise set, as it stands now."""
    body: dict[str, Any] = {
        "format": FORMAT,
        "student_id": ex.student_id,
        "instance": fingerprint(ex),
        "answers": {n: as_json(ex.answers[n]) for n in NAMES if n in ex.answers},
        "results": {n: ex.results[n] for n in NAMES if n in ex.results},
    }
    body["checksum"] = checksum(body)
    return body


def default_path(student_id: str) -> Path:
    return Path(f"submission-{_SAFE.sub('_', student_id)}.json")


def save(ex: ExerciseSet, path: str | Path | None = None) -> Path:
    """Write the submission (by default ``submission-<student id>.json`` here) and say where.
    Refuses to overwrite another student's file."""
    if not isinstance(ex, ExerciseSet):
        raise TypeError(
            'save: the first argument must be your exercise set (mf.exercises.make("id"))'
        )
    target = Path(path) if path is not None else default_path(ex.student_id)
    if target.exists():
        other = load(target).get("student_id")
        if other != ex.student_id:
            raise FileExistsError(
                f"{target} holds the submission of {other!r}; choose another path"
            )
    body = build(ex)
    target.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n")
    done = sum(body["results"].values())
    print(f"Saved {target}: {done} of {len(NAMES)} right so far. Hand this file in.")
    return target


def load(path: str | Path) -> dict[str, Any]:
    """A submission file's contents; ValueError with the reason if it is not one."""
    p = Path(path)
    if p.stat().st_size > MAX_BYTES:
        raise ValueError(f"{p.name}: {p.stat().st_size:,} bytes is too large for a submission")
    try:
        body = json.loads(p.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as why:
        raise ValueError(f"{p.name}: not a JSON submission ({why})") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise ValueError(f"{p.name}: not a submission of format {FORMAT}")
    for key, kind in (("student_id", str), ("instance", str), ("answers", dict), ("results", dict)):
        if not isinstance(body.get(key), kind):
            raise ValueError(f"{p.name}: {key!r} is missing or not a {kind.__name__}")
    return body
