"""Workload (the pure simulation) and WorkloadRunner (its widget), driven from Python."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

import mfwidgets as mf
from mfwidgets.widgets import Workload, WorkloadParams, WorkloadRunner
from mfwidgets.widgets.workload import COUNTERS, PATTERNS, usable_bytes

SUBPAGE = 37
OFFSET = SUBPAGE * mf.PAGE_SIZE + 100  # a byte inside subpage 37 of hugepage #0


def quiet(**kw: object) -> Workload:
    """No random errors: only the ones a test injects."""
    return Workload(WorkloadParams(**{"ue_rate": 0.0, **kw}))  # type: ignore[arg-type]


# -- params ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("pattern", "zigzag"),
        ("loads_per_tick", 0),
        ("loads_per_tick", 100_001),
        ("loads_per_tick", 1.5),
        ("loads_per_tick", True),
        ("ue_rate", -0.1),
        ("ue_rate", 50.5),
        ("ue_rate", "0.5"),
        ("hot_fraction", 0.0),
        ("hot_fraction", 1.01),
        ("nr_hugepages", 0),
        ("nr_hugepages", 5),
        ("seed", -1),
    ],
)
def test_params_reject_a_bad_value_naming_the_field(field: str, bad: object) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: "):
        WorkloadParams(**{field: bad})  # type: ignore[arg-type]


def test_params_fields_carry_a_description_and_bounds_or_choices() -> None:
    for f in dataclasses.fields(WorkloadParams):
        assert f.metadata["doc"]
        assert ("choices" in f.metadata) != ("bounds" in f.metadata), f.name
    p = WorkloadParams()
    assert (p.pattern, p.loads_per_tick, p.ue_rate, p.nr_hugepages) == ("uniform", 10_000, 0.5, 1)
    p.check()


def test_workload_module_imports_no_ui_library() -> None:
    path = Path(mf.__file__).parent / "widgets" / "workload.py"
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    assert not {n.split(".")[0] for n in names} & {"ipywidgets", "bokeh", "traitlets", "IPython"}


# -- the simulation ----------------------------------------------------------------------------


def test_same_seed_same_run_and_different_seeds_differ() -> None:
    def run(seed: int) -> tuple[dict[str, dict[str, float]], list[object]]:
        wl = Workload(WorkloadParams(ue_rate=8.0, pattern="hot set", hot_fraction=0.05, seed=seed))
        ticks = [wl.tick() for _ in range(5)]
        for k in wl.kernels.values():
            k.check()
        return wl.totals(), ticks

    assert run(3) == run(3)
    assert run(3)[0] != run(4)[0]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_without_errors_every_load_is_good_and_nothing_dies(pattern: str) -> None:
    wl = quiet(pattern=pattern, loads_per_tick=5_000, nr_hugepages=2)
    for _ in range(3):
        wl.tick()
    for policy, t in wl.totals().items():
        assert set(t) == set(COUNTERS)
        assert t["ticks"] == 3 and t["loads_issued"] == t["good_loads"] == 15_000, policy
        assert t["sigbus"] == t["vm_deaths"] == t["loads_dropped"] == t["hardware_ues"] == 0
        assert t["usable_bytes"] == 2 * mf.SZ_1G and t["usable_fraction"] == 1.0


def test_hot_set_sends_about_90_percent_of_loads_to_its_fraction() -> None:
    wl = quiet(pattern="hot set", hot_fraction=0.01)
    offsets = wl._draw_offsets()
    share = float(np.mean(offsets < 0.01 * mf.SZ_1G))
    assert 0.88 < share < 0.92
    assert offsets.min() >= 0 and offsets.max() < mf.SZ_1G and not (offsets % 8).any()


def test_a_consumed_ue_costs_stock_the_hugepage_and_keep_one_subpage() -> None:
    # The sequential scan reads subpages 0, 1, 2, ... in the first tick.
    wl = quiet(pattern="sequential", loads_per_tick=100)
    wl.inject_ue(OFFSET)
    out = wl.tick()
    for policy, lsb in (("stock", 30), ("keep", 12)):
        r = out[policy]
        assert r.died and r.issued == SUBPAGE + 1 and r.dropped == 100 - SUBPAGE - 1
        assert r.sigbus == (SUBPAGE * mf.PAGE_SIZE,)
        assert [s.si_addr_lsb for s in r.signals] == [lsb]
    t = wl.totals()
    assert t["stock"]["usable_bytes"] == 0 and t["stock"]["vm_deaths"] >= 1
    assert t["keep"]["usable_bytes"] == mf.SZ_1G - 4096
    snaps = {p: k.snapshot() for p, k in wl.kernels.items()}
    assert snaps["stock"].folios[0].state is mf.FolioState.OFFLINED
    assert snaps["keep"].folios[0].state is mf.FolioState.KEPT
    # The restarted guests: stock's dies on its first load, keep's scan moves on unharmed.
    again = wl.tick()
    assert again["stock"].died and again["stock"].issued == 1
    assert not again["keep"].died and again["keep"].good == 100
    assert wl.guests["keep"].alive and wl.guests["stock"].alive  # restarted
    assert wl.totals()["stock"]["vm_deaths"] == 2


def test_a_latent_ue_counts_as_lost_before_anyone_reads_it() -> None:
    wl = quiet(nr_hugepages=2)
    wl.inject_ue(mf.SZ_1G + OFFSET)
    for policy, t in wl.totals().items():
        assert t["usable_bytes"] == 2 * mf.SZ_1G - 4096, policy
        assert t["hardware_ues"] == 1
    assert usable_bytes(wl.kernels["stock"].snapshot(), "no such memfd") == 0


def test_inject_ue_rejects_an_offset_outside_the_guest() -> None:
    wl = quiet()
    for bad in (-1, mf.SZ_1G, True):
        with pytest.raises(ValueError, match="inject_ue"):
            wl.inject_ue(bad)  # type: ignore[arg-type]


# -- the widget --------------------------------------------------------------------------------


def test_step_button_updates_the_counts_and_both_heatmaps() -> None:
    wr = mf.WorkloadRunner(ue_rate=0.0, pattern="sequential", loads_per_tick=1000)
    assert isinstance(wr, WorkloadRunner)
    assert wr.kernels == (wr.workload.kernels["stock"], wr.workload.kernels["keep"])
    assert wr.kernel is wr.kernels[1] and wr.kernel.supports_keep_ue_mapped
    before = wr._counts.value
    wr.workload.inject_ue(OFFSET)
    wr._buttons[0].click()  # "step 1 tick"
    assert wr._counts.value != before and "lost: 1 GiB" in wr._counts.value
    assert "lost: 4 KiB" in wr._counts.value and "lsb=30" in wr._tick.value
    stock, keep = (h.source.data["image"][0] for h in wr._heatmaps)
    for image, healthy in ((stock, mf.SubpageState.OFFLINED), (keep, mf.SubpageState.IN_USE)):
        assert image.ravel()[SUBPAGE] == mf.SubpageState.HWPOISON_HW
        assert int((image != healthy).sum()) == 1
    for h in wr._heatmaps:
        assert list(h.marks.sigbus) == [SUBPAGE]
    wr._buttons[1].click()  # "step 10 ticks"
    assert wr.workload.ticks == 11


def test_play_ticks_forward_and_stop_does_not() -> None:
    wr = WorkloadRunner(loads_per_tick=100)
    wr._play.value = 1
    wr._play.value = 2
    wr._play.value = 0  # the stop button rewinds
    assert wr.workload.ticks == 2


def test_a_control_change_resets_and_an_invalid_setting_shows_the_banner() -> None:
    wr = WorkloadRunner(loads_per_tick=100)
    wr.step(3)
    assert wr._controls["hot_fraction"].disabled
    wr._controls["pattern"].value = "hot set"
    assert wr.workload.ticks == 0 and wr.params.pattern == "hot set"
    assert not wr._controls["hot_fraction"].disabled
    assert wr._banner.layout.display == "none"
    assert not wr.set(ue_rate=100.0)
    assert wr._banner.layout.display != "none" and "ue_rate" in wr._banner.value
    assert wr.params.ue_rate == 0.5 and wr._controls["ue_rate"].value == 0.5
    assert wr.set(seed=7) and wr._controls["seed"].value == 7
    assert wr._banner.layout.display == "none"
    assert not wr.set(colour="red")  # not a parameter: a message too, no traceback
    assert "colour" in wr._banner.value


def test_a_long_session_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guest dies and is rebooted on most ticks; exited processes and old events leave
    the kernel (processes: the newest ``exited_kept``; the trace: a ring), counters do not."""
    monkeypatch.setattr(mf.Kernel, "exited_kept", 8)
    w = Workload(WorkloadParams(ue_rate=50.0, seed=1))
    for _ in range(120):
        w.tick()
    totals = w.totals()
    for policy, k in w.kernels.items():
        assert totals[policy]["vm_deaths"] > 20, policy  # many guests came and went
        assert len(k.processes) <= 2 * 8 + 1, policy  # the live guest and the newest exited
        assert w.guests[policy] in k.processes and w.guests[policy].alive
