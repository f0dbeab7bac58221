"""Known differences between a real kernel and the model version it is compared with.

When the model has no version of a recorded kernel, the kernel is compared with the 7.3 model
and the differences docs/kernel.md R3 found between them are listed here, each with its reason
and the exact real value as a function of the model's. They apply only then: once the model
has the kernel's own version (``Kernel(version="6.1")``), nothing here is accepted any more.
``tests/conformance/test_recorded.py`` holds the recordings to this list; ``report.py`` shows
the reason next to each accepted mismatch.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..model.kernel import VERSIONS as VERSIONS  # the versions the model has (tests narrow it)

DEFAULT_MODEL = "7.3"

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


def const(value: Any) -> Transform:
    """The real value whatever the model's (for what the model does not simulate)."""
    return lambda _: value


R_REUSED = (
    "7.3+v3 is the series as posted, without its prerequisite (free_has_hwpoisoned()): the "
    "dissolved hugepage's poisoned 4 KiB page went back to the free lists and a new process "
    "was given it (found by its pfn, and readable); the model, like the prerequisite and the "
    "project's stand-in (7.3+v3+standin), never hands it out (docs/kernel.md V3, V4)"
)
R_ORDINARY = (
    "ordinary (non-hugetlb) memory is not in the model; on the v3 kernel MADV_HWPOISON of an "
    "anonymous 4 KiB page is handled as on a stock kernel, plus the series' WARN_ON_ONCE "
    "(docs/kernel.md V3, V4)"
)

_REUSED = {
    (name, "poisoned_page_reused", obs): (R_REUSED, const(value))
    for name in ("K", "C")
    for obs, value in (("ret", 1), ("data", "other"))
}
#: the V3_ORDINARY step as the v3 kernels did it (both: the stand-in changes nothing there)
ORDINARY_DMESG = [
    "Injecting memory failure for pfn HEX at process virtual address HEX",
    "WARNING: at hugetlb_should_keep_hwpoison_mapped",
    "Memory failure: HEX: Sending SIGBUS to init:PID due to hardware memory corruption",
    "Memory failure: HEX: recovery action for dirty LRU page: Recovered",
]
_ORDINARY = {
    ("V3_ORDINARY", "ordinary_page", obs): (R_ORDINARY, const(value))
    for obs, value in (
        ("ret", 0),
        ("signals", [[4, 0, 12]]),  # BUS_MCEERR_AR at the page, lsb 12: the stock 4 KiB case
        ("counters", {"HardwareCorrupted": 4, "mf.recovered": 1, "mf.total": 1}),
        ("dmesg", ORDINARY_DMESG),
    )
}
R_QEMU = (
    "qemu's emulated machine check corrupts no memory: a later load of the page reads the "
    "data and raises nothing; on real hardware it would machine-check again (docs/kernel.md V3)"
)
#: what the qemu run cannot show (the real values; the model's follow the kernel's code)
_MCE_REAL: dict[tuple[str, str, str], Any] = {
    ("KH_AO", "late_load_poisoned", "signals"): [],
    ("KH_AO", "late_load_poisoned", "data"): "pattern",
    ("KH_AO", "late_load_poisoned", "dmesg"): [],
    ("KH_AO", "late_load_second", "signals"): [],
    ("KH_AO", "late_load_second", "data"): "pattern",
    ("KH_AO", "late_load_second", "dmesg"): [],
    ("KH_AR", "other_load_poisoned", "signals"): [],
    ("KH_AR", "other_load_poisoned", "data"): "pattern",
    ("KH_AR", "other_load_poisoned", "dmesg"): [],
}
_MCE = {key: (R_QEMU, const(value)) for key, value in _MCE_REAL.items()}
DIFFERENCES["7.3+v3"] = {**_REUSED, **_ORDINARY, **_MCE}
NOT_RECOVERED = "mce: Memory error not recovered"
R_LATE_LINE = (
    "'mce: Memory error not recovered' (the second machine check in a kept hugepage, Ignored: "
    "docs/kernel.md V4) comes from the consuming task's task work after the machine check; on "
    "this run it reached the log after the guest had gone on to the next step (a race of the "
    "run, not of the kernel's result)"
)


def without_not_recovered(lines: list[str]) -> list[str]:
    """The step of the late line, without it."""
    return [x for x in lines if x != NOT_RECOVERED]


def late_not_recovered(lines: list[str]) -> list[str]:
    """The step after: the late line, after the "events logged" line put first."""
    return [*lines[:1], NOT_RECOVERED, *lines[1:]]


DIFFERENCES["7.3+v3+standin"] = {
    **_ORDINARY,
    **_MCE,
    ("KH_AR", "srar_second", "dmesg"): (R_LATE_LINE, without_not_recovered),
    ("KH_AR", "srar_same_again", "dmesg"): (R_LATE_LINE, late_not_recovered),
}


#: The kernels built with the keep series (conformance/patched.py builds them; a test keeps the
#: two lists equal). Named here so that replaying their recordings needs none of the build code,
#: which the in-browser site cannot import.
PATCHED_KERNELS = ("7.3+v3", "7.3+v3+standin")


def model_version(kernel: str) -> str:
    """The model version ``kernel`` is compared with: its own if the model has it, else 7.3."""
    return kernel if kernel in VERSIONS else DEFAULT_MODEL


def differences(kernel: str) -> dict[tuple[str, str, str], tuple[str, Transform]]:
    """The listed differences that apply to ``kernel`` (none if the model has its version)."""
    if model_version(kernel) == kernel:
        return {}
    return DIFFERENCES.get(kernel, {})


def accepted(kernel: str, row: dict[str, Any]) -> str | None:
    """The reason a mismatch of ``kernel`` (a ``normalize.compare`` row) is accepted, if it is
    a listed difference and the real value is exactly the one listed."""
    listed = differences(kernel).get((row["scenario"], row["step"], row["observable"]))
    if listed is None or row["match"]:
        return None
    reason, transform = listed
    return reason if transform(row["model"]) == row["real"] else None
