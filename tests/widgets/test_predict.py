"""Predict, run, reveal: no answer shows before a prediction is locked in."""

from __future__ import annotations

import pytest

import mfwidgets as mf
from mfwidgets.predictions import PROMPTS
from mfwidgets.widgets.predict import LOCKED_NOTE, Prediction


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
