"""One way to declare a parameter: a field of a frozen dataclass whose ``Param`` says what it
means and what it may be, checked by one validator and drawn by one control generator
(mfwidgets.widgets.controls).

Mirrors: nothing in the kernel. Used by the Explorer's ``Setup``, ``WorkloadParams`` and
``FleetParams``. No UI import: the model-free layers (mfwidgets.fleet, the workload
simulation) declare with it. docs/DESIGN.md says why this is not HoloViz ``param``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterator
from typing import Any, SupportsInt, cast


@dataclasses.dataclass(frozen=True)
class Param:
    """What a field means and the values it may take.

    ``bounds`` are enforced; ``soft_bounds``, inside them, are only the range a slider offers
    (a value outside them is still valid, e.g. typed in Python). ``choices`` replace bounds for
    a field with a fixed set of values. ``label`` is the name a learner reads in an error
    message or next to a control, if not the field's name."""

    doc: str
    bounds: tuple[float, float] | None = None
    soft_bounds: tuple[float, float] | None = None
    choices: tuple[Any, ...] | None = None
    step: float | None = None
    unit: str = ""
    source: str = ""
    label: str = ""
    many: bool = False  # the value is a non-empty tuple of ``choices``

    def metadata(self) -> dict[str, Any]:
        """The dataclass field's metadata: the Param, and its set attributes by name."""
        out: dict[str, Any] = {"param": self, "doc": self.doc}
        for key in ("bounds", "soft_bounds", "choices", "step"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        for key in ("unit", "source"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out

    @property
    def slider_range(self) -> tuple[float, float]:
        bounds = self.soft_bounds or self.bounds
        assert bounds is not None, "a slider needs bounds"
        return bounds

    def choices_text(self) -> str:
        """ "2M or 1G", "one of 7.3, 6.12, 6.1"."""
        assert self.choices is not None
        names = [str(c) for c in self.choices]
        if len(names) == 2:
            return " or ".join(names)
        return "one of " + ", ".join(names)


def param(default: Any, doc: str, **spec: Any) -> Any:
    """A dataclass field declared with a Param: ``x: int = param(4, "...", bounds=(1, 8))``."""
    return dataclasses.field(default=default, metadata=Param(doc, **spec).metadata())


@dataclasses.dataclass(frozen=True)
class Violation:
    """Why one field's value is refused: ``rule`` is "choice", "type" or "range"."""

    name: str
    value: Any
    rule: str
    param: Param
    integer: bool  # the field takes integers only


def declared(obj: Any) -> Iterator[tuple[dataclasses.Field[Any], Param]]:
    """The fields of a dataclass (instance or class) that carry a Param, in order."""
    for f in dataclasses.fields(obj):
        if "param" in f.metadata:
            yield f, f.metadata["param"]


def violations(obj: Any) -> list[Violation]:
    """Every declared field of ``obj`` whose value breaks its Param, in field order.

    A field is integer-valued when its default is an int (not a bool); numpy integers count
    as integers. NaN is never in bounds."""
    out = []
    for f, p in declared(obj):
        value = getattr(obj, f.name)
        integer = isinstance(f.default, int) and not isinstance(f.default, bool)
        if p.choices is not None:
            ok = value in p.choices if not p.many else _tuple_of(value, p.choices)
            if not ok:
                out.append(Violation(f.name, value, "choice", p, integer))
            continue
        if p.bounds is None:
            continue
        kinds = numbers.Integral if integer else numbers.Real
        if isinstance(value, bool) or not isinstance(value, kinds):
            out.append(Violation(f.name, value, "type", p, integer))
        elif math.isnan(
            number := int(cast(SupportsInt, value)) if integer else float(value)
        ) or not (p.bounds[0] <= number <= p.bounds[1]):
            out.append(Violation(f.name, value, "range", p, integer))
    return out


def _tuple_of(value: Any, choices: tuple[Any, ...]) -> bool:
    return isinstance(value, tuple) and bool(value) and all(v in choices for v in value)
