"""Simulate: replicas of a fleet, run locally (numpy) or spread over a Dask cluster, and the
result: per-policy distributions of the fleet totals, with intervals.

Mirrors: nothing in the kernel. Replica i draws from child i of SeedSequence(seed).spawn(): a
replica's numbers do not depend on which chunk, worker or machine ran it, so the local run and
any Dask run give identical results. Dask is imported only when a client is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .consequences import ConsequenceTable, consequence_table
from .draws import draw
from .params import FleetParams
from .vectorized import HOST_METRICS, simulate_hosts

CHUNK_REPLICAS = 16  # replicas per task, locally and on Dask alike
METRICS: dict[str, tuple[str, str]] = {  # name -> (label, unit)
    "ues": ("UEs in guest memory", "errors"),
    "sigbus": ("SIGBUS to VMMs", "signals"),
    "vm_interruptions": ("VM interruptions", "VMs"),
    "guest_lost_bytes": ("guest memory lost", "bytes"),
    "stranded_bytes": ("memory stranded until release", "bytes"),
    "hugepages_dissolved": ("hugepages dissolved", "hugepages"),
    "hugepages_leaked": ("hugepages leaked", "hugepages"),
    "hosts_out_of_spare": ("hosts out of spare hugepages", "hosts"),
    "hosts_interrupted": ("hosts with an interruption", "hosts"),
}
INTERVAL = (2.5, 97.5)  # percentiles: a 95% interval over replicas


def _tables(params: FleetParams) -> dict[str, ConsequenceTable]:
    return {p: consequence_table(p, params.hugepage_size) for p in params.policies}


def run_chunk(
    params: FleetParams,
    seeds: Sequence[np.random.SeedSequence],
    tables: dict[str, ConsequenceTable],
) -> dict[str, np.ndarray]:
    """Replicas for ``seeds``: {policy/metric: totals per replica, "outside": ...}."""
    out: dict[str, list[int]] = {}
    for seed in seeds:
        draws = draw(params, np.random.default_rng(seed))
        out.setdefault("outside", []).append(draws.outside)
        for policy, table in tables.items():
            values = simulate_hosts(params, draws, table).values
            for name in HOST_METRICS:
                out.setdefault(f"{policy}/{name}", []).append(int(values[name].sum()))
            hit = int(np.count_nonzero(values["vm_interruptions"]))
            out.setdefault(f"{policy}/hosts_interrupted", []).append(hit)
    return {k: np.asarray(v, dtype=np.int64) for k, v in out.items()}


@dataclass(frozen=True)
class FleetResult:
    """Fleet totals per replica: ``values[policy][metric]`` is an int64 array (replicas,)."""

    params: FleetParams
    values: dict[str, dict[str, np.ndarray]]
    outside: np.ndarray

    @property
    def host_years(self) -> float:
        return self.params.hosts * self.params.years * self.params.replicas

    def summary(self) -> list[dict[str, Any]]:
        """One row per (metric, policy): mean, median and the 95% interval over replicas."""
        rows = []
        for name, (label, unit) in METRICS.items():
            for policy in self.params.policies:
                v = self.values[policy][name]
                lo, mid, hi = np.percentile(v, [INTERVAL[0], 50, INTERVAL[1]])
                rows.append(
                    {
                        "metric": name,
                        "label": label,
                        "policy": policy,
                        "unit": unit,
                        "mean": float(v.mean()),
                        "median": float(mid),
                        "lo": float(lo),
                        "hi": float(hi),
                    }
                )
        return rows

    def table(self) -> Any:
        """summary() as a pandas DataFrame when pandas is installed, else the list of rows."""
        try:
            import pandas as pd
        except ImportError:
            return self.summary()
        return pd.DataFrame(self.summary())

    def text(self) -> str:
        """summary() as aligned text, sizes in GiB."""
        lines = [f"{'metric':<42} {'policy':<6} {'mean':>11}   95% interval"]
        for r in self.summary():
            scale, unit = _scale(r["unit"], max(r["hi"], r["mean"]))
            lines.append(
                f"{r['label'] + ' (' + unit + ')':<42} {r['policy']:<6} "
                f"{r['mean'] / scale:>11,.1f}   "
                f"[{r['lo'] / scale:,.1f}, {r['hi'] / scale:,.1f}]"
            )
        return "\n".join(lines)


def _scale(unit: str, largest: float) -> tuple[float, str]:
    """Bytes shown in GiB, or MiB when under a GiB; other units as they are."""
    if unit != "bytes":
        return 1.0, unit
    return (float(1 << 30), "GiB") if largest >= 1 << 30 else (float(1 << 20), "MiB")


def _chunks(params: FleetParams) -> list[list[np.random.SeedSequence]]:
    seeds = np.random.SeedSequence(params.seed).spawn(params.replicas)
    return [seeds[i : i + CHUNK_REPLICAS] for i in range(0, len(seeds), CHUNK_REPLICAS)]


def _assemble(params: FleetParams, parts: list[dict[str, np.ndarray]]) -> FleetResult:
    joined = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    values = {
        policy: {name: joined[f"{policy}/{name}"] for name in METRICS} for policy in params.policies
    }
    return FleetResult(params, values, joined["outside"])


def simulate(
    params: FleetParams | None = None, *, client: Any = None, **changes: Any
) -> FleetResult:
    """Run ``params.replicas`` replicas of the fleet (``changes`` override fields).

    ``client``: None runs here with numpy; a ``distributed.Client`` (or a scheduler address,
    or "local" for a new 2-worker LocalCluster) spreads the chunks of replicas over its
    workers. The numbers are identical either way. Raises SyscallError(EINVAL) for bad
    parameters, ImportError when Dask is asked for and not installed.
    """
    params = (params or FleetParams()).replace(**changes) if changes else (params or FleetParams())
    return sweep_cells([params], client=client)[0]


def sweep_cells(cells: Sequence[FleetParams], *, client: Any = None) -> list[FleetResult]:
    """Simulate several parameter sets, all chunks submitted together (parallel on Dask)."""
    tasks = [(i, p, chunk, _tables(p)) for i, p in enumerate(cells) for chunk in _chunks(p)]
    if client is None:
        parts = [run_chunk(p, chunk, tables) for _, p, chunk, tables in tasks]
    else:
        parts = _run_dask(client, tasks)
    return [
        _assemble(p, [part for (j, *_), part in zip(tasks, parts, strict=True) if j == i])
        for i, p in enumerate(cells)
    ]


def _run_dask(client: Any, tasks: list[tuple[Any, ...]]) -> list[dict[str, np.ndarray]]:
    from .cluster import dask_client

    with dask_client(client) as c:
        futures = [
            c.submit(run_chunk, p, chunk, tables, pure=False) for _, p, chunk, tables in tasks
        ]
        return list(c.gather(futures))


def sweep(
    params: FleetParams | None = None,
    *,
    rates: Sequence[float] = (0.005, 0.013, 0.02, 0.04),
    sizes: Sequence[str] = ("2M", "1G"),
    client: Any = None,
) -> dict[str, Any]:
    """Error rate x hugepage size. Returns {"rates", "sizes", "results": [[FleetResult]]}
    (results[i][j] for rates[i], sizes[j])."""
    base = params or FleetParams()
    cells = [
        base.replace(ue_host_fraction_per_year=r, hugepage_size=s) for r in rates for s in sizes
    ]
    flat = sweep_cells(cells, client=client)
    grid = [flat[i * len(sizes) : (i + 1) * len(sizes)] for i in range(len(rates))]
    return {"rates": list(rates), "sizes": list(sizes), "results": grid}


def sweep_grid(
    sweep_result: dict[str, Any], metric: str, policy: str, per: str = "host_year"
) -> np.ndarray:
    """Mean of ``metric`` per cell (rates x sizes), per host-year or (per="fleet") per fleet."""
    out = np.zeros((len(sweep_result["rates"]), len(sweep_result["sizes"])))
    for i, row in enumerate(sweep_result["results"]):
        for j, r in enumerate(row):
            mean = float(r.values[policy][metric].mean())
            out[i, j] = mean / (r.params.hosts * r.params.years) if per == "host_year" else mean
    return out
