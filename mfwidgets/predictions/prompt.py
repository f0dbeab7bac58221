"""A prediction's record: the question, its choices, how to classify what the model did, and why."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass(frozen=True)
class Prompt:
    """One prediction: the question, the choices (label, value), how to turn what the model did
    into one of those values, and why the model did it (HTML, shown only in the reveal)."""

    key: str
    question: str
    choices: tuple[tuple[str, Any], ...]
    why: str
    classify: Callable[[Any], Any] = lambda actual: actual

    def label_of(self, value: Any) -> str:
        for label, v in self.choices:
            if v == value:
                return label
        return repr(value)

    def verdict(self, predicted: Any, actual: Any) -> tuple[bool, str]:
        """(right?, one sentence) for a prediction against what the model did."""
        happened = self.classify(actual)
        said = self.label_of(happened)
        if predicted == happened:
            return True, f"Right: {said}."
        return False, f"Not quite: you predicted “{self.label_of(predicted)}”; the model: {said}."
