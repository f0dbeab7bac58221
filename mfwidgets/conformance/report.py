"""The conformance report: scenario x kernel x observable, match or the two values side by
side, as Markdown and HTML."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from .normalize import compare


def _fmt(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def build_rows(real: Mapping[str, Any], model: Mapping[str, Any]) -> list[dict[str, Any]]:
    return compare(real, model)


def markdown(kernel: str, release: str | None, rows: list[dict[str, Any]]) -> str:
    ok = sum(r["match"] for r in rows)
    out = [
        f"# Conformance report: model vs Linux {kernel} ({release or 'unknown release'})",
        "",
        f"{ok} of {len(rows)} observables match.",
        "",
        "| scenario | step | observable | result |",
        "|---|---|---|---|",
    ]
    for r in rows:
        if r["match"]:
            cell = "match"
        else:
            cell = f"**real** `{_fmt(r['real'])}` / **model** `{_fmt(r['model'])}`"
        out.append(f"| {r['scenario']} | {r['step']} | {r['observable']} | {cell} |")
    return "\n".join(out) + "\n"


def to_html(kernel: str, release: str | None, rows: list[dict[str, Any]]) -> str:
    ok = sum(r["match"] for r in rows)
    esc = html.escape
    body = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Conformance: model vs Linux {esc(kernel)}</title>",
        "<style>td{font-family:monospace;padding:2px 6px;border:1px solid #ccc}"
        ".ok{background:#e6ffe6}.bad{background:#ffe6e6}table{border-collapse:collapse}</style>",
        "</head><body>",
        f"<h1>Model vs Linux {esc(kernel)} ({esc(release or 'unknown release')})</h1>",
        f"<p>{ok} of {len(rows)} observables match.</p>",
        "<table><tr><th>scenario</th><th>step</th><th>observable</th><th>real</th>"
        "<th>model</th></tr>",
    ]
    for r in rows:
        cls = "ok" if r["match"] else "bad"
        real = "match" if r["match"] else esc(_fmt(r["real"]))
        model = "" if r["match"] else esc(_fmt(r["model"]))
        body.append(
            f"<tr class='{cls}'><td>{esc(r['scenario'])}</td><td>{esc(r['step'])}</td>"
            f"<td>{esc(r['observable'])}</td><td>{real}</td><td>{model}</td></tr>"
        )
    body.append("</table></body></html>")
    return "\n".join(body) + "\n"
