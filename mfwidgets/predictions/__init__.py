"""Predictions: the questions a notebook asks before it runs something, their choices, and the
reveal each one earns once the student has predicted and run the cell.

Mirrors: nothing in the kernel. The reveals live here, not in the notebooks, so that a student
reading a notebook top to bottom meets no answer before predicting (``mfwidgets.widgets.predict``
shows them). What the model did is always passed in by the notebook (``Prediction.reveal(actual)``)
and classified here; nothing is hard-coded as "the answer" except the explanation of why.
Imports no UI library.
"""

from __future__ import annotations

from . import behaviour, further, limitations, motivation, user_api, wrap_up
from .prompt import Prompt

#: every prediction by key, in the order the notebooks ask them
PROMPTS: dict[str, Prompt] = {
    p.key: p
    for module in (motivation, user_api, behaviour, limitations, further, wrap_up)
    for p in module.PROMPTS
}

__all__ = ["PROMPTS", "Prompt"]
