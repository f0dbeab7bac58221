"""The scenario format: what both the model and a real kernel run.

A scenario is plain data (JSON-serializable): ``{"name": "A", "hugepagesize": "2M", "steps":
[...]}``. Each step is a dict with an ``op`` and its arguments; an optional ``id`` names it in
reports and in the list of known differences (default ``"<op>#<index>"``).

One process (the *scenario process*) holds at most one memfd and one mapping of it at a time.
Positions are given as (hugepage, subpage, byte) within the memfd/mapping, never as addresses
or pfns, so that both sides can run them.

Vocabulary (arguments, defaults):

=================  =====================================================================
op                 meaning
=================  =====================================================================
memfd_create       ``flags`` (default MFD_HUGETLB); a second memfd while one is open is
                   refused (use it for flag probes that fail)
ftruncate          ``hugepages``: length in hugepages
mmap               ``hugepages``: MAP_SHARED, PROT_READ|PROT_WRITE of the memfd at offset 0
fill               store ``0x5A5A000000000000 ^ file_offset`` in every u64 of the mapping;
                   records the head pfn of every hugepage (pagemap)
madvise_hwpoison   ``hugepage``, ``subpage``: madvise(MADV_HWPOISON) of that 4 KiB page
corrupt_pfn        ``hugepage``, ``subpage``: debugfs hwpoison/corrupt-pfn of that raw page
                   (pfn as recorded by the last fill; the page may be free by then)
unpoison_pfn       ``hugepage``, ``subpage`` (default 0 = the head): hwpoison/unpoison-pfn
load, store        ``hugepage``, ``subpage``, ``byte``: one byte, in a child forked for it
                   (a store writes back the byte the fill put there)
pread              ``offset``, ``length`` (bytes)
punch_hole         ``hugepage``: fallocate(PUNCH_HOLE | KEEP_SIZE) of that hugepage
munmap, close      the mapping; the memfd
counters           nothing: just the counters
=================  =====================================================================

Every step reports its normalized result (``normalize.py``): return value or errno name, the
SIGBUSes seen, the data read, counter deltas and the kernel log lines it caused.
"""

from __future__ import annotations

from typing import Any

Step = dict[str, Any]
Scenario = dict[str, Any]

PS = 4096
HPS = {"2M": 1 << 21, "1G": 1 << 30}
MFD_HUGETLB = 0x4
MFD_MF_KEEP_UE_MAPPED = 0x20

OPS: dict[str, tuple[str, ...]] = {
    "memfd_create": ("flags",),
    "ftruncate": ("hugepages",),
    "mmap": ("hugepages",),
    "fill": (),
    "madvise_hwpoison": ("hugepage", "subpage"),
    "corrupt_pfn": ("hugepage", "subpage"),
    "unpoison_pfn": ("hugepage", "subpage"),
    "load": ("hugepage", "subpage", "byte"),
    "store": ("hugepage", "subpage", "byte"),
    "pread": ("offset", "length"),
    "punch_hole": ("hugepage",),
    "munmap": (),
    "close": (),
    "counters": (),
}


def step_id(step: Step, index: int) -> str:
    return str(step.get("id") or f"{step['op']}#{index}")


def validate(scenario: Scenario) -> None:
    """Raise ValueError if ``scenario`` is not in the format above."""
    name = scenario.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"scenario name {name!r} must be an identifier")
    if scenario.get("hugepagesize", "2M") not in HPS:
        raise ValueError(f"{name}: hugepagesize must be one of {sorted(HPS)}")
    ids = set()
    for i, step in enumerate(scenario["steps"]):
        op = step.get("op")
        if op not in OPS:
            raise ValueError(f"{name} step {i}: unknown op {op!r}")
        for key, value in step.items():
            if key in ("op", "id"):
                continue
            if key not in OPS[op]:
                raise ValueError(f"{name} step {i}: {op} takes no {key!r}")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} step {i}: {key} must be a non-negative int")
        sid = step_id(step, i)
        if sid in ids:
            raise ValueError(f"{name}: duplicate step id {sid!r}")
        ids.add(sid)


def to_guest_text(scenarios: list[Scenario]) -> str:
    """The line format the guest program reads (/scenarios.txt)."""
    lines = []
    for sc in scenarios:
        validate(sc)
        lines.append(f"scenario {sc['name']}")
        lines.append(f"hugepagesize {HPS[sc.get('hugepagesize', '2M')]}")
        for step in sc["steps"]:
            args = " ".join(f"{k}={v}" for k, v in step.items() if k not in ("op", "id"))
            lines.append(f"{step['op']} {args}".rstrip())
    return "\n".join(lines) + "\n"


