"""Table: the rows a teaching calculator returns; it renders as HTML in Jupyter (through
``_repr_html_``) and as aligned text elsewhere. Re-exported by ``mfwidgets.teaching``.

Mirrors: nothing in the kernel.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping


@dataclasses.dataclass(frozen=True)
class Table:
    """Rows of a small table. ``rows`` are dicts keyed by ``columns``; ``caption`` says what
    the table shows."""

    columns: tuple[str, ...]
    rows: tuple[Mapping[str, object], ...]
    caption: str = ""

    def column(self, name: str) -> list[object]:
        """The values of one column, top to bottom."""
        return [row[name] for row in self.rows]

    def _cells(self) -> list[list[str]]:
        return [[str(row[c]) for c in self.columns] for row in self.rows]

    def __str__(self) -> str:
        cells = [list(self.columns), *self._cells()]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        pad = [[v.ljust(w) for v, w in zip(r, widths, strict=True)] for r in cells]
        lines = ["  ".join(r).rstrip() for r in pad]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(([self.caption] if self.caption else []) + lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>"
            + "".join(f"<td style='text-align:left'>{html.escape(v)}</td>" for v in r)
            + "</tr>"
            for r in self._cells()
        )
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
