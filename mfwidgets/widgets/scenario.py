"""Scenario: a setup and a list of actions, saved and loaded as JSON, and the built-in ones.

Mirrors: the ordered steps of the proposed selftest tools/testing/selftests/mm/hugetlb-mfr.c
(memfd_create, mmap, MADV_HWPOISON, loads, close, munmap, ftruncate), as OSTEP's ``-A list``.
A scenario is data: it is checked when built, so a bad one is refused before it is played.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from ..model import PAGE_SHIFT
from .session import BUTTON_OPS, CLICK_MODES, ERROR_KINDS, SIZES, Action, Setup

UNTITLED = "untitled scenario"
# A scenario is a lesson, replayed from the start at every step back: a few hundred steps at
# most. The caps keep a pasted file from taking minutes and gigabytes before it is refused.
MAX_STEPS = 1000
MAX_JSON_CHARS = 200_000
PLAY_INTERVAL_MS = 1000
_SETUP_FIELDS: dict[str, type] = {
    "series": bool,
    "size": str,
    "nr_hugepages": int,
    "keep_ue_mapped": bool,
    "version": str,
}
_STEP_FIELDS: dict[str, type] = {"op": str, "folio": int, "subpage": int, "kind": str}
_TOP_FIELDS: dict[str, type] = {"title": str, "setup": dict, "steps": list}
_JSON_TYPE = {bool: "true or false", str: "a string", int: "an integer", dict: "an object",
              list: "a list"}  # fmt: skip


def _shown(value: object) -> str:
    """``value`` as JSON, cut short: an error message quotes it, it never floods the banner."""
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields(obj: object, where: str, types: dict[str, type], required: tuple[str, ...]) -> Any:
    """``obj`` checked as a JSON object with only these fields, of these types.

    Raises: ValueError naming ``where`` and the field that is unknown, missing or mistyped.
    """
    if not isinstance(obj, dict):
        raise ValueError(f"{where} must be a JSON object, not {_shown(obj)}")
    for name in obj:
        if name not in types:
            raise ValueError(f"{where}: unknown field {name!r} (allowed: {', '.join(types)})")
    for name in required:
        if name not in obj:
            raise ValueError(f"{where}: missing field {name!r}")
    for name, value in obj.items():
        want = types[name]
        # JSON true is not a number, though Python's bool is an int.
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise ValueError(f"{where}.{name} must be {_JSON_TYPE[want]}, not {_shown(value)}")
    return obj


def _check_action(a: Action, where: str, nr_hugepages: int, nr_pages: int) -> None:
    """Raises: ValueError if ``a`` could not be clicked or pressed in a widget."""
    if a.op in BUTTON_OPS:
        if (a.folio, a.subpage, a.kind) != (None, None, None):
            raise ValueError(f"{where}: {a.op} takes no folio, subpage or kind")
        return
    if a.op not in CLICK_MODES:
        known = ", ".join(CLICK_MODES + BUTTON_OPS)
        raise ValueError(f"{where}: unknown op {a.op!r} (expected one of {known})")
    for name, value, bound in (("folio", a.folio, nr_hugepages), ("subpage", a.subpage, nr_pages)):
        if value is None:
            raise ValueError(f"{where}: missing field {name!r} ({a.op} needs folio and subpage)")
        if not 0 <= value < bound:
            raise ValueError(f"{where}.{name} = {value} is out of range 0..{bound - 1}")
    if a.op == "inject" and a.kind not in ERROR_KINDS:
        raise ValueError(f"{where}: inject needs a kind, one of {', '.join(ERROR_KINDS)}")
    if a.op != "inject" and a.kind is not None:
        raise ValueError(f"{where}: kind applies to inject only, not to {a.op}")


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A setup and the actions to apply in order, with a title; checked when built.

    JSON: {"title": ..., "setup": {Setup fields}, "steps": [{"op", "folio", "subpage", "kind"}]}
    """

    setup: Setup
    steps: list[Action]
    title: str = UNTITLED

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raises: ValueError naming the setup field or the step (``steps[i]``) that is wrong."""
        try:
            self.setup.check()
        except ValueError as e:
            raise ValueError(f"setup: {e}") from None
        if self.setup.keep_ue_mapped and not self.setup.series:
            raise ValueError(
                "setup: keep_ue_mapped needs series (a stock kernel refuses "
                "MFD_MF_KEEP_UE_MAPPED with EINVAL)"
            )
        nr_pages = SIZES[self.setup.size][0] >> PAGE_SHIFT
        for i, action in enumerate(self.steps):
            _check_action(action, f"steps[{i}]", self.setup.nr_hugepages, nr_pages)

    def to_json(self) -> str:
        """The scenario as JSON, one step a line (readable in a Textarea and in a diff)."""
        steps = [
            json.dumps({k: v for k, v in dataclasses.asdict(a).items() if v is not None})
            for a in self.steps
        ]
        return (
            f'{{\n  "title": {json.dumps(self.title)},\n'
            f'  "setup": {json.dumps(dataclasses.asdict(self.setup))},\n'
            '  "steps": ['
            + ",".join(f"\n    {s}" for s in steps)
            + ("\n  ]" if steps else "]")
            + "\n}"
        )

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        """Raises: ValueError for text that is not JSON, an unknown or mistyped field, a missing
        field, an unknown op, or a step out of range, naming where."""
        if not isinstance(text, str):
            raise ValueError(f"a scenario is JSON text, not {type(text).__name__}")
        if len(text) > MAX_JSON_CHARS:
            raise ValueError(
                f"the text is {len(text):,} characters long; a scenario has at most "
                f"{MAX_JSON_CHARS:,} (and {MAX_STEPS:,} steps)"
            )
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from e
        except RecursionError:
            raise ValueError("not a scenario: the JSON is nested too deeply") from None
        top = _fields(data, "scenario", _TOP_FIELDS, ("setup", "steps"))
        if len(top["steps"]) > MAX_STEPS:
            raise ValueError(
                f"steps: {len(top['steps']):,} steps; a scenario has at most {MAX_STEPS:,}"
            )
        setup = Setup(**_fields(top["setup"], "setup", _SETUP_FIELDS, ()))
        steps = [
            Action(**_fields(s, f"steps[{i}]", _STEP_FIELDS, ("op",)))
            for i, s in enumerate(top["steps"])
        ]
        return cls(setup, steps, top.get("title", UNTITLED))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """Raises: OSError if the file cannot be read; ValueError as ``from_json``."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


