"""Normalized results: one format for what a real kernel printed and what the model did.

Per step (a JSON object):

- ``id``, ``op``: from the scenario.
- ``ret``: the return value (int; ``"fd"`` for a new file descriptor; 0 for a new mapping) or
  the errno name (``"EIO"``, ``"EHWPOISON"``...).
- ``signals``: every SIGBUS the step caused, as ``[si_code, map_off, si_addr_lsb]`` with
  ``map_off`` = si_addr minus the mapping base.
- ``data``: for a load, store or successful pread: ``"pattern"`` (what the fill wrote),
  ``"zero"`` or ``"other"``; else None.
- ``counters``: the counters that changed, as deltas (HugePages_Total/Free/Rsvd/Surp,
  HardwareCorrupted in kB, ``2M.nr``/``free``/``resv``/``surplus``, ``1G.*``, node stats
  ``mf.total``/``ignored``/``failed``/``delayed``/``recovered`` where the kernel has them).
- ``dmesg``: the memory-failure kernel log lines of the step, with pfns of the scenario's
  hugepages written ``PFN[h+s]`` (hugepage h, subpage s), addresses in the mapping ``MAP+0x..``
  and pids ``PID``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .scenario import HPS, PS, Scenario, step_id

StepResult = dict[str, Any]

RELEVANT = re.compile(
    r"Memory failure|Injecting memory failure|MCE: Killing|Unpoison|Soft offlining|^mce:|"
    r"hwpoison|Hardware Error",
    re.IGNORECASE,
)
_HEX = re.compile(r"\b(0x[0-9a-f]+)\b|(?<=fault at )([0-9a-f]+)\b|(?<= user-access at )([0-9a-f]+)")
_PID = re.compile(r"(?<=[ :])([\w.\-]+):(\d+)(?= due to)")


class Context:
    """What a side knows to normalize: head pfn of each hugepage, the mapping base."""

    def __init__(self, hugepagesize: str) -> None:
        self.hps = HPS[hugepagesize]
        self.heads: dict[int, int] = {}
        self.base: int | None = None

    def addr(self, value: int) -> str | None:
        if self.base is not None and self.base <= value < self.base + 64 * self.hps:
            return f"MAP+{value - self.base:#x}"
        return None

    def pfn(self, value: int) -> str | None:
        per = self.hps // PS
        for h, head in self.heads.items():
            if head <= value < head + per:
                return f"PFN[{h}+{value - head}]"
        return None

    def line(self, text: str) -> str | None:
        """The normalized kernel log line, or None if it is not about memory failure."""
        text = text.rstrip()
        if not RELEVANT.search(text):
            return None

        def sub(m: re.Match[str]) -> str:
            if m.group(1):
                value = int(m.group(1), 16)
                return self.pfn(value) or self.addr(value) or "HEX"
            if m.group(2):
                return self.addr(int(m.group(2), 16)) or "HEX"
            return "PADDR"

        text = _HEX.sub(sub, text)
        return _PID.sub(lambda m: f"{m.group(1)}:PID", text)


def deltas(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in sorted(after) if k in before and after[k] != before[k]}


def empty_step(step: Mapping[str, Any], index: int) -> StepResult:
    return {
        "id": step_id(dict(step), index),
        "op": step["op"],
        "ret": None,
        "signals": [],
        "data": None,
        "counters": {},
        "dmesg": [],
    }


def parse_transcript(text: str, scenarios: list[Scenario]) -> dict[str, Any]:
    """Parse a guest serial transcript into ``{"release": ..., "scenarios": {name: [step
    results]}}``."""
    defs = {sc["name"]: sc for sc in scenarios}
    out: dict[str, Any] = {"release": None, "scenarios": {}}
    results: list[StepResult] = []
    ctx = Context("2M")
    counters: dict[int, dict[str, int]] = {}
    name = None

    def finish() -> None:
        if name is None:
            return
        for i, r in enumerate(results):
            if i in counters and i - 1 in counters:
                r["counters"] = deltas(counters[i - 1], counters[i])
        out["scenarios"][name] = results

    for raw in text.replace("\r", "").split("\n"):
        pos = raw.find("@@")
        if pos < 0:
            continue
        line = raw[pos:]
        tag, _, rest = line.partition(" ")
        if tag == "@@BEGIN":
            out["release"] = rest.split(" ")[0]
        elif tag == "@@SCENARIO":
            finish()
            name = rest.strip()
            sc = defs[name]
            ctx = Context(sc.get("hugepagesize", "2M"))
            results = [empty_step(s, i) for i, s in enumerate(sc["steps"])]
            counters = {}
        elif tag in ("@@END", "@@DONE"):
            finish()
            name = None
        elif name is None:
            continue
        elif tag == "@@HEAD":
            h, pfn = rest.split()
            ctx.heads[int(h)] = int(pfn, 16)
        elif tag == "@@MAP":
            ctx.base = int(rest.split()[1], 16)
        else:
            n_str, _, body = rest.partition(" ")
            try:
                n = int(n_str)
            except ValueError:
                continue
            if tag == "@@CNT":
                counters[n] = {k: int(v) for k, v in (kv.split("=") for kv in body.split())}
                continue
            if not 0 <= n < len(results):
                continue
            r = results[n]
            if tag == "@@STEP":
                _, value = body.split(" ", 1)[1].split("=", 1)
                if value.lstrip("-").isdigit():
                    r["ret"] = "fd" if r["op"] == "memfd_create" else int(value)
                else:
                    r["ret"] = value
            elif tag == "@@SIG":
                f = dict(kv.split("=") for kv in body.split())
                r["signals"].append([int(f["code"]), int(f["off"], 16), int(f["lsb"])])
            elif tag == "@@DATA":
                r["data"] = body.strip()
            elif tag == "@@KMSG":
                norm = ctx.line(body)
                if norm is not None:
                    r["dmesg"].append(norm)
    finish()
    return out


OBSERVABLES = ("ret", "signals", "data", "counters", "dmesg")


def compare(
    real: Mapping[str, list[StepResult]], model: Mapping[str, list[StepResult]]
) -> list[dict[str, Any]]:
    """Observable by observable: ``[{"scenario", "step", "observable", "real", "model",
    "match"}]``."""
    rows = []
    for name, steps in real.items():
        msteps = model.get(name, [])
        for i, r in enumerate(steps):
            m = msteps[i] if i < len(msteps) else {}
            for obs in OBSERVABLES:
                rows.append(
                    {
                        "scenario": name,
                        "step": r["id"],
                        "observable": obs,
                        "real": r.get(obs),
                        "model": m.get(obs),
                        "match": r.get(obs) == m.get(obs),
                    }
                )
    return rows
