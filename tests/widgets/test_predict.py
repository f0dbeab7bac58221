"""Predict, run, reveal: no answer shows before a prediction is locked in."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import mfwidgets as mf
from mfwidgets.model.trace import EventKind, MFMsg, MFResult, TraceEvent
from mfwidgets.predictions import PROMPTS
from mfwidgets.widgets.predict import LOCKED_NOTE, Prediction

# Stand-ins with the attributes a classification reads: what the model returns, reduced to
# the fields that decide the choice.
Access = SimpleNamespace
SigInfo = SimpleNamespace
Outcome = SimpleNamespace


class Table:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def column(self, name: str) -> list[Any]:
        return [r[name] for r in self.rows]


def flags_table(*, stock_fails: bool, series_needs_hugetlb: bool) -> Table:
    rows = []
    for flags in ("MFD_MF_KEEP_UE_MAPPED", "MFD_HUGETLB | MFD_MF_KEEP_UE_MAPPED"):
        series_fails = series_needs_hugetlb and "MFD_HUGETLB" not in flags
        rows.append(
            {
                "flags": flags,
                "stock kernel": "EINVAL: unknown" if stock_fails else "fd 3",
                "kernel with the series": "EINVAL: needs MFD_HUGETLB" if series_fails else "fd 3",
            }
        )
    return Table(
        [{"flags": "MFD_HUGETLB", "stock kernel": "fd 3", "kernel with the series": "fd 3"}, *rows]
    )


class ConsequenceRows:
    def __init__(self, si_code: str) -> None:
        self.si_code = si_code

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"state": "clean", "detect": "scrub", "si_code": "BUS_MCEERR_AO"},
            {"state": "other", "detect": "scrub", "si_code": self.si_code},
        ]


def Fleet(**means: float) -> SimpleNamespace:  # noqa: N802 - reads like the result it fakes
    return SimpleNamespace(
        values={p: {"vm_interruptions": np.array([m])} for p, m in means.items()}
    )


def sweep(*, per_2m: tuple[int, int], per_1g: tuple[int, int]) -> dict[str, Any]:
    def cell(interruptions: int, lost: int) -> SimpleNamespace:
        stock = {
            "vm_interruptions": np.array([interruptions]),
            "guest_lost_bytes": np.array([lost]),
        }
        return SimpleNamespace(values={"stock": stock})

    return {"sizes": ["2M", "1G"], "results": [[cell(*per_2m), cell(*per_1g)]]}


def Checks(  # noqa: N802 - reads like the Conformance it fakes
    counts: dict[str, tuple[int, int]], differing: Sequence[tuple[str, str]] = ()
) -> SimpleNamespace:
    mismatches = tuple(
        SimpleNamespace(difference=SimpleNamespace(scenario=sc, step=st)) for sc, st in differing
    )
    return SimpleNamespace(
        checks=[
            SimpleNamespace(kernel=k, matched=m, total=t, mismatches=mismatches)
            for k, (m, t) in counts.items()
        ]
    )


def keep_signal() -> mf.SigInfo:
    k = mf.Kernel(hugepages={"1G": 1}, supports_keep_ue_mapped=True)
    vmm = k.spawn("vmm", handle_sigbus=True)
    fd = vmm.memfd_create("guest", mf.MFD_HUGETLB | mf.MFD_HUGE_1GB | mf.MFD_MF_KEEP_UE_MAPPED)
    vmm.ftruncate(fd, mf.SZ_1G)
    addr = vmm.mmap(mf.SZ_1G, mf.PROT_READ | mf.PROT_WRITE, mf.MAP_SHARED, fd)
    vmm.madvise(addr + 37 * mf.PAGE_SIZE, mf.PAGE_SIZE, mf.MADV_HWPOISON)
    return vmm.signals[-1]


def test_the_reveal_stays_hidden_until_a_prediction_is_locked_in() -> None:
    q = mf.predict("00-lsb")
    reveal = q.reveal(keep_signal())
    assert LOCKED_NOTE in reveal.value
    assert PROMPTS["00-lsb"].why not in reveal.value
    assert q.record() == {"key": "00-lsb", "predicted": None, "right": None}
    q.lock(2)  # "30: 1 GiB lost"
    assert "✗ Reveal." in reveal.value and "the model: 12: 4 KiB lost." in reveal.value
    assert PROMPTS["00-lsb"].why in reveal.value
    assert q.record() == {"key": "00-lsb", "predicted": "30: 1 GiB lost", "right": False}


def test_a_right_prediction_is_told_so_and_cannot_be_changed() -> None:
    q = mf.predict("00-lsb")
    q.lock(0)
    q.lock(2)  # locked in: a second choice changes nothing
    reveal = q.reveal(keep_signal())
    assert "✓ Reveal." in reveal.value and "Right: 12: 4 KiB lost." in reveal.value
    assert q.record()["right"] is True


def test_the_button_locks_in_the_chosen_option() -> None:
    q = Prediction("03-close")
    assert q._lock.disabled
    q._choice.value = 0
    assert not q._lock.disabled
    q._lock.click()
    assert q.locked and q._choice.disabled and q.predicted == "same"


def test_without_javascript_the_reveal_is_folded_away() -> None:
    bundle = mf.predict("03-read")._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    text = bundle["text/html"]
    assert "<details><summary>Reveal (after you have predicted)</summary>" in text
    assert text.index("<details>") < text.index(PROMPTS["03-read"].why)


@pytest.mark.parametrize(
    ("key", "actual", "value"),
    [
        ("03-who", {"vmm": [1], "watcher": [1], "bystander": []}, frozenset({"vmm", "watcher"})),
        ("03-read", b"x" * (3 * 4096), "short"),
        ("03-read", b"", "nothing"),
        ("03-read", b"x" * (2 << 20), "all"),
        ("03-close", (2, 2), "same"),
        ("03-close", (2, 1), "fewer"),
        ("01-loss", Table([{"si_addr_lsb": 30}, {"si_addr_lsb": 12}]), (30, 12)),
        ("01-rest", Access(ok=False, signal=SigInfo(si_addr_lsb=30)), 30),
        ("01-rest", Access(ok=True, signal=None), "data"),
        ("01-tlb", (268_435_456, 1_024), (100_000_000, 1_000)),
        ("01-tlb", (262_144, 1), (100_000, 1)),
        (
            "02-flags",
            flags_table(stock_fails=True, series_needs_hugetlb=True),
            ("all", "without MFD_HUGETLB"),
        ),
        ("02-flags", flags_table(stock_fails=False, series_needs_hugetlb=False), ("none", "none")),
        ("02-ftruncate", Outcome(ok=False, errno=22), "EINVAL"),
        ("02-ftruncate", Outcome(ok=False, errno=12), "ENOMEM"),
        ("02-ftruncate", Outcome(ok=True), "ok"),
        ("02-siginfo", (SigInfo(si_addr=0x25000, si_addr_lsb=12), 0x25000), ("page", 12)),
        ("02-siginfo", (SigInfo(si_addr=0, si_addr_lsb=30), 0x25000), ("hugepage", 30)),
        ("02-stock-range", SigInfo(si_addr_lsb=30), 30),
        (
            "02-pread",
            (Outcome(ok=True, value=b"x" * 4096), Outcome(ok=False, errno=5)),
            (4096, "EIO"),
        ),
        ("04-injected", Access(ok=True, signal=None), "data"),
        (
            "04-real",
            (Access(ok=False, signal=SigInfo(si_addr_lsb=12)), Access(ok=True)),
            (12, "data"),
        ),
        (
            "04-again",
            (
                Access(ok=False, signal=SigInfo(si_addr_lsb=12)),
                [
                    TraceEvent(
                        seq=41,
                        step=9,
                        kind=EventKind.MEMORY_FAILURE,
                        mf_type=MFMsg.ALREADY_POISONED,
                        mf_result=MFResult.FAILED,
                    )
                ],
            ),
            (12, True),
        ),
        ("04-close", (4, 4), "same"),
        ("04-reused", [1, 0], (1, 0)),
        ("06-second", ConsequenceRows("-"), "no signal"),
        ("06-second", ConsequenceRows("BUS_MCEERR_AO"), "BUS_MCEERR_AO"),
        ("06-fleet", Fleet(stock=554.8, keep=0.0), (100, 0)),
        ("06-fleet", Fleet(stock=5_548.0, keep=0.0), (1_000, 0)),
        ("06-sweep", sweep(per_2m=(555, 555 * 2**21), per_1g=(555, 555 * 2**30)), "smaller"),
        ("06-sweep", sweep(per_2m=(100, 100 * 2**30), per_1g=(555, 555 * 2**30)), "fewer"),
        ("07-match", Checks({"6.1": (10, 10), "6.12": (10, 10)}), (True, True)),
        ("07-match", Checks({"6.1": (9, 10), "6.12": (10, 10)}), (True, False)),
        (
            "07-keep-c",
            Checks({"7.3+v3": (9, 10)}, [("C", "poisoned_page_reused"), ("K", "x")]),
            frozenset({"poisoned_page_reused"}),
        ),
        ("07-keep-c", Checks({"7.3+v3": (10, 10)}), frozenset()),
    ],
)
def test_what_the_model_did_is_classified_into_a_choice(
    key: str, actual: object, value: object
) -> None:
    prompt = PROMPTS[key]
    assert prompt.classify(actual) == value
    assert value in [v for _, v in prompt.choices]


def test_bad_input_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="no prediction 'nope'; choose one of 00-lsb"):
        mf.predict("nope")
    q = mf.predict("00-lsb")
    with pytest.raises(ValueError, match=r"choice: 7 is not one of 0..2"):
        q.lock(7)
    assert not q.locked


def test_a_second_real_error_in_a_kept_hugepage_is_classified_from_the_model() -> None:
    v3 = mf.Kernel(hugepages={"2M": 4}, supports_keep_ue_mapped=True)
    guest = v3.spawn("vmm", handle_sigbus=True)
    fd = guest.memfd_create("guest", mf.MFD_HUGETLB | mf.MFD_MF_KEEP_UE_MAPPED)
    guest.ftruncate(fd, mf.SZ_2M)
    addr = guest.mmap(mf.SZ_2M, mf.PROT_READ | mf.PROT_WRITE, mf.MAP_SHARED, fd)
    guest.madvise(addr + 5 * mf.PAGE_SIZE, mf.PAGE_SIZE, mf.MADV_HWPOISON)
    v3.hw_ue(guest.virt_to_pfn(addr + 9 * mf.PAGE_SIZE), detect="latent")
    lost = guest.load(addr + 9 * mf.PAGE_SIZE)
    guest.munmap(addr, mf.SZ_2M)
    guest.close(fd)
    assert PROMPTS["04-ignored"].classify((lost.signal, v3.hstate("2M"))) == "kernel-free"
