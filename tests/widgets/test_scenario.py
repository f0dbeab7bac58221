"""Scenario (JSON in, JSON out, clear errors) and ScenarioPlayer, driven from Python as a
learner's clicks would drive them. Expected counters come from the semantics, not from a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mfwidgets as mf
from mfwidgets.model import FolioState, SubpageState
from mfwidgets.model.hstate import HstateCounters
from mfwidgets.widgets import (
    BUILTIN,
    CLOSED_IS_NOT_RELEASED,
    HARD_OFFLINE_1G,
    KEEP_1G,
    Action,
    Scenario,
    ScenarioPlayer,
    Setup,
)
from mfwidgets.widgets.session import BUTTON_OPS, CLICK_MODES, ERROR_KINDS

MF_ONE_RECOVERED = {"total": 1, "ignored": 0, "failed": 0, "delayed": 0, "recovered": 1}

# Per scenario, at the end: (size, hstate counters, folio states, si_addr_lsb of each SIGBUS).
ENDINGS = {
    # Stock: the inject hard-offlines hugepage #0 (SIGBUS lsb 30 to the caller), the load next
    # door gets another lsb 30, hugepage #1 reads fine; ftruncate frees #1 and leaks #0, so
    # nr_hugepages stays 2 and only one is free.
    HARD_OFFLINE_1G.title: ("1G", HstateCounters(2, 1, 0, 0), ["LEAKED", "FREE"], [30, 30]),
    # Keep: one lsb 12 SIGBUS for the inject, both loads read fine; ftruncate dissolves #0
    # (nr_hugepages 2 -> 1) and frees #1.
    KEEP_1G.title: ("1G", HstateCounters(1, 1, 0, 0), ["DISSOLVED", "FREE"], [12]),
    # Keep, 2M x 4: close releases nothing (the mapping holds the memfd), the load still works;
    # munmap drops the last reference: #0 dissolved (4 -> 3), #1..#3 back on the free list.
    CLOSED_IS_NOT_RELEASED.title: (
        "2M",
        HstateCounters(3, 3, 0, 0),
        ["DISSOLVED", "FREE", "FREE", "FREE"],
        [12],
    ),
}


@pytest.mark.parametrize("scenario", list(BUILTIN.values()), ids=list(BUILTIN))
def test_json_round_trip_is_equal(scenario: Scenario, tmp_path: Path) -> None:
    assert Scenario.from_json(scenario.to_json()) == scenario
    path = tmp_path / "scenario.json"
    scenario.save(path)
    assert Scenario.load(path) == scenario
    assert json.loads(path.read_text())["setup"]["size"] == scenario.setup.size


def test_json_is_one_step_a_line() -> None:
    text = CLOSED_IS_NOT_RELEASED.to_json()
    assert '    {"op": "inject", "folio": 0, "subpage": 37, "kind": "software"},\n' in text
    assert '    {"op": "close"},\n' in text
    empty = Scenario(Setup(), [], "nothing")
    assert Scenario.from_json(empty.to_json()) == empty


SETUP = '"setup": {"series": true, "size": "2M", "nr_hugepages": 4, "keep_ue_mapped": true}'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"setup": {', "not valid JSON: Expecting property name"),
        ("[]", "scenario must be a JSON object, not []"),
        ('{"steps": []}', "scenario: missing field 'setup'"),
        ("{" + SETUP + "}", "scenario: missing field 'steps'"),
        ("{" + SETUP + ', "steps": [{"op": "jump"}]}', "steps[0]: unknown op 'jump'"),
        ("{" + SETUP + ', "steps": [{"op": "load", "folio": 0}]}',
         "steps[0]: missing field 'subpage'"),
        ("{" + SETUP + ', "steps": [{"folio": 0}]}', "steps[0]: missing field 'op'"),
        ("{" + SETUP + ', "steps": [{"op": "load", "folio": "0", "subpage": 1}]}',
         'steps[0].folio must be an integer, not "0"'),
        ("{" + SETUP + ', "steps": [{"op": "load", "folio": true, "subpage": 1}]}',
         "steps[0].folio must be an integer, not true"),
        ("{" + SETUP + ', "steps": [{"op": "load", "folio": 0, "subpage": 512}]}',
         "steps[0].subpage = 512 is out of range 0..511"),
        ("{" + SETUP + ', "steps": [{"op": "load", "folio": 4, "subpage": 0}]}',
         "steps[0].folio = 4 is out of range 0..3"),
        ("{" + SETUP + ', "steps": [{"op": "inject", "folio": 0, "subpage": 0}]}',
         "steps[0]: inject needs a kind"),
        ("{" + SETUP + ', "steps": [{"op": "load", "folio": 0, "subpage": 0, "kind": "x"}]}',
         "steps[0]: kind applies to inject only"),
        ("{" + SETUP + ', "steps": [{"op": "close", "folio": 0}]}',
         "steps[0]: close takes no folio"),
        ("{" + SETUP + ', "steps": [{"op": "close", "when": 3}]}',
         "steps[0]: unknown field 'when'"),
        ("{" + SETUP + ', "steps": {}}', "scenario.steps must be a list, not {}"),
        ('{"setup": {"size": "4M"}, "steps": []}', "setup: hugepage size must be 2M or 1G"),
        ('{"setup": {"nr_hugepages": 9}, "steps": []}', "setup: nr_hugepages must be 1..8"),
        ('{"setup": {"nr_hugepages": 2.5}, "steps": []}',
         "setup.nr_hugepages must be an integer, not 2.5"),
        ('{"setup": {"series": false}, "steps": []}', "setup: keep_ue_mapped needs series"),
        ('{"setup": {"version": "5.4"}, "steps": []}',
         "setup: kernel version must be one of 7.3, 6.12, 6.1"),
        ('{"setup": {"version": 6.1}, "steps": []}', "setup.version must be a string, not 6.1"),
        ('{"title": 3, ' + SETUP + ', "steps": []}', "scenario.title must be a string, not 3"),
    ],
)  # fmt: skip
def test_from_json_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError) as e:
        Scenario.from_json(text)
    assert message in str(e.value)


@pytest.mark.parametrize("scenario", list(BUILTIN.values()), ids=list(BUILTIN))
def test_builtin_scenario_plays_to_the_end_with_the_expected_counters(scenario: Scenario) -> None:
    p = ScenarioPlayer(scenario)
    assert p.index == 0 and len(p.steps) == len(scenario.steps) + 1
    for i in range(1, len(p.steps)):
        p._forward.click()
        assert p.index == i
        assert p.step.error is None and p._banner.layout.display == "none"
    assert p._forward.disabled
    size, counters, states, lsbs = ENDINGS[scenario.title]
    snap = p.step.snapshot
    assert snap.hstates[size] == counters
    assert [f.state.name for f in snap.folios] == states
    assert snap.meminfo["HardwareCorrupted"] == 4  # one 4 KiB page, in every scenario
    assert snap.mf_stats == MF_ONE_RECOVERED
    assert [s.si_addr_lsb for s in p.kernel.processes[0].signals] == lsbs
    mf.check_invariants(p.kernel)


def test_closed_is_not_released_until_munmap() -> None:
    p = ScenarioPlayer(CLOSED_IS_NOT_RELEASED)
    closed = p.goto(2)
    assert closed.call == "close(3)"
    assert closed.snapshot.hstates["2M"] == HstateCounters(4, 0, 0, 0)
    assert closed.snapshot.folios[0].state is FolioState.KEPT
    assert "closed is not released" in p._step.value
    load = p.goto(3)
    assert load.access is not None and load.access.ok
    assert list(p._heatmap.marks.loads) == [38]


def test_goto_first_and_last_show_the_right_step() -> None:
    p = ScenarioPlayer(HARD_OFFLINE_1G)
    last = p.goto(4)
    assert last.call == "ftruncate(3, 0)" and p.index == 4 and p._play.value == 4
    assert "step 4 of 4: <code>ftruncate(3, 0)</code>" in p._call.value
    assert "<b>Step 4 of 4</b>" in p._step.value and "leaked" in p._step.value
    # ftruncate clicked no cell: the heatmap goes to the hugepage whose cells changed, #0.
    assert p._heatmap.number == 0
    assert p._heatmap._title.text.startswith("hugepage #0 (1 GiB")
    assert p._heatmap._title.text.endswith("leaked")
    assert p._heatmap.source.data["image"][0][0, 0] == SubpageState.LEAKED
    first = p.goto(0)
    assert first.call == "boot" and p.index == 0 and p._first.disabled and p._back.disabled
    assert (p._heatmap.source.data["image"][0] == SubpageState.IN_USE).all()
    assert "<b>Step 0 of 4</b>" in p._step.value
    assert p.kernel.hstate("1G").free_hugepages == 1  # .kernel is the full-run kernel
    with pytest.raises(IndexError, match="step 5 is not in 0..4"):
        p.goto(5)


def test_play_widget_value_moves_the_step_and_marks_what_it_touched() -> None:
    p = ScenarioPlayer(HARD_OFFLINE_1G)
    assert p._play.max == 4 and p._play.interval == 1000
    p._play.value = 1  # the inject: SIGBUS (lsb 30) to the caller
    assert p.index == 1 and list(p._heatmap.marks.sigbus) == [37]
    assert "madvise(" in p._call.value
    p._play.value = 2  # load next door: SIGBUS again, marks are per step
    assert list(p._heatmap.marks.sigbus) == [38]
    assert "lsb=30" in p._counters.value
    p._play.value = 3  # load from hugepage #1: the heatmap switches to it, a clean load
    assert p._heatmap.number == 1
    assert list(p._heatmap.marks.loads) == [0] and list(p._heatmap.marks.sigbus) == []
    p._back.click()
    assert p.index == 2 and p._heatmap.number == 0 and p._play.value == 2


def test_bad_json_in_the_textarea_shows_the_banner_and_keeps_the_old_scenario() -> None:
    p = ScenarioPlayer(KEEP_1G)
    p.goto(2)
    p._json.value = '{"setup": {}, "steps": [{"op": "jump"}]}'
    p._load_json.click()
    assert "cannot load this scenario: steps[0]: unknown op &#x27;jump&#x27;" in p._banner.value
    assert p.scenario is KEEP_1G and p.index == 2
    assert p._json.value.startswith('{"setup": {}')  # the learner's text stays to be fixed
    p._json.value = "not json"
    p._load_json.click()
    assert "not valid JSON" in p._banner.value and p.scenario is KEEP_1G


def test_deeply_nested_or_huge_json_shows_a_clear_error_at_once() -> None:
    p = ScenarioPlayer(KEEP_1G)
    p._json.value = "[" * 100_001 + "]" * 100_001
    p._load_json.click()
    assert "cannot load this scenario: the text is 200,002 characters long" in p._banner.value
    p._json.value = "[" * 50_000 + "]" * 50_000
    p._load_json.click()
    assert "cannot load this scenario: not a scenario: the JSON is nested too deeply" in (
        p._banner.value
    )
    step = '{"op": "release"}'
    p._json.value = '{"setup": {}, "steps": [' + ", ".join([step] * 1001) + "]}"
    p._load_json.click()
    assert "steps: 1,001 steps; a scenario has at most 1,000" in p._banner.value
    assert p.scenario is KEEP_1G


def test_pasting_good_json_loads_it_and_a_refused_step_shows_in_the_banner() -> None:
    p = ScenarioPlayer()
    twice = Scenario(Setup(), [Action("close"), Action("close")], "close twice")
    p._json.value = twice.to_json()
    p._load_json.click()
    assert p.scenario == twice and p.index == 0 and p._choice.value is None
    assert p._play.max == 2 and p._heatmap.source.data["image"][0].shape == (16, 32)
    p.goto(2)
    assert "EBADF: close: fd 3 is not open" in p._banner.value
    p.goto(1)
    assert p._banner.layout.display == "none"


def test_choosing_a_builtin_loads_it() -> None:
    p = mf.ScenarioPlayer(KEEP_1G)
    p.goto(3)
    p._choice.value = CLOSED_IS_NOT_RELEASED.title
    assert p.scenario is CLOSED_IS_NOT_RELEASED and p.index == 0 and p._play.max == 4
    assert "2 x" not in p._about.value and "4 x 2M hugepages" in p._about.value


_CLICK = st.builds(
    lambda op, folio, subpage, kind: Action(op, folio, subpage, kind if op == "inject" else None),
    st.sampled_from(CLICK_MODES),
    st.integers(0, 1),
    st.integers(0, 511),
    st.sampled_from(ERROR_KINDS),
)


@given(st.lists(st.one_of(_CLICK, st.sampled_from(BUTTON_OPS).map(Action)), max_size=8))
def test_any_valid_scenario_round_trips(steps: list[Action]) -> None:
    scenario = Scenario(Setup(size="2M", nr_hugepages=2), steps, "random")
    assert Scenario.from_json(scenario.to_json()) == scenario
