"""How the workbook shows conformance results: values in words, and tables as HTML (for
Jupyter) and as plain text.

Mirrors: nothing in the kernel. ``changes.py`` computes; this module only formats, and imports
no UI library: a ``Rendered`` shows itself through ``_repr_html_``.

Colours are Okabe-Ito (``mfwidgets/plots/palette.py``) and always come with a symbol and
words, never alone: ✓ bluish green (the same), ≠ orange (the real kernels changed there, the
model follows the newer one), ✗ vermillion (nobody has explained it).
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .changes import Changes, Group
    from .normalize import StepResult

SAME, CHANGED, WRONG = "#009E73", "#E69F00", "#D55E00"
MARKS = {"same": ("✓", SAME), "changed": ("≠", CHANGED), "wrong": ("✗", WRONG)}
LEGEND = {
    "same": "every observable matches",
    "changed": "differs only where the real kernels changed (the model follows the newer one)",
    "wrong": "a difference nobody has explained: the model, or the recording, is wrong there",
}

_SI_CODES = {4: "BUS_MCEERR_AR", 5: "BUS_MCEERR_AO"}
_DATA = {"pattern": "the bytes written (intact)", "zero": "zeros", "other": "other bytes"}
OBSERVABLE_LABELS = {
    "ret": "return value",
    "signals": "SIGBUS",
    "data": "data read",
    "counters": "counter changes",
    "dmesg": "kernel log",
}


# -- values in words -----------------------------------------------------------------------------
def call(step: Mapping[str, Any]) -> str:
    """A scenario step as a call: ``pread(offset=0x3000, length=0x1000)``."""
    args = []
    for key, value in step.items():
        if key in ("op", "id"):
            continue
        big = key == "flags" or (key in ("offset", "length") and value >= 0x1000)
        args.append(f"{key}={value:#x}" if big else f"{key}={value}")
    return f"{step['op']}({', '.join(args)})"


def describe(op: str, observable: str, value: Any) -> list[str]:
    """One observable's value in words, one string per line."""
    if observable == "ret":
        if value is None:
            return ["(not reported)"]
        if value == "fd":
            return ["a new fd"]
        if op in ("pread", "read") and isinstance(value, int):
            return [f"{value:,} bytes"]
        return [str(value)]
    if observable == "signals":
        return [
            f"SIGBUS {_SI_CODES.get(code, f'si_code {code}')} at MAP+{off:#x}, lsb {lsb}"
            + (" (to the peer process)" if peer else "")
            for code, off, lsb, *peer in value or []
        ] or ["no SIGBUS"]
    if observable == "data":
        return ["—"] if value is None else [_DATA.get(value, str(value))]
    if observable == "counters":
        if not value:
            return ["no change"]
        return [
            ", ".join(
                f"{k} {v:+d}{' kB' if k == 'HardwareCorrupted' else ''}" for k, v in value.items()
            )
        ]
    return list(value or []) or ["(no line)"]


def observables_shown(step: StepResult, other: StepResult) -> list[str]:
    """The observables worth a line for this step: the return value, and any other observable
    that is not empty on one side or the other."""
    empty: dict[str, Any] = {"signals": [], "data": None, "counters": {}, "dmesg": []}
    return ["ret"] + [o for o in empty if step.get(o) != empty[o] or other.get(o) != empty[o]]


# -- HTML and text -------------------------------------------------------------------------------
_TABLE = "border-collapse:collapse;margin:0.3em 0 0.6em 0;font-size:90%"
_CELL = "text-align:left;vertical-align:top;padding:3px 8px;border:1px solid #9e9e9e"
_CODE = "white-space:pre-wrap;font-family:var(--jp-code-font-family,monospace);font-size:92%"


@dataclasses.dataclass(frozen=True)
class Rendered:
    """Something for a notebook to show: HTML in Jupyter, text elsewhere."""

    html: str
    text: str

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def mark(status: str) -> str:
    symbol, colour = MARKS[status]
    return f"<span style='color:{colour};font-weight:bold'>{symbol}</span>"


def code_block(lines: Sequence[str], bold: Sequence[bool] | None = None) -> str:
    """Lines in a code font; a line too long for its cell wraps with a hanging indent."""
    out = [
        f"<b>{html.escape(x)}</b>" if bold and bold[i] else html.escape(x)
        for i, x in enumerate(lines)
    ]
    hang = "padding-left:4ch;text-indent:-4ch"
    return f"<div style='{_CODE}'>{''.join(f'<div style={hang!r}>{x}</div>' for x in out)}</div>"


def value_html(op: str, obs: str, value: Any, other: Any) -> str:
    """The value in words; kernel log lines missing on the other side are in bold."""
    lines = describe(op, obs, value)
    if obs == "dmesg" and value:
        theirs = set(other or [])
        return code_block(lines, [x not in theirs for x in lines])
    return code_block(lines)


