"""Recorded real-kernel transcripts (mfwidgets/conformance/recordings), replayed on the model.

The kernels built with the keep series (``7.3+v3``: as posted; ``7.3+v3+standin``: with the
project's stand-in for its prerequisite) run the keep scenarios (``conformance/keep.py``) and
are replayed on a model kernel with ``supports_keep_ue_mapped=True``.

Each ``<kernel>.json`` holds the scenarios as they were run (``scenario_defs``) and the
normalized results the guest printed; ``<kernel>.serial.log.xz`` is the raw serial transcript
(every boot of the guest, one after the other). Every scenario is replayed on a stock model
kernel of the kernel's version, boot by boot as the guest ran them, and compared observable by
observable (return value or errno, signals, data, counter deltas, kernel log lines).

Where the model does not have the kernel's version, the replay uses the 7.3 behaviour and the
known differences of ``mfwidgets.conformance.known`` apply, each with its reason and the exact
real value derived from the model's. Everything not listed must match exactly, and every listed
difference must show up in the recording (so the list cannot rot silently).
"""

from __future__ import annotations

import json
import lzma
from typing import Any

import pytest

from mfwidgets.conformance import (
    RECORDINGS,
    harness,
    known,
    model_runner,
    normalize,
    patched,
    report,
    scenarios_of,
)
from mfwidgets.conformance.known import differences, model_version
from mfwidgets.conformance.scenario import boots

DATA = RECORDINGS
KERNELS = sorted(p.stem for p in DATA.glob("*.json"))
MADV = ("A", "madv", "signals")


def load(kernel: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{kernel}.json").read_text())
    return data


def test_every_kernel_is_recorded_with_the_current_scenarios() -> None:
    assert sorted([*harness.KERNELS, *patched.KERNELS]) == KERNELS
    for kernel in KERNELS:
        assert load(kernel)["scenario_defs"] == scenarios_of(kernel), f"{kernel}: record again"


@pytest.mark.parametrize("kernel", KERNELS)
def test_transcript_normalizes_to_recording(kernel: str) -> None:
    """The committed normalized results are what the raw serial log parses to."""
    rec = load(kernel)
    raw = lzma.decompress((DATA / f"{kernel}.serial.log.xz").read_bytes()).decode("utf-8")
    assert raw.count("@@DONE") == len(boots(rec["scenario_defs"])), "a boot did not finish"
    parsed = normalize.parse_transcript(raw, rec["scenario_defs"])
    assert list(parsed["scenarios"]) == [sc["name"] for sc in rec["scenario_defs"]]
    assert parsed["release"] == rec["release"]
    assert parsed["scenarios"] == rec["scenarios"]
    for steps in rec["scenarios"].values():
        assert all(step["ret"] is not None for step in steps), "a step did not report"


@pytest.mark.parametrize("kernel", KERNELS)
def test_model_matches_recording(kernel: str) -> None:
    rec = load(kernel)
    keep = kernel in patched.KERNELS
    model = model_runner.run_all(rec["scenario_defs"], model_version(kernel), keep)
    rows = normalize.compare(rec["scenarios"], model)
    listed = differences(kernel)
    seen = set()
    problems = []
    for row in rows:
        key = (row["scenario"], row["step"], row["observable"])
        if key in listed:
            reason, transform = listed[key]
            seen.add(key)
            if row["match"]:
                problems.append(f"{key}: listed difference ({reason}) did not show up")
            elif transform(row["model"]) != row["real"]:
                problems.append(
                    f"{key}: not the listed difference ({reason}): real {row['real']!r}, "
                    f"model {row['model']!r}, expected real {transform(row['model'])!r}"
                )
        elif not row["match"]:
            problems.append(f"{key}: real {row['real']!r} != model {row['model']!r}")
    problems += [f"{key}: listed but not in the recording" for key in set(listed) - seen]
    assert not problems, "\n".join(problems)


def test_report_shows_the_reason_of_a_known_difference(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a 6.1 model, 6.1 is compared with the 7.3 model: a listed difference is shown
    with its reason, and only when the real value is exactly the listed one."""
    monkeypatch.setattr(known, "VERSIONS", ("7.3", "6.12"))
    rec = load("6.1")
    model = model_runner.run_all(rec["scenario_defs"], known.model_version("6.1"))
    rows = report.build_rows(rec["scenarios"], model, "6.1")
    madv = next(r for r in rows if (r["scenario"], r["step"], r["observable"]) == MADV)
    assert not madv["match"]
    assert madv["accepted"] == known.R_NO_AR
    text = report.Report({"6.1": (rec["release"], "7.3")}, rows).markdown()
    assert f"(known: {known.R_NO_AR})" in text
    wrong = dict(madv, real=[[5, 0, 21]])
    assert known.accepted("6.1", wrong) is None
    monkeypatch.setattr(known, "VERSIONS", ("7.3", "6.12", "6.1"))
    assert known.differences("6.1") == {}  # once the model has 6.1, nothing is accepted


@pytest.mark.parametrize("kernel", sorted(patched.KERNELS))
def test_the_series_selftest_passed_in_the_guest_and_on_the_model(kernel: str) -> None:
    """hugetlb-mfr 2M 8 and 1G 1: exit status 0 and "ok 1 All done" in the guest; the model,
    running the same steps, prints the same lines."""
    rec = load(kernel)
    model = model_runner.run_all(rec["scenario_defs"], model_version(kernel), keep=True)
    for name, pages in (("SELFTEST_2M", 8), ("SELFTEST_1G", 1)):
        (real,) = rec["scenarios"][name]
        assert real["ret"] == 0
        assert "ok 1 All done" in real["data"]
        assert not any(line.startswith("not ok") for line in real["data"])
        assert sum("Received expected and correct SIGBUS" in x for x in real["data"]) == pages
        assert model[name][0]["data"] == real["data"]
