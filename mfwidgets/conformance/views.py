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
    from .changes import Changes, Conformance, Group, KernelCheck
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


def _shown(step: StepResult, other: StepResult) -> list[str]:
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


def _code(lines: Sequence[str], bold: Sequence[bool] | None = None) -> str:
    """Lines in a code font; a line too long for its cell wraps with a hanging indent."""
    out = [
        f"<b>{html.escape(x)}</b>" if bold and bold[i] else html.escape(x)
        for i, x in enumerate(lines)
    ]
    hang = "padding-left:4ch;text-indent:-4ch"
    return f"<div style='{_CODE}'>{''.join(f'<div style={hang!r}>{x}</div>' for x in out)}</div>"


def _value(op: str, obs: str, value: Any, other: Any) -> str:
    """The value in words; kernel log lines missing on the other side are in bold."""
    lines = describe(op, obs, value)
    if obs == "dmesg" and value:
        theirs = set(other or [])
        return _code(lines, [x not in theirs for x in lines])
    return _code(lines)


#: Rows an evidence table shows before folding the rest away: a few examples make the point,
#: and a notebook of whole tables is screens of scrolling.
SHOWN_ROWS = 4


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]], shown: int | None = None) -> str:
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


def _text_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    cells = [list(columns), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells
    )


def _step(scenario: str, step: str, call_text: str) -> str:
    return f"{html.escape(scenario)} · {html.escape(step)}{_code([call_text])}"


def _p(text: str) -> str:
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
        return Rendered(_p(html.escape(text)), text)
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
    body = _p(html.escape(intro)) + _table(cols, hrows) + "".join(_p(html.escape(x)) for x in lines)
    return Rendered(body, "\n".join([intro, _text_table(cols, rows), *lines]))


