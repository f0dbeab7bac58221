"""FleetExplorer: controls from FleetParams metadata; a change reruns; a bad value shows EINVAL;
and importing mfwidgets.fleet loads no UI, plotting or Dask module."""

from __future__ import annotations

import json
import subprocess
import sys

from mfwidgets import fleet


def test_explorer_reruns_on_slider_change_and_exposes_result() -> None:
    ex = fleet.FleetExplorer(replicas=10, hosts=2000)
    assert ex.result.params.hosts == 2000
    ex._controls["hugepage_size"].value = "2M"
    assert ex.params.hugepage_size == "2M" and ex.result.params.hugepage_size == "2M"
    assert "VM interruptions" in ex._table.value and ex._banner.value == ""


def test_explorer_shows_einval_for_an_impossible_combination() -> None:
    ex = fleet.FleetExplorer(replicas=5, hosts=1000)
    ex._controls["memory_per_host_gib"].value = 64  # the 128 GiB VMs no longer fit... others do
    ex._controls["memory_per_host_gib"].value = 1  # no VM fits at all
    assert "EINVAL" in ex._banner.value and ex.params.memory_per_host_gib == 64


def test_importing_fleet_loads_no_ui_plotting_or_dask() -> None:
    code = (
        "import json, sys, mfwidgets.fleet\n"
        "bad = ('ipywidgets', 'bokeh', 'traitlets', 'IPython', 'dask', 'distributed')\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(bad))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
