"""Benchmark: host-years simulated per second by mfwidgets.fleet on one core, and the speed-up
of a 2-worker Dask LocalCluster on the same workload, measured in the same run.

    .venv/bin/python benchmarks/bench_fleet.py [--quick] [--no-dask]

One core: the vectorized simulator is single-threaded numpy (set OMP/OPENBLAS threads to 1 to
be strict). The cluster is started before timing; its start-up time is printed apart.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

from mfwidgets import fleet  # noqa: E402


def timed(params: fleet.FleetParams, client: object = None) -> tuple[float, fleet.FleetResult]:
    start = time.perf_counter()
    result = fleet.simulate(params, client=client)
    return time.perf_counter() - start, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="a small workload (CI smoke test)")
    ap.add_argument("--no-dask", action="store_true", help="skip the LocalCluster part")
    args = ap.parse_args()
    replicas = 64 if args.quick else 2000
    params = fleet.FleetParams(replicas=replicas)  # 10,000 hosts x 5 years, both policies
    fleet.consequence_table("stock", "1G"), fleet.consequence_table("keep", "1G")  # warm up
    timed(params.replace(replicas=16))
    seconds, local = timed(params)
    rate = local.host_years / seconds
    print(
        f"workload: {params.hosts:,} hosts x {params.years:g} years x {replicas} replicas "
        f"= {local.host_years:,.0f} host-years, policies {', '.join(params.policies)}"
    )
    print(f"one core: {seconds:.2f} s, {rate:,.0f} host-years/s")
    if args.no_dask or importlib.util.find_spec("distributed") is None:
        print("dask: skipped")
        return
    from distributed import Client

    from mfwidgets.fleet.cluster import local_cluster

    start = time.perf_counter()
    with local_cluster(2) as cluster, Client(cluster) as client:
        client.run(lambda: fleet.consequence_table("stock", "1G"))
        client.run(lambda: fleet.consequence_table("keep", "1G"))
        startup = time.perf_counter() - start
        timed(params.replace(replicas=32), client)  # warm the workers
        d_seconds, remote = timed(params, client)
    same = all(
        np.array_equal(local.values[p][m], remote.values[p][m])
        for p in local.values
        for m in local.values[p]
    )
    print(
        f"LocalCluster, 2 workers x 1 thread: start-up {startup:.2f} s, run {d_seconds:.2f} s, "
        f"{local.host_years / d_seconds:,.0f} host-years/s"
    )
    print(f"speed-up with 2 workers: {seconds / d_seconds:.2f}x; identical numbers: {same}")


if __name__ == "__main__":
    main()
