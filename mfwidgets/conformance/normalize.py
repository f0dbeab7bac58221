"""Normalized results: one format for what a real kernel printed and what the model did.

Per step (a JSON object):

- ``id``, ``op``: from the scenario.
- ``ret``: the return value (int; ``"fd"`` for a new file descriptor; 0 for a new mapping; the
  page as ``"PFN[h+s]"``, ``"new"`` or ``"none"`` for ``pagemap``) or the errno name (``"EIO"``,
  ``"EHWPOISON"``...).
- ``signals``: every SIGBUS the step caused, sorted, as ``[si_code, map_off, si_addr_lsb]`` with
  ``map_off`` = si_addr minus the base of the receiving process's newest mapping that holds it
  (every mapping maps the memfd from offset 0, so it is a file offset); a fourth element
  ``"peer"`` marks one the peer got.
- ``data``: for a load, store or successful read: ``"pattern"`` (what the fill wrote),
  ``"zero"`` or ``"other"``; for the selftest its output lines (``selftest_output()``);
  else None.
- ``counters``: the counters that changed, as deltas (HugePages_Total/Free/Rsvd/Surp,
  HardwareCorrupted in kB, ``2M.nr``/``free``/``resv``/``surplus``, ``1G.*``, node stats
  ``mf.total``/``ignored``/``failed``/``delayed``/``recovered`` where the kernel has them).
- ``dmesg``: the memory-failure kernel log lines of the step, with pfns of the scenario's
  hugepages written ``PFN[h+s]`` (hugepage h, subpage s), physical addresses ``PADDR[h+s]``,
  addresses in a mapping ``MAP+0x..`` and pids ``PID``.
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
#: The lines of a machine-check record (``__print_mce()``): they restate the registers the host
#: raised (CPU, bank, status, TSC, address, CPU model) and vary from run to run (TSC, TIME), so
#: they are left out; "Machine check events logged" and what memory_failure() says are kept.
MCE_RECORD = re.compile(
    r"^mce: \[Hardware Error\]: (CPU \d+: Machine Check|RIP |TSC |PROCESSOR |Run the above)"
)
#: Logged from an irq_work after the machine-check handler: it races with what the consuming
#: task prints from its task work (kill_me_maybe()), so it is put first in its step.
MCE_LOGGED = "mce: [Hardware Error]: Machine check events logged"
#: A WARN_ON() splat: its first line is kept as ``WARNING: at <function>`` (file, line, CPU and
#: task vary with the build and the run); the register dump and stack frames are left out.
WARNING = re.compile(r"^WARNING: .*?(\w+)\+0x[0-9a-f]+/0x")
SPLAT = re.compile(
    r"^(\s|RIP: |Call Trace|Code: |R[A-Z0-9]{2}: |CPU: |Hardware name|Modules linked)"
)
_HEX = re.compile(r"\b(0x[0-9a-f]+)\b|(?<=fault at )([0-9a-f]+)\b|(?<= user-access at )([0-9a-f]+)")
_PID = re.compile(r"(?<=[ :])([\w.\-]+):(\d+)(?= due to)")


class Context:
    """What a side knows to normalize: head pfn of each hugepage, the mappings of the scenario
    process and of the peer (each oldest first)."""

    def __init__(self, hugepagesize: str) -> None:
        self.hps = HPS[hugepagesize]
        self.heads: dict[int, int] = {}
        self.maps: dict[str, list[tuple[int, int]]] = {"main": [], "peer": []}

    def add_map(self, base: int, length: int, who: str = "main") -> None:
        self.maps[who].append((base, length))

    def addr(self, value: int, who: str = "main") -> str | None:
        """``MAP+<offset>`` into the newest mapping of ``who`` that holds ``value`` (the peer
        also has the mappings it inherited: the scenario process's)."""
        order = self.maps[who][::-1] + (self.maps["main"][::-1] if who == "peer" else [])
        for base, length in order:
            if base <= value < base + length:
                return f"MAP+{value - base:#x}"
        return None

    def pfn(self, value: int) -> str | None:
        per = self.hps // PS
        for h, head in self.heads.items():
            if head <= value < head + per:
                return f"PFN[{h}+{value - head}]"
        return None

    def paddr(self, value: int) -> str:
        pfn = self.pfn(value // PS)
        if pfn is None:
            return "PADDR"
        low = value % PS
        return "PADDR" + pfn[3:] + (f"+{low:#x}" if low else "")

    def pagemap(self, pfn: int) -> str:
        """A pagemap result: the page recorded at the fill, another one, or nothing (0)."""
        return (self.pfn(pfn) or "new") if pfn else "none"

    def line(self, text: str, who: str = "main") -> str | None:
        """The normalized kernel log line of a step that ``who`` (``main`` or ``peer``) did, or
        None if it is not about memory failure."""
        text = text.rstrip()
        if m := WARNING.search(text):
            return f"WARNING: at {m.group(1)}"
        if not RELEVANT.search(text) or MCE_RECORD.search(text) or SPLAT.search(text):
            return None

        def sub(m: re.Match[str]) -> str:
            if m.group(1):
                value = int(m.group(1), 16)
                return self.pfn(value) or self.addr(value, who) or "HEX"
            if m.group(2):
                return self.addr(int(m.group(2), 16), who) or "HEX"
            return self.paddr(int(m.group(3), 16))

        text = _HEX.sub(sub, text)
        return _PID.sub(lambda m: f"{m.group(1)}:PID", text)


SI_KERNEL = 0x80
_ADDR = re.compile(r"0x[0-9a-f]+")
_CONSOLE = re.compile(r"\[\s*\d+\.\d{6}\].*$")


def selftest_output(lines: list[str]) -> list[str]:
    """The selftest's output (``@@OUT`` lines) with every address in its mapping written
    ``MAP+0x...`` (the mapping: "Created HugeTLB mapping: <base>", "Allocated <length>")."""
    base = length = 0
    for line in lines:
        if m := re.search(r"Created HugeTLB mapping: (0x[0-9a-f]+)", line):
            base = int(m.group(1), 16)
        elif m := re.search(r"Allocated (0x[0-9a-f]+) bytes", line):
            length = int(m.group(1), 16)

    def sub(m: re.Match[str]) -> str:
        value = int(m.group(0), 16)
        return f"MAP+{value - base:#x}" if base and base <= value < base + length else m.group(0)

    out = [_ADDR.sub(sub, line.rstrip()) for line in lines]
    # The poisoning thread prints "MADV_HWPOISON ..." while the main thread prints "Created
    # thread ...": their order is the scheduler's, so it is fixed here (the thread's first).
    for i in range(len(out) - 1):
        if out[i].startswith("# Created thread") and out[i + 1].startswith("# MADV_HWPOISON"):
            out[i], out[i + 1] = out[i + 1], out[i]
    return out


def dmesg_order(lines: list[str]) -> list[str]:
    """A step's normalized log lines in a fixed order (``MCE_LOGGED`` first)."""
    return sorted(lines, key=lambda line: line != MCE_LOGGED)


def actor(step: Mapping[str, Any]) -> str:
    """Who does a step: ``peer`` or ``main`` (the scenario process, or a child of it)."""
    return "peer" if step.get("peer") else "main"


def signed(value: int) -> int:
    """A 64-bit value printed as unsigned hex, back to its signed value."""
    return value - (1 << 64) if value >= 1 << 63 else value


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
    outs: dict[int, list[str]] = {}
    name = None

    def finish() -> None:
        if name is None:
            return
        for i, lines in outs.items():
            results[i]["data"] = selftest_output(lines)
        for i, r in enumerate(results):
            if i in counters and i - 1 in counters:
                r["counters"] = deltas(counters[i - 1], counters[i])
            r["dmesg"] = dmesg_order(r["dmesg"])
        out["scenarios"][name] = results

    for raw in text.replace("\r", "").split("\n"):
        pos = raw.find("@@")
        if pos < 0:
            continue
        # an emergency console message (a machine check) may land inside a guest line
        line = _CONSOLE.sub("", raw[pos:])
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
            outs = {}
        elif tag in ("@@END", "@@DONE"):
            finish()
            name = None
        elif name is None:
            continue
        elif tag == "@@HEAD":
            h, pfn = rest.split()
            ctx.heads[int(h)] = int(pfn, 16)
        elif tag == "@@MAP":
            fields = rest.split()
            who = "peer" if "who=peer" in fields else "main"
            # (transcripts before the length was printed: any address up to 64 hugepages on)
            length = int(fields[2], 16) if len(fields) > 2 and "=" not in fields[2] else 0
            ctx.add_map(int(fields[1], 16), length or 64 * ctx.hps, who)
        else:
            _numbered_line(tag, rest, results, counters, outs, ctx, sc)
    finish()
    return out


def _numbered_line(
    tag: str,
    rest: str,
    results: list[StepResult],
    counters: dict[int, dict[str, int]],
    outs: dict[int, list[str]],
    ctx: Context,
    sc: Scenario,
) -> None:
    """One ``@@<TAG> <step number> ...`` line of a scenario: into that step's result (or, for
    ``@@CNT``, the counters after that step). Lines that name no step are skipped."""
    n_str, _, body = rest.partition(" ")
    try:
        n = int(n_str)
    except ValueError:
        return
    if tag == "@@CNT":
        counters[n] = {k: int(v) for k, v in (kv.split("=") for kv in body.split())}
        return
    if not 0 <= n < len(results):
        return
    r = results[n]
    if tag == "@@STEP":
        _, value = body.split(" ", 1)[1].split("=", 1)
        if not value.lstrip("-").isdigit():
            r["ret"] = value
        elif r["op"] in ("memfd_create", "memfd_probe"):
            r["ret"] = "fd"
        elif r["op"] == "pagemap":
            r["ret"] = ctx.pagemap(int(value))
        else:
            r["ret"] = int(value)
    elif tag == "@@SIG":
        f = dict(kv.split("=") for kv in body.split())
        code = int(f["code"])
        # SI_KERNEL (force_sig(SIGBUS), "Memory error not recovered") has no address
        off = None if code == SI_KERNEL else signed(int(f["off"], 16))
        sig = [code, off, int(f["lsb"])]
        r["signals"] = sorted([*r["signals"], sig + (["peer"] if "who" in f else [])])
    elif tag == "@@OUT":
        outs.setdefault(n, []).append(body)
    elif tag == "@@DATA":
        r["data"] = body.strip()
    elif tag == "@@KMSG":
        norm = ctx.line(body, actor(sc["steps"][n]))
        if norm is not None:
            r["dmesg"].append(norm)


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
