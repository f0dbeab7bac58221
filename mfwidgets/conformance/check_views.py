"""How the workbook shows a real kernel against the model: observables matched per scenario and
kernel, every mismatch with its reason, and one scenario step by step, side by side.

Mirrors: nothing in the kernel. ``changes.py`` computes; this module only formats (with the
building blocks of ``views.py``) and imports no UI library.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .views import (
    LEGEND,
    MARKS,
    OBSERVABLE_LABELS,
    Rendered,
    call,
    code_block,
    describe,
    html_table,
    mark,
    observables_shown,
    paragraph,
    step_label,
    text_table,
    value_html,
)

if TYPE_CHECKING:
    from .changes import Conformance, KernelCheck
    from .normalize import StepResult


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
        ["release", *(code_block([c.release or "unknown"]) for c in conf.checks)],
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
    body = (
        html_table(cols, rows)
        + paragraph(legend_html)
        + "".join(paragraph(html.escape(s)) for s in sentences)
    )
    text = "\n".join(
        [text_table(cols, text_rows), *(f"{MARKS[k][0]} {LEGEND[k]}" for k in legend), *sentences]
    )
    return Rendered(body, text)


def mismatches(conf: Conformance, titles: Mapping[str, str]) -> Rendered:
    """Every observable the model did not reproduce, real and model side by side, and why."""
    found = [m for c in conf.checks for m in c.mismatches]
    if not found:
        text = "Every recorded observable matches the model."
        return Rendered(paragraph(html.escape(text)), text)
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
                step_label(d.scenario, d.step, d.call),
                html.escape(OBSERVABLE_LABELS[d.observable]),
                value_html(d.op, d.observable, d.old, d.new),
                value_html(d.op, d.observable, d.new, d.old),
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
    return Rendered(html_table(cols, rows), text_table(cols, text_rows))


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
        op, shown = st["op"], observables_shown(r, m)
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
                parts.append(code_block(lines, bold))
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
        step_cell = html.escape(r["id"]) + code_block([call(st)])
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
    body = paragraph(html.escape(head)) + html_table(cols, rows) + paragraph(note)
    return Rendered(body, "\n".join([head, text_table(cols, text_rows)]))
