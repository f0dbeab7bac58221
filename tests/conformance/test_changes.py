"""changes.py: the recorded kernels against each other and against the model, grouped.

The exact results come from the committed recordings of 6.1 and 6.12 (scenarios A, M and Z);
docs/kernel.md R3 is the source of the groups.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mfwidgets.conformance import changes, load_recording, recorded_kernels
from mfwidgets.conformance.normalize import empty_step

OLD_SCENARIOS = {"A", "M", "Z"}

#: Every observable that differs between real 6.1 and real 6.12, with its group.
DIFF_6_1_TO_6_12 = {
    ("A", "madv", "signals"): "caller_sigbus",
    ("A", "madv", "dmesg"): "caller_sigbus",
    ("A", "madv", "counters"): "node_stats",
    **{
        ("A", step, obs): "read"
        for step in (
            "pread_healthy_0",
            "pread_healthy_2",
            "pread_healthy_4",
            "pread_healthy_last",
            "pread_whole_hugepage",
        )
        for obs in ("ret", "data")
    },
    ("M", "corrupt_first", "counters"): "node_stats",
    ("M", "corrupt_second", "counters"): "node_stats",
    ("M", "corrupt_second", "dmesg"): "dmesg_wording",
    ("M", "corrupt_same", "dmesg"): "dmesg_wording",
    **{
        ("M", step, "dmesg"): "dmesg_wording"
        for step in (
            "unpoison_tail_mapped",
            "unpoison_head_mapped",
            "unpoison_head_open",
            "unpoison_tail_released",
            "unpoison_head_released",
        )
    },
    ("Z", "corrupt_free", "counters"): "node_stats",
    ("Z", "corrupt_free_again", "dmesg"): "dmesg_wording",
}


def _pair(old: str, new: str) -> changes.KernelPair:
    return changes.diff_recordings(load_recording(old), load_recording(new))


def test_6_1_to_6_12_differences_are_exactly_the_known_ones_in_their_groups() -> None:
    pair = _pair("6.1", "6.12")
    found = {
        (d.scenario, d.step, d.observable): d.group
        for d in pair.differences
        if d.scenario in OLD_SCENARIOS
    }
    assert found == DIFF_6_1_TO_6_12
    by_key = {(d.scenario, d.step, d.observable): d for d in pair.differences}
    madv = by_key[("A", "madv", "signals")]
    assert (madv.old, madv.new, madv.call) == (
        [],
        [[4, 0x3000, 21]],
        "madvise_hwpoison(hugepage=0, subpage=3)",
    )
    whole = by_key[("A", "pread_whole_hugepage", "ret")]
    assert (whole.old, whole.new, whole.call) == ("EIO", 12288, "pread(offset=0, length=0x200000)")
    wording = by_key[("M", "corrupt_same", "dmesg")]
    assert wording.old[1] == "Memory failure: PFN[0+2]: already hardware poisoned"
    assert wording.new[1] == (
        "Memory failure: PFN[0+2]: recovery action for already poisoned page: Failed"
    )
    stats = by_key[("M", "corrupt_second", "counters")]
    assert stats.old == {"HardwareCorrupted": 4}
    assert stats.new == {"HardwareCorrupted": 4, "mf.failed": 1, "mf.total": 1}


def test_6_1_to_6_12_compares_every_step_of_the_common_scenarios() -> None:
    pair = _pair("6.1", "6.12")
    assert (pair.old, pair.new) == ("6.1", "6.12")
    assert (pair.old_release, pair.new_release) == ("6.1.0-57-amd64", "6.12.117+deb13-amd64")
    rec = load_recording("6.1")
    steps = sum(len(sc["steps"]) for sc in rec["scenario_defs"] if sc["name"] in OLD_SCENARIOS)
    assert steps == 36 + 15 + 8  # A, M and Z as recorded
    assert pair.compared >= steps * 5


@pytest.mark.skipif("7.3" not in recorded_kernels(), reason="no 7.3 recording yet")
def test_6_12_and_7_3_behaved_identically() -> None:
    """docs/kernel.md R3: 6.12.117 and 7.3.4 behaved identically in all observed cases."""
    pair = _pair("6.12", "7.3")
    assert pair.compared > 0
    assert pair.differences == ()


def test_version_changes_pairs_each_recorded_kernel_with_the_next() -> None:
    vc = changes.version_changes()
    kernels = recorded_kernels()
    assert vc.kernels == tuple(kernels)
    assert [(p.old, p.new) for p in vc.pairs] == list(zip(kernels, kernels[1:], strict=False))
    read = [d for _, d in vc.differences("read") if d.scenario in OLD_SCENARIOS]
    assert len(read) == 10
    with pytest.raises(ValueError, match="no group"):
        vc.differences("nonsense")


def test_one_kernel_alone_has_nothing_to_compare() -> None:
    vc = changes.version_changes(["6.12"])
    assert vc.pairs == ()
    assert "nothing to compare yet" in repr(vc)
    assert "no difference of this kind" in str(vc.evidence("read"))


def test_the_model_of_7_3_differs_from_6_1_exactly_where_real_6_12_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no 6.1 in the model, 6.1 is compared with the 7.3 model; every mismatch is a place
    where real 6.12 (and 7.3, the newest recorded kernel the model has) differs from real 6.1 and
    the model does what they did."""
    monkeypatch.setattr(changes.known, "VERSIONS", ("7.3", "6.12"))
    check = changes.check_kernel("6.1")
    assert check.model_version == "7.3"
    old = [m for m in check.mismatches if m.difference.scenario in OLD_SCENARIOS]
    keys = {(m.difference.scenario, m.difference.step, m.difference.observable) for m in old}
    assert keys == set(DIFF_6_1_TO_6_12)
    assert {m.explained_by for m in old} == {"7.3"}
    assert {(m.kernel, m.model_version) for m in old} == {("6.1", "7.3")}
    text = changes.check_views.counts(changes.Conformance((check,), {})).text
    assert "7.3 (the model has no 6.1)" in text
    assert "the kernel changed there" in text