def evidence(changes: Changes, group: str, title: str) -> Rendered:
    """The differences of one group, the two kernels' values side by side."""
    found = changes.differences(group)
    if not found:
        text = f"{title}: no difference of this kind between the recorded kernels " + (
            f"({', '.join(changes.kernels)})." if changes.kernels else "(none recorded)."
        )
        return Rendered(_p(f"<i>{html.escape(text)}</i>"), text)
    one_pair = len({(p.old, p.new) for p, _ in found}) == 1
    first = found[0][0]
    cols = ["scenario · step", "observable"]
    cols += [first.old, first.new] if one_pair else ["older kernel", "newer kernel"]
    if not one_pair:
        cols.insert(0, "kernels")
    rows, text_rows = [], []
    for p, d in found:
        row = [
            _step(d.scenario, d.step, d.call),
            html.escape(OBSERVABLE_LABELS[d.observable]),
            _value(d.op, d.observable, d.old, d.new),
            _value(d.op, d.observable, d.new, d.old),
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
    return Rendered(_table(cols, rows, SHOWN_ROWS), f"{title}\n{_text_table(cols, text_rows)}")


# -- real kernel against the model ---------------------------------------------------------------
def _status(check: KernelCheck, scenario: str | None = None) -> str:
    ms = [m for m in check.mismatches if scenario in (None, m.difference.scenario)]
    if not ms:
        return "same"
    return "changed" if all(m.explained_by for m in ms) else "wrong"


def _model_label(check: KernelCheck) -> str:
    if check.model_version == check.kernel:
        return check.model_version
    return f"{check.model_version} (the model has no {check.kernel})"


def _sentence(check: KernelCheck) -> str:
    head = f"{check.kernel}: {check.matched} of {check.total} observables match the model"
    if check.model_version != check.kernel:
        head = (
            f"{check.kernel}: the model has no {check.kernel}, so it is compared with the model "
            f"of {check.model_version}. {check.matched} of {check.total} observables match"
        )
    bad = len(check.mismatches)
    if not bad:
        return head + ": all of them."
    explained = [m for m in check.mismatches if m.explained_by]
    by = sorted({m.explained_by or "" for m in explained})
    out = head + f"; {bad} differ."
    if explained:
        out += (
            f" {len(explained)} of those are places where real {' and '.join(by)} did something "
            f"different from real {check.kernel}, and the model does what {' and '.join(by)} did: "
            "the kernel changed there, not the model's understanding of it."
        )
    if len(explained) < bad:
        out += f" {bad - len(explained)} are unexplained."
    return out


def counts(conf: Conformance) -> Rendered:
    """Scenario x kernel (a row per scenario, so that more scenarios only make it longer):
    observables matched / compared, with a status mark."""
    cols = ["scenario", *(f"Linux {c.kernel}" for c in conf.checks)]
    head = [
        ["release", *(_code([c.release or "unknown"]) for c in conf.checks)],
        ["compared with model", *(html.escape(_model_label(c)) for c in conf.checks)],
    ]
    text_rows = [
        ["release", *(c.release or "unknown" for c in conf.checks)],
        ["compared with model", *(_model_label(c) for c in conf.checks)],
    ]
    rows = list(head)
    for name in [*conf.scenarios, None]:
        label = "all" if name is None else f"{name} ({conf.about.get(name, '')})"
        cells, text_cells = [html.escape(label)], [label]
        for c in conf.checks:
            if name is not None and name not in c.counts:
                cells.append("—")
                text_cells.append("-")
                continue
            m, t = c.counts[name] if name is not None else (c.matched, c.total)
            status = _status(c, name)
            cell = f"{mark(status)} {m} / {t}"
            cells.append(f"<b>{cell}</b>" if name is None else cell)
            text_cells.append(f"{MARKS[status][0]} {m}/{t}")
        rows.append(cells)
        text_rows.append(text_cells)
    used = {_status(c, n) for c in conf.checks for n in [*c.counts, None]}
    legend = [k for k in MARKS if k in used]
    legend_html = " · ".join(f"{mark(k)} {html.escape(LEGEND[k])}" for k in legend)
    sentences = [_sentence(c) for c in conf.checks]
    body = _table(cols, rows) + _p(legend_html) + "".join(_p(html.escape(s)) for s in sentences)
    text = "\n".join(
        [_text_table(cols, text_rows), *(f"{MARKS[k][0]} {LEGEND[k]}" for k in legend), *sentences]
    )
    return Rendered(body, text)


def mismatches(conf: Conformance, titles: Mapping[str, str]) -> Rendered:
    """Every observable the model did not reproduce, real and model side by side, and why."""
    found = [m for c in conf.checks for m in c.mismatches]
    if not found:
        text = "Every recorded observable matches the model."
        return Rendered(_p(html.escape(text)), text)
    cols = ["kernel", "scenario · step", "observable", "real kernel", "model", "why"]
    rows, text_rows = [], []
    for m in found:
        d = m.difference
        if m.explained_by:
            why = (
                f"{mark('changed')} real {m.explained_by} does this too: a kernel change "
                f"({html.escape(titles[d.group])})"
            )
        else:
            why = f"{mark('wrong')} unexplained"
        rows.append(
            [
                html.escape(f"{m.kernel} vs model {m.model_version}"),
                _step(d.scenario, d.step, d.call),
                html.escape(OBSERVABLE_LABELS[d.observable]),
                _value(d.op, d.observable, d.old, d.new),
                _value(d.op, d.observable, d.new, d.old),
                why,
            ]
        )
        text_rows.append(
            [
                f"{m.kernel}/{m.model_version}",
                f"{d.scenario} · {d.step}",
                d.observable,
                " | ".join(describe(d.op, d.observable, d.old)),
                " | ".join(describe(d.op, d.observable, d.new)),
                f"changed in {m.explained_by}" if m.explained_by else "unexplained",
            ]
        )
    return Rendered(_table(cols, rows), _text_table(cols, text_rows))


def steps(
    check: KernelCheck,
    scenario: Mapping[str, Any],
    real: Sequence[StepResult],
    model: Sequence[StepResult],
    explained: Mapping[tuple[str, str], str | None],
) -> Rendered:
    """One scenario step by step: the real kernel's results and the model's, side by side.
    ``explained``: (step id, observable) -> the kernel that explains a mismatch, or None."""
    kernel, version = check.kernel, check.model_version
    name, size = scenario["name"], scenario.get("hugepagesize", "2M")
    head = f"Scenario {name} ({size} hugepages) on Linux {kernel} ({check.release or 'unknown'})"
    head += f" and on the model of {_model_label(check)}."
    cols = ["step", f"real {kernel}", f"model {version}", "same?"]
    rows, text_rows = [], []
    for st, r, m in zip(scenario["steps"], real, model, strict=False):
        op, shown = st["op"], _shown(r, m)
        differ = [o for o in shown if r.get(o) != m.get(o)]

        def cell(a: StepResult, b: StepResult, op: str = op, shown: list[str] = shown) -> str:
            parts = []
            for o in shown:
                value, other = a.get(o), b.get(o)
                first, *rest = describe(op, o, value)
                lines = [f"{OBSERVABLE_LABELS[o]}: {first}", *(f"  {x}" for x in rest)]
                if o == "dmesg" and value:
                    bold = [x not in (other or []) for x in value]
                else:
                    bold = [value != other] * len(lines)
                parts.append(_code(lines, bold))
            return "".join(parts)

        by = {explained.get((r["id"], o)) for o in differ}
        if not differ:
            same, text_same = mark("same"), "same"
        else:
            what = ", ".join(OBSERVABLE_LABELS[o] for o in differ)
            status = "changed" if None not in by else "wrong"
            note = (
                f" (as real {', '.join(sorted(str(k) for k in by))} does)" if None not in by else ""
            )
            same = f"{mark(status)} {html.escape(what + note)}"
            text_same = f"{MARKS[status][0]} {what}{note}"
        step_cell = html.escape(r["id"]) + _code([call(st)])
        rows.append([step_cell, cell(r, m), cell(m, r), same])
        text_rows.append(
            [
                f"{r['id']}: {call(st)}",
                "; ".join(" | ".join(describe(op, o, r.get(o))) for o in shown),
                "; ".join(" | ".join(describe(op, o, m.get(o))) for o in shown),
                text_same,
            ]
        )
    used = [k for k in MARKS if any(row[-1].startswith(mark(k)) for row in rows)]
    note = " · ".join(f"{mark(k)} {html.escape(LEGEND[k])}" for k in used)
    if used != ["same"]:
        note = "What differs is in bold. " + note
    body = _p(html.escape(head)) + _table(cols, rows) + _p(note)
    return Rendered(body, "\n".join([head, _text_table(cols, text_rows)]))
