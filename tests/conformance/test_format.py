"""The scenario format, the normalizer and the guest program's build and safety guard."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mfwidgets.conformance import model_runner, normalize, scenario
from mfwidgets.conformance.harness import GUEST_SOURCE, LIBC_A


def test_scenarios_are_valid_json_data() -> None:
    for sc in scenario.SCENARIOS:
        scenario.validate(sc)
        assert json.loads(json.dumps(sc)) == sc
    text = scenario.to_guest_text(scenario.SCENARIOS)
    assert text.startswith("scenario A\nhugepagesize 2097152\nmemfd_create flags=36\n")
    assert "madvise_hwpoison hugepage=0 subpage=3\n" in text


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "x y", "steps": []},
        {"name": "X", "steps": [{"op": "reboot"}]},
        {"name": "X", "steps": [{"op": "load", "pfn": 3}]},
        {"name": "X", "steps": [{"op": "load", "hugepage": -1}]},
        {"name": "X", "steps": [{"op": "close"}, {"op": "close", "id": "close#0"}]},
    ],
)
def test_validate_rejects(bad: scenario.Scenario) -> None:
    with pytest.raises(ValueError):
        scenario.validate(bad)


def test_normalize_line() -> None:
    ctx = normalize.Context("2M")
    ctx.heads = {0: 0x102A00, 1: 0x102800}
    ctx.base = 0x7F026DA00000
    assert ctx.line("clocksource: tsc unstable") is None
    assert (
        ctx.line(
            "Injecting memory failure for pfn 0x102a03 at process virtual address 0x7f026da03000"
        )
        == "Injecting memory failure for pfn PFN[0+3] at process virtual address MAP+0x3000"
    )
    assert (
        ctx.line("MCE: Killing init:88 due to hardware memory corruption fault at 7f026db007ff")
        == "MCE: Killing init:PID due to hardware memory corruption fault at MAP+0x1007ff"
    )
    assert ctx.line("Unpoison: Software-unpoisoned page 0x102805") == (
        "Unpoison: Software-unpoisoned page PFN[1+5]"
    )


def test_model_runner_a_scenario() -> None:
    res = model_runner.run_scenario(scenario.SCENARIO_A)
    by_id = {r["id"]: r for r in res}
    assert by_id["probe_keep_flag"]["ret"] == "EINVAL"
    assert by_id["madv"]["signals"] == [[4, 0x3000, 21]]
    assert by_id["load_poisoned"]["signals"] == [[4, 0x3011, 21]]
    assert by_id["load_other_hugepage"]["data"] == "pattern"
    assert by_id["pread_whole_hugepage"]["ret"] == 3 * 4096
    assert res[-1]["op"] == "close"
    assert res[-1]["counters"] == {"2M.free": 1, "HugePages_Free": 1}


def test_model_runner_refuses_unmodelled_version() -> None:
    from mfwidgets.model.kernel import VERSIONS

    if "6.1" in VERSIONS:
        pytest.skip("6.1 is modelled now")
    with pytest.raises(ValueError):
        model_runner.run_scenario(scenario.SCENARIO_Z, "6.1")


@pytest.mark.skipif(
    shutil.which("gcc") is None or not os.path.exists(LIBC_A), reason="needs gcc and libc6-dev"
)
def test_guest_builds_clean_and_refuses_to_run_on_the_host(tmp_path: Path) -> None:
    out = tmp_path / "init"
    proc = subprocess.run(
        ["gcc", "-O1", "-Wall", "-Werror", "-static", "-o", str(out), str(GUEST_SOURCE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    env = {k: v for k, v in os.environ.items() if k != "HWP_ORACLE_I_AM_A_GUEST"}
    run = subprocess.run(
        [str(out)], capture_output=True, text=True, env=env, timeout=30, check=False
    )
    assert run.returncode == 2
    assert "refusing to run" in run.stderr
    assert "@@" not in run.stdout
