"""The scenario format: what both the model and a real kernel run.

A scenario is plain data (JSON-serializable): ``{"name": "A", "hugepagesize": "2M", "steps":
[...]}``, with ``"boot": "mce"`` or ``"mce2"`` for the scenarios of the machine-check boots
(default ``"main"``). The kernel logs "Machine check events logged" at most twice a minute
(mce_notify_irq() is ratelimited), so a machine-check boot runs at most two machine checks.
Each step is a dict with an ``op`` and its arguments; an optional ``id`` names it in
reports and in the list of known differences (default ``"<op>#<index>"``).

One process (the *scenario process*) holds at most one memfd; it may map it more than once, and
the steps use its newest mapping (after a ``munmap`` of it, the one before).
It may fork one long-lived *peer* (``fork``), which inherits the memfd and the mappings, may map
the memfd again on its own, and does the steps marked ``peer=1`` itself, until ``exit``.
Positions are given as (hugepage, subpage, byte) within the memfd/mapping, never as addresses
or pfns, so that both sides can run them. Every boot's scenarios run one after the other on one
kernel, so pool counters carry over (the results are deltas).

Vocabulary (arguments, defaults):

====================  ==================================================================
op                    meaning
====================  ==================================================================
memfd_create          ``flags`` (default MFD_HUGETLB); a second memfd while one is open
                      is refused (EBUSY)
memfd_probe           ``flags``: memfd_create, and close the new fd at once: ``fd`` or
                      the errno
ftruncate             ``hugepages``: length in hugepages
mmap                  ``hugepages``, ``pgoff`` (in hugepages, default 0): MAP_SHARED,
                      PROT_READ|PROT_WRITE of the memfd from that file offset; it becomes
                      the mapping later steps use
fill                  store ``0x5A5A000000000000 ^ file_offset`` in every u64 of the
                      mapping (2M; for 1G in one u64 per 64 bytes, the rest stays zero);
                      records the head pfn of every hugepage (pagemap)
pagemap               ``hugepage``, ``subpage``: /proc/self/pagemap of that page: the
                      pfn as ``PFN[h+s]`` (as recorded by the last fill), ``new`` (another
                      pfn) or ``none`` (not present)
madvise_hwpoison      ``hugepage``, ``subpage``: madvise(MADV_HWPOISON) of that 4 KiB page
madvise_soft_offline  ``hugepage``, ``subpage``: madvise(MADV_SOFT_OFFLINE)
corrupt_pfn           ``hugepage``, ``subpage``: debugfs hwpoison/corrupt-pfn of that raw
                      page (pfn as recorded by the last fill; the page may be free by then)
unpoison_pfn          ``hugepage``, ``subpage`` (default 0 = the head): unpoison-pfn
mce_srao              ``hugepage``, ``subpage``: the host raises a machine check, memory
                      scrub (SRAO), for that raw page; machine-check boots only
mce_srar              ``hugepage``, ``subpage``, ``byte``: a child loads that byte in a loop
                      while the host raises a data-load machine check (SRAR) for its raw
                      page; machine-check boots only
load, store           ``hugepage``, ``subpage``, ``byte``: one byte, in a child forked for
                      it (a store writes back the byte the fill put there); ``peer=1``:
                      the peer does it itself, through its own newest mapping
pread                 ``offset``, ``length`` (bytes)
pwrite                ``offset``, ``length``: the bytes the fill put there
read                  ``length``: read(2) at the file position
lseek                 ``offset``, ``whence`` (0 = SEEK_SET, 1 = SEEK_CUR): the new position
punch_hole            ``hugepage``: fallocate(PUNCH_HOLE | KEEP_SIZE) of that hugepage
munmap, close         the newest mapping (``peer=1``: the peer's own); the memfd
fork                  fork the peer
exit                  the peer exits
prctl_mce_kill        ``policy`` (1 = PR_MCE_KILL_EARLY, 0 = LATE), ``peer``
touch_free            ``kb`` (2048 or 1048576): a child maps as many hugepages of that size
                      as ``free_hugepages`` says and stores to each: how many it could
nr_hugepages          ``kb``, ``count``: write ``count`` to that size's nr_hugepages
counters              nothing: just the counters
selftest              ``pages``: the keep series' own selftest ``hugetlb-mfr <size> <pages>``
                      (kernels built with the series only): its exit status, and its output
                      as ``data`` (addresses as ``MAP+0x...``)
anon_find             ``hugepage``, ``subpage``: a child maps 512 MiB of ordinary anonymous
                      memory and looks for that raw page (pfn as recorded by the last
                      fill) among its pages: 1 if it was handed that page, else 0
anon_hwpoison         nothing: MADV_HWPOISON of one ordinary anonymous 4 KiB page, in a child
====================  ==================================================================

The built-in scenarios (SCENARIOS) are in stock.py; the keep series' in keep.py.

Every step reports its normalized result (``normalize.py``): return value or errno name, the
SIGBUSes seen (the peer's too), the data read, counter deltas and the kernel log lines it caused.
"""

