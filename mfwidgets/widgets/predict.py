"""Predict, run, reveal: a prediction a student locks in before running a cell, and the reveal
that stays hidden until both have happened.

``q = mf.predict("00-lsb")`` shows the question and its choices; after the experiment cell,
``q.reveal(what_the_model_did)`` shows whether the prediction was right and why, or, with no
prediction locked in yet, only a note to make one (it fills in by itself once one is, which is
what Voila needs: it runs every cell before the student can click). A renderer without
JavaScript gets the question with the explanation in a collapsed block.
The questions and explanations are in ``mfwidgets.predictions``.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ..predictions import PROMPTS, Prompt

_UNSET = object()
LOCKED_NOTE = "The answer appears here once you have locked in a prediction above."
BOX_STYLE = "border-left:4px solid #0072B2;padding:4px 10px;margin:4px 0"


class Prediction(w.VBox):  # type: ignore[misc]
    """One question, its choices, and a button that locks the choice in."""

    def __init__(self, key: str) -> None:
        if key not in PROMPTS:
            raise ValueError(f"no prediction {key!r}; choose one of {', '.join(PROMPTS)}")
        self.prompt: Prompt = PROMPTS[key]
        self.predicted: Any = _UNSET
        self._reveals: list[Reveal] = []
        self._question = w.HTML(
            f'<div style="{BOX_STYLE}"><b>Predict.</b> {self.prompt.question}</div>'
        )
        self._choice = w.RadioButtons(
            options=[(label, i) for i, (label, _) in enumerate(self.prompt.choices)],
            value=None,
            layout=w.Layout(width="auto", max_width="100%"),
        )
        self._lock = w.Button(
            description="Lock in my prediction", disabled=True, layout=w.Layout(width="max-content")
        )
        self._status = w.HTML()
        self._choice.observe(
            lambda _: setattr(self._lock, "disabled", self._choice.value is None), "value"
        )
        self._lock.on_click(lambda _: self.lock(self._choice.value))
        super().__init__([self._question, self._choice, self._lock, self._status])

    @property
    def locked(self) -> bool:
        return self.predicted is not _UNSET

    def lock(self, index: int) -> None:
        """Lock in choice ``index`` (what the button does; tests call it directly)."""
        if self.locked:
            return
        if not isinstance(index, int) or not 0 <= index < len(self.prompt.choices):
            raise ValueError(f"choice: {index!r} is not one of 0..{len(self.prompt.choices) - 1}")
        self.predicted = self.prompt.choices[index][1]
        self._choice.value = index
        self._choice.disabled = self._lock.disabled = True
        self._status.value = (
            f"Locked in: <i>{html.escape(self.prompt.label_of(self.predicted))}</i>. "
            "Now run the next cells."
        )
        for reveal in self._reveals:
            reveal.refresh()

    def reveal(self, actual: Any) -> Reveal:
        """The reveal for what the model did; hidden until a prediction is locked in."""
        reveal = Reveal(self, actual)
        self._reveals.append(reveal)
        return reveal

    def record(self) -> dict[str, Any]:
        """What a submission keeps of this prediction: the key, the choice, and, once a reveal
        has run, whether it was right."""
        out: dict[str, Any] = {"key": self.prompt.key, "predicted": None, "right": None}
        if self.locked:
            out["predicted"] = self.prompt.label_of(self.predicted)
            if self._reveals:
                out["right"] = self.prompt.verdict(self.predicted, self._reveals[-1].actual)[0]
        return out

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = super()._repr_mimebundle_(**kwargs)
        # Without JavaScript the widget cannot run: show the question, with the explanation
        # folded away so that reading on does not give it away.
        bundle["text/html"] = (
            f'<div style="{BOX_STYLE}"><b>Predict.</b> {self.prompt.question}<ul>'
            + "".join(f"<li>{html.escape(label)}</li>" for label, _ in self.prompt.choices)
            + f"</ul><details><summary>Reveal (after you have predicted)</summary>"
            f"{self.prompt.why}</details></div>"
        )
        return bundle


class Reveal(w.HTML):  # type: ignore[misc]
    """Whether the prediction was right, and why; a note until a prediction is locked in."""

    def __init__(self, prediction: Prediction, actual: Any) -> None:
        super().__init__()
        self.prediction, self.actual = prediction, actual
        self.refresh()

    @property
    def shown(self) -> bool:
        return self.prediction.locked

    def refresh(self) -> None:
        if not self.shown:
            self.value = f'<div style="{BOX_STYLE}"><i>{LOCKED_NOTE}</i></div>'
            return
        prompt = self.prediction.prompt
        right, sentence = prompt.verdict(self.prediction.predicted, self.actual)
        mark = "✓" if right else "✗"
        self.value = (
            f'<div style="{BOX_STYLE}"><b>{mark} Reveal.</b> {html.escape(sentence)}'
            f"<br>{prompt.why}</div>"
        )


def predict(key: str) -> Prediction:
    """The prediction widget for question ``key`` (see ``mfwidgets.predictions.PROMPTS``)."""
    return Prediction(key)
