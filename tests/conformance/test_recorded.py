"""Recorded real-kernel transcripts (mfwidgets/conformance/recordings), replayed on the model.

Each ``<kernel>.json`` holds the scenarios as they were run (``scenario_defs``) and the
normalized results the guest printed; ``<kernel>.serial.log.xz`` is the raw serial transcript.
Every scenario is replayed on a stock model kernel and compared observable by observable
(return value or errno, signals, data, counter deltas, kernel log lines).

Where the model does not have the kernel's version yet (6.1: ``Kernel(version="6.1")`` raises
ValueError), the replay uses the 7.3 behaviour and the known 6.1-vs-7.3 differences of
real-kernel.md §3 are listed below, each with its reason and the exact 6.1 value derived from the
model's value. Everything not listed must match exactly, and every listed difference must show
up in the recording (so the list cannot rot silently).
"""

from __future__ import annotations

import json
import lzma
import re
from collections.abc import Callable
from typing import Any

import pytest

from mfwidgets.conformance import RECORDINGS, model_runner, normalize
from mfwidgets.model.kernel import VERSIONS

DATA = RECORDINGS
KERNELS = sorted(p.stem for p in DATA.glob("*.json"))

Transform = Callable[[Any], Any]


def no_node_stats(counters: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counters.items() if not k.startswith("mf.")}


def no_sending_line(lines: list[str]) -> list[str]:
    return [x for x in lines if "Sending SIGBUS" not in x]


def reword_61(lines: list[str]) -> list[str]:
    """The 6.1 wording of the same kernel log lines."""
    rules = [
        (r"^Memory failure: (\S+): recovery action for (huge|already poisoned) page: Failed$",
         r"Memory failure: \1: already hardware poisoned"),
        (r"^Unpoison: (\S+): page was already unpoisoned$",
         r"Unpoison: Page was already unpoisoned \1"),
        (r"^Unpoison: (\S+): someone grabs the hwpoison page$",
         r"Unpoison: Someone grabs the hwpoison page \1"),
        (r"^Unpoison: (\S+): software-unpoisoned page$",
         r"Unpoison: Software-unpoisoned page \1"),
    ]  # fmt: skip
    out = []
    for line in lines:
        for pat, rep in rules:
            line = re.sub(pat, rep, line)
        out.append(line)
    return out


def eio(_: Any) -> str:
    return "EIO"


def none(_: Any) -> None:
    return None


def nothing(_: Any) -> list[Any]:
    return []


R_NODE = "6.1 has no /sys/devices/system/node/node0/memory_failure/ stats"
R_NO_AR = "6.1: MADV_HWPOISON sends the injecting process no SIGBUS (no AR) by default"
R_NO_SENDING = "6.1: no 'Sending SIGBUS' line, as no signal is sent at memory_failure() time"
R_EIO = (
    "6.1: every read touching a poisoned hugepage gives EIO (adjust_range_hwpoison is missing), "
    "even a healthy subpage or a read that would be short on 6.12/7.3"
)
R_ALREADY = "6.1 wording: 'already hardware poisoned' (6.12+: 'recovery action for ...: Failed')"
R_UNPOISON = "6.1 wording of the unpoison messages ('Unpoison: <Text> 0x<pfn>')"

#: (scenario, step id, observable) -> (reason, the 6.1 value as a function of the model's)
DIFFERENCES: dict[str, dict[tuple[str, str, str], tuple[str, Transform]]] = {
    "6.1": {
        ("A", "madv", "signals"): (R_NO_AR, nothing),
        ("A", "madv", "counters"): (R_NODE, no_node_stats),
        ("A", "madv", "dmesg"): (R_NO_SENDING, no_sending_line),
        **{
            ("A", step, obs): (R_EIO, eio if obs == "ret" else none)
            for step in (
                "pread_healthy_0",
                "pread_healthy_2",
                "pread_healthy_4",
                "pread_healthy_last",
                "pread_whole_hugepage",
            )
            for obs in ("ret", "data")
        },
        ("M", "corrupt_first", "counters"): (R_NODE, no_node_stats),
        ("M", "corrupt_second", "counters"): (R_NODE, no_node_stats),
        ("M", "corrupt_second", "dmesg"): (R_ALREADY, reword_61),
        ("M", "corrupt_same", "dmesg"): (R_ALREADY, reword_61),
        **{
            ("M", step, "dmesg"): (R_UNPOISON, reword_61)
            for step in (
                "unpoison_tail_mapped",
                "unpoison_head_mapped",
                "unpoison_head_open",
                "unpoison_tail_released",
                "unpoison_head_released",
            )
        },
        ("Z", "corrupt_free", "counters"): (R_NODE, no_node_stats),
        ("Z", "corrupt_free_again", "dmesg"): (R_ALREADY, reword_61),
    },
}


def load(kernel: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{kernel}.json").read_text())
    return data


def model_version(kernel: str) -> str:
    return kernel if kernel in VERSIONS else "7.3"


def differences(kernel: str) -> dict[tuple[str, str, str], tuple[str, Transform]]:
    """The listed differences apply while the model replays another version's behaviour."""
    if model_version(kernel) == kernel:
        return {}
    return DIFFERENCES.get(kernel, {})


def test_recordings_present() -> None:
    assert "6.1" in KERNELS


@pytest.mark.parametrize("kernel", KERNELS)
def test_transcript_normalizes_to_recording(kernel: str) -> None:
    """The committed normalized results are what the raw serial log parses to."""
    rec = load(kernel)
    raw = lzma.decompress((DATA / f"{kernel}.serial.log.xz").read_bytes()).decode("utf-8")
    assert "@@DONE" in raw
    parsed = normalize.parse_transcript(raw, rec["scenario_defs"])
    assert parsed["release"] == rec["release"]
    assert parsed["scenarios"] == rec["scenarios"]
    for steps in rec["scenarios"].values():
        assert all(step["ret"] is not None for step in steps), "a step did not report"


@pytest.mark.parametrize("kernel", KERNELS)
def test_model_matches_recording(kernel: str) -> None:
    rec = load(kernel)
    model = model_runner.run_all(rec["scenario_defs"], model_version(kernel))
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
