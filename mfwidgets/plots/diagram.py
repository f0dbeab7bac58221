"""Diagram: the path an uncorrected memory error takes, from DRAM to the release of the memfd,
as an SVG drawn from code, with one step optionally highlighted.

Mirrors: the order of events in mm/memory-failure.c and mm/hugetlb.c that docs/kernel.md
describes (detection, ``memory_failure()``, the two policies, release). The committed
``docs/figures/error-path.svg`` is this module's output with nothing highlighted
(``python -m mfwidgets.plots.diagram > docs/figures/error-path.svg``); a test keeps them equal.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from .palette import BLACK, ORANGE, REDDISH_PURPLE, VERMILLION, YELLOW

WIDTH = 640
BOX_H = 64
STEP_Y = 96


@dataclass(frozen=True)
class Node:
    """One step of the path: its key (what ``highlight`` names), where it sits, and its text."""

    key: str
    column: int  # 0: centre, 1: left, 2: right
    row: int
    lines: tuple[str, ...]
    accent: str  # the colour of the box's edge: the policy or the kind of detection


NODES: tuple[Node, ...] = (
    Node(
        "error",
        0,
        0,
        ("Uncorrected error in DRAM", "a few bad cache lines in one 4 KiB page"),
        VERMILLION,
    ),
    Node(
        "scrubber",
        1,
        1,
        ("Patrol scrubber finds it", "machine check: action optional (AO)"),
        ORANGE,
    ),
    Node("load", 2, 1, ("A load consumes it", "machine check: action required (AR)"), VERMILLION),
    Node(
        "memory_failure",
        0,
        2,
        ("memory_failure(pfn)", "marks the page hwpoison, finds who maps it"),
        BLACK,
    ),
    Node(
        "stock",
        1,
        3,
        ("Stock: whole hugepage unmapped", "SIGBUS, si_addr_lsb 21 (2 MiB) or 30 (1 GiB)"),
        YELLOW,
    ),
    Node(
        "keep",
        2,
        3,
        ("Keep flag (proposed): stays mapped", "SIGBUS, si_addr_lsb 12 (4 KiB)"),
        REDDISH_PURPLE,
    ),
    Node(
        "stock_release",
        1,
        4,
        ("Release: hugepage leaked", "still in nr_hugepages, never free again"),
        YELLOW,
    ),
    Node(
        "keep_release",
        2,
        4,
        ("Release: hugepage dissolved", "its healthy 4 KiB pages are freed"),
        REDDISH_PURPLE,
    ),
)
KEYS = tuple(node.key for node in NODES)

EDGES: tuple[tuple[str, str], ...] = (
    ("error", "scrubber"),
    ("error", "load"),
    ("scrubber", "memory_failure"),
    ("load", "memory_failure"),
    ("memory_failure", "stock"),
    ("memory_failure", "keep"),
    ("stock", "stock_release"),
    ("keep", "keep_release"),
)


def _box(node: Node) -> tuple[int, int, int]:
    """(x, y, width) of a node's box: the centre column is wide, the two sides split the page."""
    y = 16 + node.row * STEP_Y
    if node.column == 0:
        return (WIDTH - 380) // 2, y, 380
    half = (WIDTH - 48) // 2
    return (16 if node.column == 1 else 32 + half), y, half


def _tint(colour: str) -> str:
    """The colour mixed with four parts white: a box's background, light enough for black text."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{(c + 4 * 255) // 5:02X}" for c in rgb)


def error_path_svg(highlight: str | None = None) -> str:
    """The diagram as SVG text; ``highlight`` names one step (one of ``KEYS``) to emphasise."""
    if highlight is not None and highlight not in KEYS:
        raise ValueError(f"highlight: {highlight!r} is not one of {', '.join(KEYS)}")
    height = 16 + 5 * STEP_Y - (STEP_Y - BOX_H) + 16
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="t d" '
        'font-family="sans-serif" font-size="13">',
        '<title id="t">The path of an uncorrected memory error in a HugeTLB memfd</title>',
        '<desc id="d">An error in DRAM is found by the patrol scrubber or consumed by a load; '
        "either way memory_failure() handles it. A stock memfd loses the whole hugepage and the "
        "process gets SIGBUS with si_addr_lsb 21 or 30; with MFD_MF_KEEP_UE_MAPPED the hugepage "
        "stays mapped and SIGBUS says si_addr_lsb 12. On release the stock hugepage is leaked; "
        "the kept one is dissolved.</desc>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        f'markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{BLACK}"/>'
        "</marker></defs>",
        f'<rect width="{WIDTH}" height="{height}" fill="#FFFFFF"/>',
    ]
    by_key = {node.key: node for node in NODES}
    for src, dst in EDGES:
        (x0, y0, w0), (x1, y1, w1) = _box(by_key[src]), _box(by_key[dst])
        out.append(
            f'<line x1="{x0 + w0 // 2}" y1="{y0 + BOX_H}" x2="{x1 + w1 // 2}" y2="{y1}" '
            f'stroke="{BLACK}" stroke-width="1.5" marker-end="url(#arrow)"/>'
        )
    for label, x, anchor in (("stock memfd", 24, "start"), ("MFD_MF_KEEP_UE_MAPPED", 616, "end")):
        out.append(
            f'<text x="{x}" y="{16 + 3 * STEP_Y - 10}" text-anchor="{anchor}" font-size="11" '
            f'font-style="italic">{label}</text>'
        )
    for node in NODES:
        x, y, w = _box(node)
        lit = node.key == highlight
        # The highlighted step is filled with its accent; the others only carry it on their edge,
        # so the highlight does not rely on colour alone (its border is also black and thicker).
        fill = node.accent if lit else _tint(node.accent)
        ink = "#FFFFFF" if lit and node.accent in (BLACK, VERMILLION) else BLACK
        out.append(
            f'<rect x="{x}" y="{y}" width="{w}" height="{BOX_H}" rx="8" fill="{fill}" '
            f'stroke="{BLACK if lit else node.accent}" stroke-width="{5 if lit else 3}"/>'
        )
        for i, line in enumerate(node.lines):
            size = "" if i == 0 else ' font-size="11.5"'
            bold = ' font-weight="bold"' if i == 0 else ""
            out.append(
                f'<text x="{x + w // 2}" y="{y + 26 + 20 * i}" text-anchor="middle" '
                f'fill="{ink}"{size}{bold}>{html.escape(line)}</text>'
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(error_path_svg(), end="")
