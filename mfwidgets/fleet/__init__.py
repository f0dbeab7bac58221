"""mfwidgets.fleet: what each memory-failure policy costs a fleet of VM hosts over years.

A seeded Monte Carlo: hosts see uncorrected DRAM errors at the rates of the public field
studies (params.py cites them); what each error does to a VM comes from the kernel model itself
(consequences.py runs tiny scenarios on mfwidgets.model.Kernel), applied with numpy
(vectorized.py) and checked, error by error, against real Kernels (replay.py).

    from mfwidgets import fleet
    result = fleet.simulate(hosts=10_000, years=5, memory_per_host_gib=1024, hugepage_size="1G")
    print(result.text())

Imports numpy and mfwidgets.model only; bokeh (``fleet.plotting``), ipywidgets
(``fleet.FleetExplorer``) and Dask (``client=``) are loaded on demand.
"""

from __future__ import annotations

from typing import Any

from .consequences import STATES, ConsequenceTable, consequence_table, derive_table, table_text
from .draws import MAX_ERRORS_PER_FAULT, Draws, draw
from .params import FleetParams, check, describe, sources_text
from .replay import replay
from .simulate import METRICS, FleetResult, run_chunk, simulate, sweep, sweep_cells, sweep_grid
from .vectorized import HOST_METRICS, HostOutcome, simulate_hosts

__all__ = [
    "HOST_METRICS",
    "MAX_ERRORS_PER_FAULT",
    "METRICS",
    "STATES",
    "ConsequenceTable",
    "Draws",
    "FleetExplorer",
    "FleetParams",
    "FleetResult",
    "HostOutcome",
    "check",
    "consequence_table",
    "derive_table",
    "describe",
    "draw",
    "plotting",
    "replay",
    "run_chunk",
    "simulate",
    "simulate_hosts",
    "sweep",
    "sweep_cells",
    "sources_text",
    "sweep_grid",
    "table_text",
]


def __getattr__(name: str) -> Any:
    import importlib

    if name == "plotting":
        return importlib.import_module(f"{__name__}.plotting")
    if name == "FleetExplorer":
        return importlib.import_module(f"{__name__}.explorer").FleetExplorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