def _s(op: str, id: str | None = None, **args: int) -> Step:
    step: Step = {"op": op, **args}
    if id is not None:
        step["id"] = id
    return step


HP = HPS["2M"]

#: A: MADV_HWPOISON on subpage 3 of hugepage 0 of a filled 2-hugepage memfd (default policy).
SCENARIO_A: Scenario = {
    "name": "A",
    "hugepagesize": "2M",
    "steps": [
        _s("memfd_create", "probe_keep_flag", flags=MFD_MF_KEEP_UE_MAPPED | MFD_HUGETLB),
        _s("memfd_create", flags=MFD_HUGETLB),
        _s("ftruncate", hugepages=2),
        _s("mmap", hugepages=2),
        _s("fill"),
        _s("madvise_hwpoison", "madv", hugepage=0, subpage=3),
        _s("load", "load_poisoned", hugepage=0, subpage=3, byte=0x11),
        _s("load", "load_first", hugepage=0, subpage=0, byte=0),
        _s("load", "load_middle", hugepage=0, subpage=256, byte=0x7FF),
        _s("load", "load_last", hugepage=0, subpage=511, byte=PS - 1),
        _s("store", "store_poisoned", hugepage=0, subpage=3, byte=0x11),
        _s("load", "load_other_hugepage", hugepage=1, subpage=5, byte=0),
        _s("store", "store_other_hugepage", hugepage=1, subpage=9, byte=0),
        _s("pread", "pread_poisoned", offset=3 * PS, length=PS),
        _s("pread", "pread_poisoned_inner", offset=3 * PS + 0x100, length=8),
        _s("pread", "pread_healthy_0", offset=0, length=64),
        _s("pread", "pread_healthy_2", offset=2 * PS, length=64),
        _s("pread", "pread_healthy_4", offset=4 * PS, length=64),
        _s("pread", "pread_healthy_last", offset=511 * PS, length=64),
        _s("pread", "pread_whole_hugepage", offset=0, length=HP),
        _s("pread", "pread_other_hugepage", offset=HP + 2 * PS, length=2 * PS),
        _s("madvise_hwpoison", "madv_again", hugepage=0, subpage=5),
        _s("munmap"),
        _s("close"),
    ],
}

#: M: corrupt-pfn on two raw pages of one in-use hugepage, then the first again; unpoison
#: before and after release.
SCENARIO_M: Scenario = {
    "name": "M",
    "hugepagesize": "2M",
    "steps": [
        _s("memfd_create", flags=MFD_HUGETLB),
        _s("ftruncate", hugepages=1),
        _s("mmap", hugepages=1),
        _s("fill"),
        _s("corrupt_pfn", "corrupt_first", hugepage=0, subpage=2),
        _s("corrupt_pfn", "corrupt_second", hugepage=0, subpage=7),
        _s("corrupt_pfn", "corrupt_same", hugepage=0, subpage=2),
        _s("load", "load_after", hugepage=0, subpage=2, byte=5),
        _s("unpoison_pfn", "unpoison_tail_mapped", hugepage=0, subpage=2),
        _s("unpoison_pfn", "unpoison_head_mapped", hugepage=0, subpage=0),
        _s("munmap"),
        _s("unpoison_pfn", "unpoison_head_open", hugepage=0, subpage=0),
        _s("close"),
        _s("unpoison_pfn", "unpoison_tail_released", hugepage=0, subpage=7),
        _s("unpoison_pfn", "unpoison_head_released", hugepage=0, subpage=0),
    ],
}

#: Z: corrupt-pfn on a free hugepage (one that was used, then released), twice.
SCENARIO_Z: Scenario = {
    "name": "Z",
    "hugepagesize": "2M",
    "steps": [
        _s("memfd_create", flags=MFD_HUGETLB),
        _s("ftruncate", hugepages=1),
        _s("mmap", hugepages=1),
        _s("fill"),
        _s("munmap"),
        _s("close"),
        _s("corrupt_pfn", "corrupt_free", hugepage=0, subpage=9),
        _s("corrupt_pfn", "corrupt_free_again", hugepage=0, subpage=9),
    ],
}

SCENARIOS: list[Scenario] = [SCENARIO_A, SCENARIO_M, SCENARIO_Z]
