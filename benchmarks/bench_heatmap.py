"""Benchmark: what a one-subpage event costs the 1 GiB heatmap, against a full redraw.

A Kernel with one 1 GiB hugepage in a MFD_MF_KEEP_UE_MAPPED memfd, mapped and filled. The
heatmap's figure sits in a jupyter_bokeh BokehModel, as in the notebooks; its comm ``send`` is
replaced by a recorder, so every byte that would go to the browser is counted (JSON text of
each message plus its binary buffers).

(a) madvise(MADV_HWPOISON) on one subpage, snapshot, then ``FolioHeatmap.update(snap)``;
(b) the same snapshot drawn from scratch with ``FolioHeatmap.show_folio(snap, 0)``.

Python time covers the heatmap call only (bokeh serialisation included, the model and the
snapshot excluded: they are the same for both), median of ``--reps`` runs.

    .venv/bin/python benchmarks/bench_heatmap.py              # 100 repetitions
    .venv/bin/python benchmarks/bench_heatmap.py --reps 50
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from jupyter_bokeh import BokehModel

import mfwidgets as mf
from mfwidgets.plots import FolioHeatmap

BUDGET_BYTES = 2048
BUDGET_SECONDS = 0.005


class Recorder:
    """Stands in for BokehModel.send: sizes of what the comm would carry, per message."""

    def __init__(self) -> None:
        self.json_bytes = 0
        self.binary_bytes = 0
        self.messages = 0

    def send(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        self.messages += 1
        self.json_bytes += len(json.dumps(content, separators=(",", ":")).encode())
        for buffer in buffers or []:
            self.binary_bytes += memoryview(buffer).nbytes

    def reset(self) -> None:
        self.json_bytes = self.binary_bytes = self.messages = 0

    @property
    def total(self) -> int:
        return self.json_bytes + self.binary_bytes


def setup() -> tuple[mf.Kernel, mf.Process, int]:
    k = mf.Kernel(hugepages={"1G": 1})
    p = k.spawn("guest", handle_sigbus=True)
    fd = p.memfd_create("guest", mf.MFD_HUGETLB | mf.MFD_HUGE_1GB | mf.MFD_MF_KEEP_UE_MAPPED)
    p.ftruncate(fd, mf.SZ_1G)
    addr = p.mmap(mf.SZ_1G, mf.PROT_READ | mf.PROT_WRITE, mf.MAP_SHARED, fd, 0)
    p.fill(addr, mf.SZ_1G, 0xAB)
    return k, p, addr


def measure(reps: int) -> dict[str, dict[str, float]]:
    k, p, addr = setup()
    heatmap = FolioHeatmap(k.snapshot(), 0)
    widget = BokehModel(heatmap.figure)
    recorder = Recorder()
    # BokehModel._document_patched pushes every document change through self.send().
    widget.send = recorder.send
    rows: dict[str, dict[str, list[float]]] = {
        "update": {"seconds": [], "bytes": [], "json": [], "binary": [], "msgs": [], "cells": []},
        "show_folio": {"seconds": [], "bytes": [], "json": [], "binary": [], "msgs": []},
    }
    for i in range(reps):
        # Spread the subpages over the hugepage; each is a new error.
        subpage = (i * 2621 + 7) % (mf.SZ_1G // mf.PAGE_SIZE)
        assert p.madvise(addr + subpage * mf.PAGE_SIZE, mf.PAGE_SIZE, mf.MADV_HWPOISON) == 0
        snap = k.snapshot()

        recorder.reset()
        t0 = time.perf_counter()
        cells = heatmap.update(snap)
        t1 = time.perf_counter()
        _record(rows["update"], t1 - t0, recorder)
        rows["update"]["cells"].append(cells)

        recorder.reset()
        t0 = time.perf_counter()
        heatmap.show_folio(snap, 0)
        t1 = time.perf_counter()
        _record(rows["show_folio"], t1 - t0, recorder)
    return {
        name: {key: statistics.median(values) for key, values in cols.items()}
        for name, cols in rows.items()
    }


def _record(row: dict[str, list[float]], seconds: float, recorder: Recorder) -> None:
    row["seconds"].append(seconds)
    row["bytes"].append(recorder.total)
    row["json"].append(recorder.json_bytes)
    row["binary"].append(recorder.binary_bytes)
    row["msgs"].append(recorder.messages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100, help="repetitions (>= 50)")
    args = parser.parse_args()
    result = measure(max(50, args.reps))
    up, full = result["update"], result["show_folio"]
    print(f"1 GiB heatmap (512 x 512 cells), median of {max(50, args.reps)} repetitions")
    print(f"{'':28}{'bytes':>10}{'json':>9}{'binary':>9}{'msgs':>6}{'time ms':>10}")
    for name, r in (("one-subpage update()", up), ("full redraw show_folio()", full)):
        print(
            f"{name:28}{r['bytes']:>10.0f}{r['json']:>9.0f}{r['binary']:>9.0f}"
            f"{r['msgs']:>6.0f}{r['seconds'] * 1e3:>10.3f}"
        )
    print(f"cells patched per update: {up['cells']:.0f}")
    print(
        f"full / update: bytes {full['bytes'] / up['bytes']:.0f}x, "
        f"time {full['seconds'] / up['seconds']:.1f}x"
    )
    ok_bytes = up["bytes"] < BUDGET_BYTES
    ok_time = up["seconds"] < BUDGET_SECONDS
    print(
        f"budget: update < {BUDGET_BYTES} B: {'ok' if ok_bytes else 'MISSED'}; "
        f"< {BUDGET_SECONDS * 1e3:.0f} ms: {'ok' if ok_time else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