#: Rows an evidence table shows before folding the rest away: a few examples make the point,
#: and a notebook of whole tables is screens of scrolling.
SHOWN_ROWS = 4


def html_table(
    columns: Sequence[str], rows: Sequence[Sequence[str]], shown: int | None = None
) -> str:
    """Cells are HTML already (escape first); headers are text. With ``shown``, the rows after
    the first ``shown`` go into a collapsed block of their own."""
    head = "".join(f"<th style='{_CELL}'>{html.escape(c)}</th>" for c in columns)

    def table(part: Sequence[Sequence[str]]) -> str:
        body = "".join(
            "<tr>" + "".join(f"<td style='{_CELL}'>{c}</td>" for c in row) + "</tr>" for row in part
        )
        return (
            f"<table style='{_TABLE}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )

    if shown is None or len(rows) <= shown + 1:
        return table(rows)
    rest = len(rows) - shown
    return (
        table(rows[:shown])
        + f"<details><summary>{rest} more like these</summary>{table(rows[shown:])}</details>"
    )


def text_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    cells = [list(columns), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells
    )


def step_label(scenario: str, step: str, call_text: str) -> str:
    return f"{html.escape(scenario)} · {html.escape(step)}{code_block([call_text])}"


def paragraph(text: str) -> str:
    return f"<p style='margin:0.3em 0'>{text}</p>"


# -- real kernel against real kernel -------------------------------------------------------------
def overview(changes: Changes, groups: Sequence[Group], missing: Sequence[str]) -> Rendered:
    """Per pair of consecutive kernels: how many observables differ, group by group."""
    kernels = ", ".join(changes.kernels) or "none"
    intro = f"Recorded kernels: {kernels}."
    if missing:
        intro += f" The model also has {', '.join(missing)}, which is not recorded here yet."
    if not changes.pairs:
        text = intro + " One kernel alone: nothing to compare yet."
        return Rendered(paragraph(html.escape(text)), text)
    cols = ["observables that differ", *(f"{p.old} → {p.new}" for p in changes.pairs)]
    rows = []
    for g in groups:
        n = [sum(d.group == g.key for d in p.differences) for p in changes.pairs]
        rows.append([g.title, *(str(x) if x else "—" for x in n)])
    rows.append(["all groups", *(str(len(p.differences)) for p in changes.pairs)])
    rows.append(["observables compared", *(str(p.compared) for p in changes.pairs)])
    lines = []
    for p in changes.pairs:
        if not p.differences:
            lines.append(f"{p.old} → {p.new}: identical in all {p.compared} observables compared.")
        lines += [f"{p.old} → {p.new}: {note}." for note in p.notes]
    hrows = [[html.escape(r[0]), *r[1:]] for r in rows]
    body = (
        paragraph(html.escape(intro))
        + html_table(cols, hrows)
        + "".join(paragraph(html.escape(x)) for x in lines)
    )
    return Rendered(body, "\n".join([intro, text_table(cols, rows), *lines]))


def evidence(changes: Changes, group: str, title: str) -> Rendered:
    """The differences of one group, the two kernels' values side by side."""
    found = changes.differences(group)
    if not found:
        text = f"{title}: no difference of this kind between the recorded kernels " + (
            f"({', '.join(changes.kernels)})." if changes.kernels else "(none recorded)."
        )
        return Rendered(paragraph(f"<i>{html.escape(text)}</i>"), text)
    one_pair = len({(p.old, p.new) for p, _ in found}) == 1
    first = found[0][0]
    cols = ["scenario · step", "observable"]
    cols += [first.old, first.new] if one_pair else ["older kernel", "newer kernel"]
    if not one_pair:
        cols.insert(0, "kernels")
    rows, text_rows = [], []
    for p, d in found:
        row = [
            step_label(d.scenario, d.step, d.call),
            html.escape(OBSERVABLE_LABELS[d.observable]),
            value_html(d.op, d.observable, d.old, d.new),
            value_html(d.op, d.observable, d.new, d.old),
        ]
        text_row = [
            f"{d.scenario} · {d.step}",
            d.observable,
            " | ".join(describe(d.op, d.observable, d.old)),
            " | ".join(describe(d.op, d.observable, d.new)),
        ]
        if not one_pair:
            row.insert(0, html.escape(f"{p.old} → {p.new}"))
            text_row.insert(0, f"{p.old} → {p.new}")
        rows.append(row)
        text_rows.append(text_row)
    return Rendered(html_table(cols, rows, SHOWN_ROWS), f"{title}\n{text_table(cols, text_rows)}")
