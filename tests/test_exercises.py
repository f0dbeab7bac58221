"""mfwidgets.exercises: per-student instances, checkers that never raise, and model-computed
solutions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import mfwidgets as mf
from mfwidgets import exercises as E

IDS = [f"student{i:02d}" for i in range(40)]
MALFORMED = [None, ..., "twelve", "12", 3.5, True, [1], {"a": 1}, object()]


def _find(**wanted: object) -> E.ExerciseSet:
    """The first instance among many ids whose fields match ``wanted``."""
    for i in range(2000):
        ex = E.make(f"find{i}")
        if all(getattr(ex, k) == v for k, v in wanted.items()):
            return ex
    raise AssertionError(f"no instance with {wanted}")


def _first_where(pred: object) -> E.ExerciseSet:
    for i in range(2000):
        ex = E.make(f"find{i}")
        if pred(ex):  # type: ignore[operator]
            return ex
    raise AssertionError("no such instance")


# -- make() --------------------------------------------------------------------------------------
def test_make_is_deterministic_per_student_id() -> None:
    assert E.make("alice") == E.make("alice")
    assert E.make(" alice ") == E.make("alice")
    assert [E.solution(E.make("alice"), n) for n in E.NAMES] == [
        E.solution(E.make("alice"), n) for n in E.NAMES
    ]


def test_make_varies_across_student_ids() -> None:
    sets = [E.make(i) for i in IDS]
    assert len({dataclasses.astuple(ex)[1:-2] for ex in sets}) == len(
        IDS
    )  # not id, results, answers
    assert {ex.size for ex in sets} == {"2M", "1G"}
    assert {ex.keep for ex in sets} == {True, False}
    assert len({ex.subpage for ex in sets}) > 30
    assert len({ex.helpers for ex in sets}) > 3
    assert {ex.tlb_page_size for ex in sets} == set(E.TLB_PAGE_SIZES)
    answers = {str(E.solution(ex, "read_result")) for ex in sets}
    assert "EIO" in answers and len(answers) > 10


def test_make_rejects_a_missing_id() -> None:
    with pytest.raises(ValueError):
        E.make("  ")
    with pytest.raises(TypeError):
        E.make(42)  # type: ignore[arg-type]


def test_instances_stay_inside_the_hugepage() -> None:
    for sid in IDS:
        ex = E.make(sid)
        nr_pages = ex.hugepage_bytes // mf.PAGE_SIZE
        assert 0 < ex.subpage < nr_pages - 1
        assert 0 <= ex.folio < ex.nr_hugepages
        end = ex.read_offset + ex.read_count
        assert ex.read_offset <= ex.poisoned_offset + mf.PAGE_SIZE
        assert end <= (ex.folio + 1) * ex.hugepage_bytes


def test_question_and_instance_render_with_the_students_numbers() -> None:
    ex = E.make("alice")
    assert "alice" in ex._repr_markdown_()
    for name in E.NAMES:
        assert ex.question(name)._repr_markdown_().startswith("**")
    assert f"{ex.read_offset:#x}" in ex.question("read_result").text
    with pytest.raises(ValueError):
        ex.question("nope")


# -- solutions come from the model -------------------------------------------------------------
@pytest.mark.parametrize("keep", [True, False])
def test_solutions_follow_the_policy(keep: bool) -> None:
    ex = _find(keep=keep, size="2M")
    total = ex.nr_hugepages * mf.SZ_2M
    if keep:
        assert E.solution(ex, "si_addr_lsb") == 12
        assert E.solution(ex, "usable_bytes") == total - mf.PAGE_SIZE
        assert E.solution(ex, "nr_hugepages_after_release") == ex.nr_pool - 1
    else:
        assert E.solution(ex, "si_addr_lsb") == 21
        assert E.solution(ex, "usable_bytes") == total - mf.SZ_2M
        assert E.solution(ex, "nr_hugepages_after_release") == ex.nr_pool


def test_solution_of_a_1g_stock_instance_reports_30() -> None:
    assert E.solution(_find(keep=False, size="1G"), "si_addr_lsb") == 30


def test_read_solution_is_a_short_count_or_eio() -> None:
    short = _first_where(lambda ex: ex.read_offset < ex.poisoned_offset)
    assert E.solution(short, "read_result") == short.poisoned_offset - short.read_offset
    eio = _first_where(lambda ex: ex.read_offset >= ex.poisoned_offset)
    assert E.solution(eio, "read_result") == "EIO"


def test_who_gets_sigbus_follows_early_kill_and_mappings() -> None:
    for sid in IDS:
        ex = E.make(sid)
        expected = ["vmm"] + [
            h.name for h in ex.helpers if h.mce_kill == "early" and not h.unmapped
        ]
        assert E.solution(ex, "who_gets_sigbus") == sorted(expected)


def test_tlb_solution_uses_the_calculator() -> None:
    ex = _find(tlb_page_size="4K", vm_bytes=1 << 40)
    assert E.solution(ex, "tlb_entries") == 268_435_456


def test_solution_rejects_an_unknown_name() -> None:
    with pytest.raises(ValueError):
        E.solution(E.make("alice"), "nope")


# -- checkers ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", E.NAMES)
@pytest.mark.parametrize("sid", IDS[:8])
def test_checker_accepts_the_solution(
    name: str, sid: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = E.make(sid)
    assert E.CHECKERS[name](ex, E.solution(ex, name)) is True
    out = capsys.readouterr().out
    assert out.startswith("✓") and "✗" not in out
    assert ex.results[name] is True


def _wrong(ex: E.ExerciseSet, name: str) -> object:
    right = E.solution(ex, name)
    if name == "who_gets_sigbus":
        return [n for n in ("vmm", *E.HELPER_NAMES) if n not in right] or []
    if name == "read_result":
        return 4096 if right == "EIO" else "EIO"
    return right + 1


@pytest.mark.parametrize("name", E.NAMES)
@pytest.mark.parametrize("sid", IDS[:8])
def test_checker_rejects_a_wrong_answer_with_a_hint(
    name: str, sid: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = E.make(sid)
    assert E.CHECKERS[name](ex, _wrong(ex, name)) is False
    out = capsys.readouterr().out
    assert out.startswith("✗") and "Hint: " in out
    assert ex.results[name] is False


@pytest.mark.parametrize("name", E.NAMES)
@pytest.mark.parametrize("answer", MALFORMED, ids=[repr(a)[:12] for a in MALFORMED])
def test_checker_never_raises_on_a_malformed_answer(
    name: str, answer: object, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = E.make("alice")
    assert E.CHECKERS[name](ex, answer) is False
    out = capsys.readouterr().out
    assert out.startswith("✗") and "Hint: " in out


def test_checker_without_an_exercise_set_prints_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    assert E.check_si_addr_lsb("alice", 12) is False  # type: ignore[arg-type]
    assert "make(" in capsys.readouterr().out


def test_checkers_accept_equivalent_spellings(capsys: pytest.CaptureFixture[str]) -> None:
    ex = E.make("alice")
    lsb = E.solution(ex, "si_addr_lsb")
    assert E.check_si_addr_lsb(ex, float(lsb))
    who = E.solution(ex, "who_gets_sigbus")
    assert E.check_who_gets_sigbus(ex, tuple(reversed([n.upper() for n in who])))
    eio = _first_where(lambda e: E.solution(e, "read_result") == "EIO")
    assert E.check_read_result(eio, " eio ")


def test_hints_name_the_mistake(capsys: pytest.CaptureFixture[str]) -> None:
    keep = _find(keep=True, size="1G")
    E.check_si_addr_lsb(keep, 30)
    assert "stock" in capsys.readouterr().out
    E.check_si_addr_lsb(keep, 4096)
    assert "log2" in capsys.readouterr().out
    stock = _find(keep=False)
    E.check_nr_hugepages_after_release(stock, stock.nr_pool - 1)
    out = capsys.readouterr().out
    assert "release do to a poisoned hugepage of a stock memfd" in out
    assert "leak" not in out  # the hint asks; it does not tell
    E.check_usable_bytes(stock, stock.nr_hugepages * stock.hugepage_bytes - mf.PAGE_SIZE)
    assert "that is what the proposed flag keeps; look again at this memfd's flags." in (
        capsys.readouterr().out
    )


def test_all_correct_and_progress_track_the_last_check(capsys: pytest.CaptureFixture[str]) -> None:
    ex = E.make("alice")
    assert not E.all_correct(ex)
    for name in E.NAMES:
        E.CHECKERS[name](ex, E.solution(ex, name))
    assert E.all_correct(ex)
    assert E.progress(ex).column("last check") == ["✓ right"] * len(E.NAMES)
    E.check_si_addr_lsb(ex, None)
    assert not E.all_correct(ex)


def test_solutions_enabled_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(E.SOLUTIONS_ENV, raising=False)
    assert not E.solutions_enabled()
    monkeypatch.setenv(E.SOLUTIONS_ENV, "1")
    assert E.solutions_enabled()


def test_exercises_module_is_reachable_lazily() -> None:
    assert mf.exercises is E
    assert mf.teaching.tlb_reach("1T", "1G", 1).entries_needed == 1024


def test_a_numpy_array_answer_gets_a_hint_not_an_exception(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ex = E.make("numpy")
    assert E.check_si_addr_lsb(ex, np.array([12, 21])) is False
    out = capsys.readouterr().out
    assert "is not an answer of the right kind" in out
    assert "answer one int such as 12, not a ndarray of 2 values." in out
    assert E.check_read_result(ex, np.zeros(3)) is False
    assert "not a ndarray of 3 values" in capsys.readouterr().out
    right = E.solution(ex, "who_gets_sigbus")
    assert E.check_who_gets_sigbus(ex, np.array(sorted(right))) is True


def test_no_hint_gives_the_answer_away(capsys: pytest.CaptureFixture[str]) -> None:
    """Wrong answers of every kind, for 40 students: the hint never holds the right number,
    nor says which helper is or is not told."""
    for i in range(40):
        ex = E.make(f"student-{i}")
        for name in E.NAMES:
            right = E.solution(ex, name)
            if isinstance(right, list):
                wrongs: list[object] = [["vmm"], ["vmm", "backup", "monitor"], []]
            elif isinstance(right, str):
                wrongs = [4096, 0]
            else:
                wrongs = [right + 1, right - 1, right * 2, 0, 4096]
            for wrong in wrongs:
                if wrong == right:
                    continue
                E.CHECKERS[name](ex, wrong)
                hint = capsys.readouterr().out.split("Hint: ", 1)[-1]
                if isinstance(right, int) and right > 64:
                    assert f"{right:,}" not in hint and str(right) not in hint, (name, hint)
                assert "gets BUS_MCEERR_AO now" not in hint and "hears nothing" not in hint