from __future__ import annotations

from typing import Any

Step = dict[str, Any]
Scenario = dict[str, Any]

PS = 4096
HPS = {"2M": 1 << 21, "1G": 1 << 30}
KB = {"2M": 2048, "1G": 1048576}
MFD_HUGETLB = 0x4
MFD_NOEXEC_SEAL = 0x8
MFD_EXEC = 0x10
MFD_MF_KEEP_UE_MAPPED = 0x20
MFD_HUGE_2MB = 21 << 26
MFD_HUGE_1GB = 30 << 26
PR_MCE_KILL_LATE, PR_MCE_KILL_EARLY = 0, 1
SEEK_SET, SEEK_CUR = 0, 1

#: hugepage pools of each boot of the guest (the kernel command line's hugepagesz=/hugepages=)
BOOT_POOLS: dict[str, dict[str, int]] = {
    "main": {"2M": 24, "1G": 6},
    "mce": {"2M": 16, "1G": 0},
    "mce2": {"2M": 16, "1G": 2},
    # kernels built with the keep series (keep.py)
    "keep": {"2M": 24, "1G": 6},
    "keep_mce": {"2M": 16, "1G": 0},
}

_POS = ("hugepage", "subpage")
OPS: dict[str, tuple[str, ...]] = {
    "memfd_create": ("flags",),
    "memfd_probe": ("flags",),
    "ftruncate": ("hugepages",),
    "mmap": ("hugepages", "pgoff", "peer"),
    "fill": (),
    "pagemap": _POS,
    "madvise_hwpoison": _POS,
    "madvise_soft_offline": _POS,
    "corrupt_pfn": _POS,
    "unpoison_pfn": _POS,
    "mce_srao": _POS,
    "mce_srar": (*_POS, "byte"),
    "load": (*_POS, "byte", "peer"),
    "store": (*_POS, "byte", "peer"),
    "pread": ("offset", "length"),
    "pwrite": ("offset", "length"),
    "read": ("length",),
    "lseek": ("offset", "whence"),
    "punch_hole": ("hugepage",),
    "munmap": ("peer",),
    "close": (),
    "fork": (),
    "exit": (),
    "prctl_mce_kill": ("policy", "peer"),
    "touch_free": ("kb",),
    "nr_hugepages": ("kb", "count"),
    "counters": (),
    "selftest": ("pages",),
    "anon_find": _POS,
    "anon_hwpoison": (),
}
#: arguments with a closed set of values
CHOICES: dict[str, tuple[int, ...]] = {
    "peer": (0, 1),
    "whence": (SEEK_SET, SEEK_CUR),
    "policy": (PR_MCE_KILL_LATE, PR_MCE_KILL_EARLY),
    "kb": tuple(KB.values()),
}
#: the largest value of each argument (the guest program's own limits: 64 hugepages a memfd,
#: 1024 steps a scenario), so that scenario data cannot ask either side for unbounded memory
MAX_HUGEPAGES = 64
MAX_STEPS = 1024
BOUNDS: dict[str, int] = {
    "flags": (1 << 32) - 1,
    "hugepages": MAX_HUGEPAGES,
    "pgoff": MAX_HUGEPAGES,
    "hugepage": MAX_HUGEPAGES - 1,
    "subpage": HPS["1G"] // PS - 1,
    "byte": PS - 1,
    "offset": MAX_HUGEPAGES * HPS["1G"],
    "length": HPS["1G"],
    "count": 1 << 16,
    "pages": 8,
}
MCE_OPS = ("mce_srao", "mce_srar")
MCE_BOOTS = ("mce", "mce2", "keep_mce")


