"""The conformance report: scenario x step x observable x kernel, each a match or the real
and model values side by side (with the reason, for a known difference), as Markdown and HTML.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from . import known
from .normalize import compare

Rows = list[dict[str, Any]]


def _fmt(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def build_rows(real: Mapping[str, Any], model: Mapping[str, Any], kernel: str = "") -> Rows:
    """``normalize.compare`` rows, each with ``kernel`` and ``accepted`` (the reason a
    mismatch is a known difference, or None)."""
    rows = compare(real, model)
    for row in rows:
        row["kernel"] = kernel
        row["accepted"] = known.accepted(kernel, row) if kernel else None
    return rows


class Report:
    """The rows of several kernels. ``kernels``: name -> (release, model version)."""

    def __init__(self, kernels: Mapping[str, tuple[str | None, str]], rows: Rows) -> None:
        self.kernels = dict(kernels)
        self.rows = rows

    def table(self) -> list[tuple[tuple[str, str, str], dict[str, dict[str, Any]]]]:
        """(scenario, step, observable) -> kernel -> row, in the order of the scenarios."""
        out: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
        for r in self.rows:
            out.setdefault((r["scenario"], r["step"], r["observable"]), {})[r["kernel"]] = r
        return list(out.items())

    def summary(self) -> list[str]:
        lines = []
        for kernel, (release, version) in self.kernels.items():
            rows = [r for r in self.rows if r["kernel"] == kernel]
            ok = sum(r["match"] for r in rows)
            ac = sum(1 for r in rows if r["accepted"])
            lines.append(
                f"Linux {kernel} ({release or 'unknown release'}) against the model {version}: "
                f"{ok} of {len(rows)} observables match"
                + (f", {ac} more are known differences" if ac else "")
                + f", {len(rows) - ok - ac} differ."
            )
        return lines

    def mismatches(self) -> Rows:
        return [r for r in self.rows if not r["match"]]

    def markdown(self) -> str:
        kernels = list(self.kernels)
        out = ["# Conformance report: the model against real Linux kernels", ""]
        out += [f"- {line}" for line in self.summary()]
        out += ["", "## Mismatches", ""]
        bad = self.mismatches()
        if not bad:
            out.append("None: every observable matches.")
        else:
            out += [
                "| kernel | scenario | step | observable | real | model | accepted because |",
                "|---|---|---|---|---|---|---|",
            ]
            for r in bad:
                out.append(
                    f"| {r['kernel']} | {r['scenario']} | {r['step']} | {r['observable']} | "
                    f"`{_fmt(r['real'])}` | `{_fmt(r['model'])}` | {r['accepted'] or '—'} |"
                )
        out += ["", "## Every observable", ""]
        out.append("| scenario | step | observable | " + " | ".join(kernels) + " |")
        out.append("|---|---|---|" + "---|" * len(kernels))
        for (sc, step, obs), by in self.table():
            cells = [_cell_md(by.get(k)) for k in kernels]
            out.append(f"| {sc} | {step} | {obs} | " + " | ".join(cells) + " |")
        return "\n".join(out) + "\n"

    def html(self) -> str:
        esc = html.escape
        kernels = list(self.kernels)
        body = [
            "<!doctype html><html><head><meta charset='utf-8'>",
            "<title>Conformance: the model against real Linux kernels</title>",
            "<style>td,th{font-family:monospace;padding:2px 6px;border:1px solid #ccc;"
            "vertical-align:top}.ok{background:#e6ffe6}.bad{background:#ffe6e6}"
            ".known{background:#fff3d6}table{border-collapse:collapse}</style>",
            "</head><body>",
            "<h1>Conformance: the model against real Linux kernels</h1><ul>",
            *(f"<li>{esc(line)}</li>" for line in self.summary()),
            "</ul><table><tr><th>scenario</th><th>step</th><th>observable</th>",
            *(f"<th>{esc(k)}</th>" for k in kernels),
            "</tr>",
        ]
        for (sc, step, obs), by in self.table():
            cells = "".join(_cell_html(by.get(k)) for k in kernels)
            body.append(
                f"<tr><td>{esc(sc)}</td><td>{esc(step)}</td><td>{esc(obs)}</td>{cells}</tr>"
            )
        body.append("</table></body></html>")
        return "\n".join(body) + "\n"


def _cell_md(row: dict[str, Any] | None) -> str:
    if row is None:
        return "—"
    if row["match"]:
        return "match"
    cell = f"**real** `{_fmt(row['real'])}` / **model** `{_fmt(row['model'])}`"
    return cell + (f" (known: {row['accepted']})" if row["accepted"] else "")


def _cell_html(row: dict[str, Any] | None) -> str:
    esc = html.escape
    if row is None:
        return "<td>—</td>"
    if row["match"]:
        return "<td class='ok'>match</td>"
    cls = "known" if row["accepted"] else "bad"
    known_note = f"<br><i>known: {esc(row['accepted'])}</i>" if row["accepted"] else ""
    return (
        f"<td class='{cls}'>real {esc(_fmt(row['real']))}<br>"
        f"model {esc(_fmt(row['model']))}{known_note}</td>"
    )