def test_6_12_matches_its_model_on_every_observable() -> None:
    check = changes.check_kernel("6.12")
    assert check.model_version == "6.12"
    assert check.mismatches == ()
    assert check.counts["A"][0] == check.counts["A"][1] > 0
    assert check.matched == check.total


def test_a_mismatch_of_a_modelled_kernel_is_never_explained_away() -> None:
    explain = changes._explainer("6.12", load_recording("6.12"), {"6.1": load_recording("6.1")})
    assert explain("A", "pread_healthy_0", "ret", "EIO") is None


def test_conformance_renders_counts_and_mismatches() -> None:
    conf = changes.conformance()
    assert [c.kernel for c in conf.checks] == recorded_kernels()
    assert set(conf.scenarios) >= OLD_SCENARIOS
    assert conf.about["A"].startswith("2M, ")
    html = conf._repr_html_()
    assert "<table" in html and "A" in html
    assert "Every recorded observable" in str(conf.mismatches()) or "<table" in (
        conf.mismatches().html
    )


def test_side_by_side_shows_each_step_real_and_model() -> None:
    out = changes.side_by_side("6.12", "Z")
    assert "real 6.12" in out.html and "model 6.12" in out.html
    assert "corrupt_free_again" in out.text
    assert "recovery action for free huge page: Recovered" in out.text
    with pytest.raises(ValueError, match="choose one of A, "):
        changes.side_by_side("6.12", "Q")
    with pytest.raises(ValueError, match="no recording"):
        changes.side_by_side("5.10", "A")


def _step(op: str, **values: Any) -> dict[str, Any]:
    return {**empty_step({"op": op}, 0), **values}


