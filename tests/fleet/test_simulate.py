"""simulate(): seeded, chunked the same everywhere; Dask gives the very same numbers."""

from __future__ import annotations

import importlib.util
import time

import numpy as np
import pytest

from mfwidgets import fleet
from mfwidgets.fleet import FleetParams, simulate

HAVE_DASK = importlib.util.find_spec("distributed") is not None


def _same(a: fleet.FleetResult, b: fleet.FleetResult) -> bool:
    return np.array_equal(a.outside, b.outside) and all(
        np.array_equal(a.values[p][m], b.values[p][m]) for p in a.values for m in a.values[p]
    )


def test_same_seed_same_numbers_and_replicas_do_not_depend_on_their_count() -> None:
    a = simulate(replicas=40, hosts=2000)
    assert _same(a, simulate(replicas=40, hosts=2000))
    b = simulate(replicas=20, hosts=2000)
    assert np.array_equal(a.values["keep"]["ues"][:20], b.values["keep"]["ues"])
    assert not np.array_equal(
        a.values["keep"]["ues"], simulate(replicas=40, hosts=2000, seed=1).values["keep"]["ues"]
    )


def test_summary_has_both_policies_and_an_interval() -> None:
    r = simulate(replicas=30)
    rows = {(row["metric"], row["policy"]): row for row in r.summary()}
    s, k = rows["vm_interruptions", "stock"], rows["vm_interruptions", "keep"]
    assert s["lo"] <= s["mean"] <= s["hi"] and s["mean"] > 0 and k["mean"] == 0
    assert "guest memory lost (MiB)" in r.text()
    assert r.host_years == 10_000 * 5 * 30


def test_sweep_grid_shape_and_monotone_in_rate() -> None:
    s = fleet.sweep(FleetParams(replicas=10, hosts=2000), rates=(0.005, 0.04))
    g = fleet.sweep_grid(s, "vm_interruptions", "stock")
    assert g.shape == (2, 2) and (g[1] > g[0]).all()


def test_plots_build() -> None:
    from bokeh.layouts import GridPlot, Row

    r = simulate(replicas=10, hosts=1000)
    assert isinstance(fleet.plotting.distributions(r), GridPlot)
    s = fleet.sweep(FleetParams(replicas=5, hosts=1000), rates=(0.01, 0.02))
    assert isinstance(fleet.plotting.sweep_heatmap(s), Row)


@pytest.mark.skipif(not HAVE_DASK, reason="dask[distributed] not installed")
def test_dask_local_cluster_gives_the_same_numbers_as_local() -> None:
    from distributed import Client

    from mfwidgets.fleet.cluster import local_cluster

    params = FleetParams(replicas=40, hosts=5000)
    local = simulate(params)
    start = time.perf_counter()
    with local_cluster() as cluster, Client(cluster) as client:
        assert _same(local, simulate(params, client=client))
        s_local = fleet.sweep(params.replace(replicas=8), rates=(0.01, 0.03))
        s_dask = fleet.sweep(params.replace(replicas=8), rates=(0.01, 0.03), client=client)
        assert all(
            _same(a, b)
            for ra, rb in zip(s_local["results"], s_dask["results"], strict=True)
            for a, b in zip(ra, rb, strict=True)
        )
    assert time.perf_counter() - start < 30
