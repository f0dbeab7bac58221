"""Reading a student's answer: an int, a read result or a list of names. A malformed answer
raises ``Malformed`` whose message is the hint; nothing else is raised."""

from __future__ import annotations

from collections.abc import Iterable


class Malformed(Exception):
    """An answer of the wrong shape; the message is the hint."""


def as_int(answer: object, example: str) -> int:
    if answer is None or answer is Ellipsis:
        raise Malformed(f"replace None with your answer, an int such as {example}.")
    if isinstance(answer, bool):
        raise Malformed(f"answer a number such as {example}, not True or False.")
    if isinstance(answer, float) and answer.is_integer():
        return int(answer)
    if isinstance(answer, str):
        raise Malformed(f"answer an int such as {example}, without quotes (you gave a string).")
    if hasattr(answer, "__index__"):
        try:
            return int(answer.__index__())
        except (TypeError, ValueError):  # e.g. a numpy array of several values
            pass
    size = getattr(answer, "size", None)
    what = type(answer).__name__ + (f" of {size} values" if isinstance(size, int) else "")
    raise Malformed(f"answer one int such as {example}, not a {what}.")


def as_read_result(answer: object) -> int | str:
    if isinstance(answer, str):
        text = answer.strip().upper().lstrip("-")
        if text == "EIO":
            return "EIO"
        raise Malformed('answer a byte count (an int) or exactly the string "EIO".')
    return as_int(answer, "8192")


def as_names(answer: object) -> frozenset[str]:
    if answer is None or answer is Ellipsis:
        raise Malformed('replace None with a list of names, e.g. ["vmm"], or [].')
    items: Iterable[object]
    if isinstance(answer, str):
        items = [answer]
    elif isinstance(answer, (list, tuple, set, frozenset)):
        items = answer
    elif callable(getattr(answer, "tolist", None)) and isinstance(answer.tolist(), list):  # type: ignore[attr-defined]
        items = answer.tolist()  # type: ignore[attr-defined]  # a numpy array of names
    else:
        raise Malformed('answer a list of process names, e.g. ["vmm", "backup"], or [].')
    if not all(isinstance(i, str) for i in items):
        raise Malformed('the names must be strings, e.g. ["vmm", "backup"].')
    return frozenset(str(i).strip().lower() for i in items)