@pytest.mark.parametrize(
    ("op", "obs", "old", "new", "group"),
    [
        ("madvise_hwpoison", "signals", {}, {"signals": [[4, 0x3000, 21]]}, "caller_sigbus"),
        (
            "madvise_hwpoison",
            "dmesg",
            {"dmesg": ["x"]},
            {"dmesg": ["Memory failure: P: Sending SIGBUS to init:PID due to …", "x"]},
            "caller_sigbus",
        ),
        ("load", "signals", {"signals": [[5, 0, 21]]}, {"signals": [[5, 0x3000, 21]]}, "si_addr"),
        ("pread", "ret", {"ret": "EIO"}, {"ret": 64}, "read"),
        ("read", "ret", {"ret": "EIO"}, {"ret": 12288}, "read"),
        ("lseek", "ret", {"ret": 0x403000}, {"ret": 0x405000}, "read"),
        ("memfd_create", "ret", {"ret": "EINVAL"}, {"ret": "fd"}, "memfd_flags"),
        ("memfd_probe", "ret", {"ret": "EINVAL"}, {"ret": "fd"}, "memfd_flags"),
        (
            "mce_srao",
            "dmesg",
            {"dmesg": ["x"]},
            {"dmesg": ["Memory failure: P: Sending SIGBUS to init:PID due to …", "x"]},
            "dmesg_wording",
        ),
        (
            "corrupt_pfn",
            "ret",
            {"ret": "EBUSY", "dmesg": ["M: P: recovery action for free huge page: Failed"]},
            {"ret": 0, "dmesg": ["M: P: recovery action for free huge page: Recovered"]},
            "free_hugepage",
        ),
        ("corrupt_pfn", "dmesg", {"dmesg": ["a"]}, {"dmesg": ["b"]}, "dmesg_wording"),
        ("close", "counters", {}, {"counters": {"mf.total": 1}}, "node_stats"),
        ("close", "counters", {}, {"counters": {"2M.free": 1}}, "other"),
        ("load", "signals", {}, {"signals": [[4, 0, 21]]}, "other"),
        ("munmap", "ret", {"ret": 0}, {"ret": "EINVAL"}, "other"),
    ],
)
def test_classify(op: str, obs: str, old: dict[str, Any], new: dict[str, Any], group: str) -> None:
    assert changes.classify(op, obs, _step(op, **old), _step(op, **new)) == group


def test_only_steps_run_alike_are_compared() -> None:
    """A scenario recorded on one kernel only is noted, not compared; where the definitions
    part, the comparison stops (the state may differ after that)."""
    old = copy.deepcopy(load_recording("6.1"))
    new = copy.deepcopy(load_recording("6.12"))
    z_new = next(sc for sc in new["scenario_defs"] if sc["name"] == "Z")
    z_new["steps"][6] = {"op": "corrupt_pfn", "id": "corrupt_free", "hugepage": 0, "subpage": 8}
    extra = {"name": "EXTRA", "steps": [{"op": "counters"}]}
    new["scenario_defs"].append(extra)
    new["scenarios"]["EXTRA"] = [empty_step({"op": "counters"}, 0)]
    new["scenarios"]["M"][-1]["ret"] = "EIO"  # a difference no group explains
    pair = changes.diff_recordings(old, new)
    assert "scenario EXTRA: recorded on 6.12 only" in pair.notes
    assert any(n.startswith("scenario Z: the two recordings ran different steps from step 6")
               for n in pair.notes)  # fmt: skip
    assert not [d for d in pair.differences if d.scenario == "Z"]
    other = [d for d in pair.differences if d.group == "other"]
    assert [(d.scenario, d.step, d.old, d.new) for d in other] == [
        ("M", "unpoison_head_released", 0, "EIO")
    ]


def test_values_are_described_in_words_and_escaped_in_html() -> None:
    d = changes.views.describe
    assert d("load", "signals", [[4, 0x3011, 21]]) == ["SIGBUS BUS_MCEERR_AR at MAP+0x3011, lsb 21"]
    assert d("load", "signals", []) == ["no SIGBUS"]
    assert d("pread", "ret", 12288) == ["12,288 bytes"]
    assert d("close", "counters", {"HardwareCorrupted": -8, "2M.free": 1}) == [
        "HardwareCorrupted -8 kB, 2M.free +1"
    ]
    assert d("pread", "data", "pattern") == ["the bytes written (intact)"]
    assert d("memfd_create", "ret", "fd") == ["a new fd"]
    html = changes.views.value_html("x", "dmesg", ["<b>"], [])
    assert "&lt;b&gt;" in html and "<b>&lt;b&gt;</b>" in html
