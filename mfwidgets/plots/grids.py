"""Grids: a snapshot turned into the numpy arrays and columns the plots draw (no bokeh here).

Mirrors: nothing in the kernel. A 2 MiB hugepage (512 subpages of 4 KiB) is drawn as a 16 x 32
tile; a 1 GiB hugepage (262,144 subpages) as 512 x 512, one row per 2 MiB of it. Cells are
row-major: ``subpage = row * cols + col``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..model import FolioView, Snapshot
from .palette import FOLIO_COLORS

GRID_SHAPES: dict[str, tuple[int, int]] = {"2M": (16, 32), "1G": (512, 512)}
POOL_COLUMNS = 32  # hugepages per row of the pool view
POOL_SIZES = ("1G", "2M")  # band order, top to bottom: the 1 GiB pool sits below in pfn order
# dirty_rects() merges changed cells this close together into one rectangle: a patch entry
# costs ~100 bytes of JSON, a merged-in unchanged cell one byte.
ROW_GAP = 2
COL_GAP = 32
MAX_RECTS = 64

Rect = tuple[int, int, int, int]  # r0, r1, c0, c1: rows [r0, r1) x columns [c0, c1)


def grid_shape(size: str) -> tuple[int, int]:
    """(rows, cols) of the heatmap tile of a ``size`` hugepage. Raises ValueError."""
    if size not in GRID_SHAPES:
        raise ValueError(f"grid_shape: size {size!r} is not one of '2M', '1G'")
    return GRID_SHAPES[size]


def folio_grid(view: FolioView) -> np.ndarray:
    """The SubpageState codes of one hugepage as a writable uint8 (rows, cols) array."""
    # A copy: the snapshot's codes are read-only, and bokeh patches the drawn array in place.
    return np.array(view.codes().reshape(grid_shape(view.size)), dtype=np.uint8)


def cell_of(size: str, subpage: int) -> tuple[int, int]:
    """(row, col) of ``subpage``. Raises ValueError outside the hugepage."""
    rows, cols = grid_shape(size)
    if not 0 <= subpage < rows * cols:
        raise ValueError(f"cell_of: subpage {subpage} is not in 0..{rows * cols - 1}")
    row, col = divmod(int(subpage), cols)
    return row, col


def subpage_at(size: str, row: int, col: int) -> int:
    """The subpage drawn at (row, col). Raises ValueError outside the grid."""
    rows, cols = grid_shape(size)
    if not (0 <= row < rows and 0 <= col < cols):
        raise ValueError(f"subpage_at: cell ({row}, {col}) is not in a {rows} x {cols} grid")
    return int(row) * cols + int(col)


def poisoned_subpages(view: FolioView) -> list[int]:
    """Subpages with an error, recorded or latent, in ascending order."""
    return sorted(view.raw_hwp | view.bad | view.isolated)


def _runs(indices: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Sorted indices split into half-open runs wherever more than ``gap`` are missing."""
    breaks = np.flatnonzero(np.diff(indices) > gap + 1)
    starts = [int(indices[0]), *(int(indices[b + 1]) for b in breaks)]
    stops = [*(int(indices[b]) + 1 for b in breaks), int(indices[-1]) + 1]
    return list(zip(starts, stops, strict=True))


def _bounding_rect(changed: np.ndarray, r0: int, r1: int) -> Rect:
    cols = np.flatnonzero(changed[r0:r1].any(axis=0))
    return (r0, r1, int(cols[0]), int(cols[-1]) + 1)


def dirty_rects(old: np.ndarray, new: np.ndarray) -> list[Rect]:
    """Half-open rectangles (r0, r1, c0, c1) that cover every cell where ``old != new``.

    Changes close together share a rectangle, distant ones do not; a single changed cell is
    one 1 x 1 rectangle, a fully changed grid one rectangle, an unchanged grid ``[]``. Never more
    than MAX_RECTS rectangles: beyond that, whole runs of rows are merged.
    Raises ValueError if the shapes differ.
    """
    if old.shape != new.shape or old.ndim != 2:
        raise ValueError(f"dirty_rects: shapes {old.shape} and {new.shape} differ or are not 2D")
    changed = old != new
    rows = np.flatnonzero(changed.any(axis=1))
    if rows.size == 0:
        return []
    row_runs = _runs(rows, ROW_GAP)
    rects: list[Rect] = []
    for r0, r1 in row_runs:
        band = changed[r0:r1]
        for c0, c1 in _runs(np.flatnonzero(band.any(axis=0)), COL_GAP):
            used = np.flatnonzero(band[:, c0:c1].any(axis=1))
            rects.append((r0 + int(used[0]), r0 + int(used[-1]) + 1, c0, c1))
    if len(rects) <= MAX_RECTS:
        return rects
    rects = [_bounding_rect(changed, r0, r1) for r0, r1 in row_runs]
    if len(rects) <= MAX_RECTS:
        return rects
    return [_bounding_rect(changed, int(rows[0]), int(rows[-1]) + 1)]


def pool_bands(snap: Snapshot) -> list[tuple[str, float]]:
    """(heading, y) of each pool band of the pool view, e.g. ("1 GiB hugepages", 0.5)."""
    return [(heading, y) for heading, y, _ in _pool_layout(snap)]


def _pool_layout(snap: Snapshot) -> list[tuple[str, float, list[FolioView]]]:
    layout = []
    row = 0
    for size in POOL_SIZES:
        folios = [f for f in snap.folios if f.size == size]
        if not folios:
            continue
        heading = f"{'1 GiB' if size == '1G' else '2 MiB'} hugepages"
        layout.append((heading, row + 0.5, folios))
        # One row for the heading, the hugepages, then one blank row before the next band.
        row += 1 + -(-len(folios) // POOL_COLUMNS) + 1
    return layout


def pool_columns(snap: Snapshot) -> dict[str, list[Any]]:
    """Columns for the pool view: one row per hugepage, laid out POOL_COLUMNS to a line.

    x, y are cell centres (y grows downwards), 1 GiB and 2 MiB pools in separate bands.
    """
    out: dict[str, list[Any]] = {
        name: []
        for name in (
            "x",
            "y",
            "number",
            "size",
            "pfn",
            "state",
            "color",
            "memfd",
            "mapped_by",
            "nr_poisoned",
        )
    }
    for _, y_heading, folios in _pool_layout(snap):
        for i, f in enumerate(folios):
            row, col = divmod(i, POOL_COLUMNS)
            out["x"].append(col + 0.5)
            out["y"].append(y_heading + 1 + row)
            out["number"].append(f.number)
            out["size"].append(f.size)
            out["pfn"].append(f"{f.pfn:#x}")
            out["state"].append(f.state.label)
            out["color"].append(FOLIO_COLORS[f.state])
            out["memfd"].append(f.memfd or "")
            out["mapped_by"].append(", ".join(str(pid) for pid in f.mapped_by))
            out["nr_poisoned"].append(len(f.raw_hwp | f.bad | f.isolated))
    return out
