"""The one control generator: an ipywidget for a field declared with mfwidgets.params.

bool -> Checkbox; choices -> Dropdown (or ToggleButtons); integer bounds -> IntSlider over the
soft bounds (a text box when the range is too wide to slide); float bounds -> FloatSlider with
as many digits as the step. The tooltip is the field's doc. Used by the Explorer, the policy
comparison, the WorkloadRunner and the FleetExplorer.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..params import declared

#: a wider integer range gets a text box: a slider step would be more than one value per pixel
SLIDER_SPAN = 100_000


def control(
    owner: Any,
    name: str,
    value: Any,
    *,
    description: str | None = None,
    toggle: bool = False,
    with_unit: bool = False,
    **style: Any,
) -> w.Widget:
    """A control for field ``name`` of the dataclass ``owner``, showing ``value``.

    ``description`` defaults to the field's name (with its unit if ``with_unit``); ``toggle``
    draws choices as buttons; ``style`` goes to the widget (``style=``, ``layout=``)."""
    f, p = next((f, p) for f, p in declared(owner) if f.name == name)
    if description is None:
        description = name + (f" ({p.unit})" if with_unit and p.unit else "")
    common = {"value": value, "description": description, "tooltip": p.doc, **style}
    if isinstance(f.default, bool):
        return w.Checkbox(indent=False, **common)
    if p.choices is not None:
        return (w.ToggleButtons if toggle else w.Dropdown)(options=list(p.choices), **common)
    lo, hi = p.slider_range
    if isinstance(f.default, float):
        step = p.step or 0.1
        digits = len(str(step).split(".")[1]) if "." in str(step) else 0
        return w.FloatSlider(
            min=lo, max=hi, step=step, readout_format=f".{digits}f",
            continuous_update=False, **common,
        )  # fmt: skip
    if hi - lo > SLIDER_SPAN:
        common.setdefault("layout", w.Layout(width="160px"))
        return w.BoundedIntText(min=lo, max=hi, **common)
    return w.IntSlider(min=lo, max=hi, step=p.step or 1, continuous_update=False, **common)
