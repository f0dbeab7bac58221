"""Benchmark: the sustained tick rate of a Workload, alone and inside the WorkloadRunner widget.

One 1 GiB guest per policy, 10,000 uniform 8-byte loads per tick, 0.5 new hardware errors per
tick on average (the defaults). (a) ``Workload.tick()`` alone; (b) ``WorkloadRunner.step(1)``:
the same tick plus the counts table and both heatmaps' incremental ``update()`` and SIGBUS
marks. The widget is built without a browser: each heatmap's BokehModel ``send`` is replaced by
a recorder, so the patches are still serialised, and their bytes counted, as a live kernel
would send them.

    .venv/bin/python benchmarks/bench_workload.py               # 200 ticks each
    .venv/bin/python benchmarks/bench_workload.py --ticks 100
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from mfwidgets.widgets import Workload, WorkloadParams, WorkloadRunner

TARGET_WIDGET_TICKS_PER_S = 10.0


class Recorder:
    """Stands in for BokehModel.send: what the comm would carry."""

    def __init__(self) -> None:
        self.bytes = 0
        self.messages = 0

    def send(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        self.messages += 1
        self.bytes += len(json.dumps(content, separators=(",", ":")).encode())
        self.bytes += sum(memoryview(b).nbytes for b in buffers or [])


def _rate(seconds: list[float]) -> tuple[float, float]:
    """(ticks per second over the whole run, median ms per tick)."""
    return len(seconds) / sum(seconds), statistics.median(seconds) * 1e3


def bench_workload(params: WorkloadParams, ticks: int) -> tuple[list[float], dict[str, Any]]:
    wl = Workload(params)
    seconds = []
    for _ in range(ticks):
        t0 = time.perf_counter()
        wl.tick()
        seconds.append(time.perf_counter() - t0)
    return seconds, wl.totals()


def bench_widget(params: WorkloadParams, ticks: int) -> tuple[list[float], Recorder]:
    wr = WorkloadRunner(params)
    recorder = Recorder()
    for view in wr._views:
        view.send = recorder.send
    seconds = []
    for _ in range(ticks):
        t0 = time.perf_counter()
        wr.step(1)
        seconds.append(time.perf_counter() - t0)
    return seconds, recorder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=200, help="ticks per measurement (>= 100)")
    args = parser.parse_args()
    ticks = max(100, args.ticks)
    params = WorkloadParams(pattern="uniform", loads_per_tick=10_000, ue_rate=0.5, nr_hugepages=1)
    print(f"{params}\n{ticks} ticks each\n")
    alone, totals = bench_workload(params, ticks)
    widget, recorder = bench_widget(params, ticks)
    print(f"{'':32}{'ticks/s':>10}{'median ms':>11}")
    for name, seconds in (("Workload.tick()", alone), ("WorkloadRunner.step(1)", widget)):
        rate, median = _rate(seconds)
        print(f"{name:32}{rate:>10.1f}{median:>11.2f}")
    print(
        f"\nbokeh patches sent by the widget: {recorder.bytes / ticks:,.0f} B/tick "
        f"in {recorder.messages / ticks:.1f} messages/tick"
    )
    for policy, t in totals.items():
        print(
            f"{policy:>6}: good loads {t['good_loads']:,.0f}  SIGBUS {t['sigbus']:.0f}  "
            f"VM deaths {t['vm_deaths']:.0f}  usable {100 * t['usable_fraction']:.4f} %"
        )
    ok = _rate(widget)[0] >= TARGET_WIDGET_TICKS_PER_S
    print(f"target: widget >= {TARGET_WIDGET_TICKS_PER_S:.0f} ticks/s: {'ok' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