def step_id(step: Step, index: int) -> str:
    return str(step.get("id") or f"{step['op']}#{index}")


def boot_of(scenario: Scenario) -> str:
    return str(scenario.get("boot", "main"))


def validate(scenario: Scenario) -> None:
    """Raise ValueError if ``scenario`` is not in the format above (naming the step and the
    field), never another exception, whatever the data."""
    if not isinstance(scenario, dict):
        raise ValueError(f"a scenario must be a JSON object, not {type(scenario).__name__}")
    name = scenario.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"scenario name {name!r} must be an identifier")
    if scenario.get("hugepagesize", "2M") not in HPS:
        raise ValueError(f"{name}: hugepagesize must be one of {sorted(HPS)}")
    if boot_of(scenario) not in BOOT_POOLS:
        raise ValueError(f"{name}: boot must be one of {sorted(BOOT_POOLS)}")
    steps = scenario.get("steps")
    if not isinstance(steps, list) or len(steps) > MAX_STEPS:
        raise ValueError(f"{name}: steps must be a list of at most {MAX_STEPS} steps")
    ids = set()
    peer = False
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            raise ValueError(f"{name} step {i}: a step must be a JSON object")
        op = step.get("op")
        if not isinstance(op, str) or op not in OPS:
            raise ValueError(f"{name} step {i}: unknown op {op!r}")
        if "id" in step and not isinstance(step["id"], str):
            raise ValueError(f"{name} step {i}: id must be a string")
        for key, value in step.items():
            if key in ("op", "id"):
                continue
            if key not in OPS[op]:
                raise ValueError(f"{name} step {i}: {op} takes no {key!r}")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} step {i}: {key} must be a non-negative int")
            if key in CHOICES and value not in CHOICES[key]:
                raise ValueError(f"{name} step {i}: {key} must be one of {CHOICES[key]}")
            if key in BOUNDS and value > BOUNDS[key]:
                raise ValueError(f"{name} step {i}: {key} must be at most {BOUNDS[key]}")
        if op in MCE_OPS and boot_of(scenario) not in MCE_BOOTS:
            raise ValueError(f"{name} step {i}: {op} needs the machine-check boot")
        if op == "fork" and peer:
            raise ValueError(f"{name} step {i}: there is a peer already")
        if (op == "exit" or step.get("peer")) and not peer:
            raise ValueError(f"{name} step {i}: {op} needs a peer (fork first)")
        peer = (peer or op == "fork") and op != "exit"
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


def _hugetlb(size: str) -> int:
    """memfd_create flags of a hugetlb memfd of ``size`` (2M: the default size)."""
    return MFD_HUGETLB if size == "2M" else MFD_HUGETLB | MFD_HUGE_1GB


def _memfd(size: str, hugepages: int, flags: int = 0) -> list[Step]:
    """The steps that start most scenarios: a hugetlb memfd of ``size`` (with ``flags`` too),
    ``hugepages`` of them allocated, mapped and filled."""
    return [
        _s("memfd_create", flags=_hugetlb(size) | flags),
        _s("ftruncate", hugepages=hugepages),
        _s("mmap", hugepages=hugepages),
        _s("fill"),
    ]


def boots(scenarios: list[Scenario]) -> dict[str, list[Scenario]]:
    """The scenarios of each boot, in order (a boot with no scenario is left out)."""
    out: dict[str, list[Scenario]] = {}
    for sc in scenarios:
        out.setdefault(boot_of(sc), []).append(sc)
    return out