_ONE_ERROR = (
    Action("inject", 0, 37, "software"),  # MADV_HWPOISON, as the selftest does
    Action("load", 0, 38),  # the healthy page next door
    Action("load", 1, 0),  # another hugepage
    Action("ftruncate(0)"),  # give the hugepages back: dissolved, freed or leaked?
)
HARD_OFFLINE_1G = Scenario(
    Setup(series=False, size="1G", nr_hugepages=2, keep_ue_mapped=False),
    list(_ONE_ERROR),
    "stock: one bad 4 KiB page costs the whole 1 GiB hugepage",
)
KEEP_1G = Scenario(
    Setup(series=True, size="1G", nr_hugepages=2, keep_ue_mapped=True),
    list(_ONE_ERROR),
    "MFD_MF_KEEP_UE_MAPPED (proposed): only the bad 4 KiB page is lost",
)
CLOSED_IS_NOT_RELEASED = Scenario(
    Setup(series=True, size="2M", nr_hugepages=4, keep_ue_mapped=True),
    [Action("inject", 0, 37, "software"), Action("close"), Action("load", 0, 38), Action("munmap")],
    "closed is not released: the mapping keeps the memfd, munmap lets it go",
)
BUILTIN = {s.title: s for s in (HARD_OFFLINE_1G, KEEP_1G, CLOSED_IS_NOT_RELEASED)}
