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


def _name(base: str, size: str) -> str:
    return base if size == "2M" else f"{base}_{size}"


def _hugetlb(size: str) -> int:
    """memfd_create flags of a hugetlb memfd of ``size`` (2M: the default size)."""
    return MFD_HUGETLB if size == "2M" else MFD_HUGETLB | MFD_HUGE_1GB


def _memfd(size: str, hugepages: int) -> list[Step]:
    return [
        _s("memfd_create", flags=_hugetlb(size)),
        _s("ftruncate", hugepages=hugepages),
        _s("mmap", hugepages=hugepages),
        _s("fill"),
    ]


# Bytes looked at: 7 is the top byte of a fill word (0x5A), so it tells the fill from zeros;
# with the 1G fill (one word per 64 bytes) only bytes 0-7 of a 64-byte line hold the pattern.

PROBES: Scenario = {
    "name": "probes",
    "hugepagesize": "2M",
    "steps": [
        _s("memfd_probe", "keep", flags=MFD_MF_KEEP_UE_MAPPED | MFD_HUGETLB),
        _s("memfd_probe", "keep_2mb", flags=MFD_MF_KEEP_UE_MAPPED | MFD_HUGETLB | MFD_HUGE_2MB),
        _s("memfd_probe", "keep_1gb", flags=MFD_MF_KEEP_UE_MAPPED | MFD_HUGETLB | MFD_HUGE_1GB),
        _s("memfd_probe", "keep_no_hugetlb", flags=MFD_MF_KEEP_UE_MAPPED),
        _s("memfd_probe", "bit_0x40", flags=0x40 | MFD_HUGETLB),
        _s("memfd_probe", "noexec_seal", flags=MFD_NOEXEC_SEAL | MFD_HUGETLB),
        _s("memfd_probe", "exec", flags=MFD_EXEC | MFD_HUGETLB),
        _s("memfd_probe", "noexec_seal_1gb", flags=MFD_NOEXEC_SEAL | MFD_HUGETLB | MFD_HUGE_1GB),
        _s("memfd_probe", "exec_1gb", flags=MFD_EXEC | MFD_HUGETLB | MFD_HUGE_1GB),
        _s("memfd_probe", "hugetlb", flags=MFD_HUGETLB),
        _s("memfd_probe", "hugetlb_1gb", flags=MFD_HUGETLB | MFD_HUGE_1GB),
    ],
}


def scenario_a(size: str) -> Scenario:
    """A: MADV_HWPOISON on subpage 3 of hugepage 0 of a filled 2-hugepage memfd (default
    policy); reads by a process forked before the poison, by children, through a fresh mmap,
    and by pread; pwrite."""
    hp, last = HPS[size], HPS[size] // PS - 1
    return {
        "name": _name("A", size),
        "hugepagesize": size,
        "steps": [
            *_memfd(size, 2),
            _s("fork", "fork_before"),
            _s("madvise_hwpoison", "madv", hugepage=0, subpage=3),
            _s("pagemap", "pagemap_poisoned", hugepage=0, subpage=3),
            _s("pagemap", "pagemap_other", hugepage=1, subpage=0),
            _s("load", "load_poisoned", hugepage=0, subpage=3, byte=0x11),
            _s("load", "load_first", hugepage=0, subpage=0, byte=0),
            _s("load", "load_middle", hugepage=0, subpage=(last + 1) // 2, byte=0x7FF),
            _s("load", "load_last", hugepage=0, subpage=last, byte=PS - 1),
            _s("store", "store_poisoned", hugepage=0, subpage=3, byte=0x11),
            _s("load", "load_other_hugepage", hugepage=1, subpage=5, byte=0),
            _s("store", "store_other_hugepage", hugepage=1, subpage=9, byte=0),
            _s("load", "forked_load_poisoned", hugepage=0, subpage=3, byte=0x11, peer=1),
            _s("load", "forked_load_last", hugepage=0, subpage=last, byte=PS - 1, peer=1),
            _s("load", "forked_load_other", hugepage=1, subpage=5, byte=7, peer=1),
            _s("exit", "forked_exit"),
            _s("pread", "pread_poisoned", offset=3 * PS, length=PS),
            _s("pread", "pread_poisoned_inner", offset=3 * PS + 0x100, length=8),
            _s("pread", "pread_healthy_0", offset=0, length=64),
            _s("pread", "pread_healthy_2", offset=2 * PS, length=64),
            _s("pread", "pread_healthy_4", offset=4 * PS, length=64),
            _s("pread", "pread_healthy_last", offset=last * PS, length=64),
            _s("pread", "pread_whole_hugepage", offset=0, length=hp),
            _s("pread", "pread_other_hugepage", offset=hp + 2 * PS, length=2 * PS),
            _s("pwrite", "pwrite", offset=hp, length=64),
            _s("madvise_hwpoison", "madv_again", hugepage=0, subpage=5),
            _s("munmap"),
            _s("mmap", "remap", hugepages=2),
            _s("load", "remap_load_poisoned", hugepage=0, subpage=3, byte=0x11),
            _s("load", "remap_load_last", hugepage=0, subpage=last, byte=PS - 1),
            _s("load", "remap_load_other", hugepage=1, subpage=5, byte=7),
            _s("munmap", "unmap_remap"),
            _s("close"),
        ],
    }


def scenario_b(size: str) -> Scenario:
    """B: as A, but the injector and a watcher both ask for early kill; the watcher has mapped
    the poisoned hugepage itself before the poison (its own mapping, one hugepage long, so it
    lies elsewhere than the injector's: the AO it gets is an offset into its mapping)."""
    last = HPS[size] // PS - 1
    return {
        "name": _name("B", size),
        "hugepagesize": size,
        "steps": [
            _s("memfd_create", flags=_hugetlb(size)),
            _s("ftruncate", hugepages=2),
            _s("fork", "watcher_fork"),
            _s("prctl_mce_kill", "watcher_early", policy=PR_MCE_KILL_EARLY, peer=1),
            _s("mmap", "watcher_mmap", hugepages=1, peer=1),
            _s("mmap", hugepages=2),
            _s("fill"),
            _s("load", "watcher_touch", hugepage=0, subpage=0, byte=7, peer=1),
            _s("prctl_mce_kill", "early", policy=PR_MCE_KILL_EARLY),
            _s("madvise_hwpoison", "madv", hugepage=0, subpage=3),
            _s("load", "watcher_load_poisoned", hugepage=0, subpage=3, byte=0x11, peer=1),
            _s("load", "watcher_load_last", hugepage=0, subpage=last, byte=PS - 1, peer=1),
            _s("load", "load_poisoned", hugepage=0, subpage=3, byte=0x11),
            _s("load", "load_other_hugepage", hugepage=1, subpage=5, byte=7),
            _s("exit", "watcher_exit"),
            _s("munmap"),
            _s("close"),
        ],
    }


def scenario_f(size: str) -> Scenario:
    """F: punch a hole over the poisoned hugepage while it is mapped, then use the old
    mapping and pread there again."""
    return {
        "name": _name("F", size),
        "hugepagesize": size,
        "steps": [
            *_memfd(size, 2),
            _s("madvise_hwpoison", "madv", hugepage=0, subpage=3),
            _s("punch_hole", "punch", hugepage=0),
            _s("pread", "pread_hole", offset=3 * PS, length=PS),
            _s("load", "load_after_punch", hugepage=0, subpage=3, byte=7),
            _s("load", "load_other_hugepage", hugepage=1, subpage=5, byte=7),
            _s("pread", "pread_after_load", offset=3 * PS, length=PS),
            _s("munmap"),
            _s("close"),
        ],
    }


def scenario_m(size: str) -> Scenario:
    """M: corrupt-pfn on two raw pages of one in-use hugepage, then the first again; unpoison
    before and after release."""
    return {
        "name": _name("M", size),
        "hugepagesize": size,
        "steps": [
            *_memfd(size, 1),
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


def scenario_z(size: str) -> Scenario:
    """Z: corrupt-pfn on a free hugepage (one that was used, then released), twice."""
    return {
        "name": _name("Z", size),
        "hugepagesize": size,
        "steps": [
            *_memfd(size, 1),
            _s("munmap"),
            _s("close"),
            _s("corrupt_pfn", "corrupt_free", hugepage=0, subpage=9),
            _s("corrupt_pfn", "corrupt_free_again", hugepage=0, subpage=9),
        ],
    }


def _two_mappings(size: str, name: str, poison: Step) -> Scenario:
    """One process, two mappings of the poisoned hugepage: ``map_1`` maps only hugepage 1
    (from file offset one hugepage), then ``map_all`` the whole memfd; ``poison`` hits
    subpage 3 of hugepage 1 through the second. The kernel's kill list has one entry per
    mapping, the task gets one SIGBUS (a standard signal that is pending is not queued
    again); which address it carries tells which entry came first."""
    return {
        "name": _name(name, size),
        "hugepagesize": size,
        "steps": [
            _s("memfd_create", flags=_hugetlb(size)),
            _s("ftruncate", hugepages=2),
            _s("mmap", "map_1", hugepages=1, pgoff=1),
            _s("mmap", "map_all", hugepages=2),
            _s("fill"),
            poison,
            _s("load", "load_poisoned", hugepage=1, subpage=3, byte=0x11),
            _s("munmap", "unmap_all"),
            _s("load", "map_1_load_poisoned", hugepage=0, subpage=3, byte=0x11),
            _s("munmap", "unmap_1"),
            _s("close"),
        ],
    }


def scenario_t(size: str) -> Scenario:
    """T: two mappings (``_two_mappings``), MADV_HWPOISON."""
    return _two_mappings(size, "T", _s("madvise_hwpoison", "madv", hugepage=1, subpage=3))


def scenario_t_ar(size: str) -> Scenario:
    """T_AR: two mappings, a data-load machine check (SRAR) instead: the child that consumes
    it has both mappings (inherited). In a boot of its own: see the module docstring."""
    srar = _s("mce_srar", "srar", hugepage=1, subpage=3, byte=0x11)
    return {**_two_mappings(size, "T_AR", srar), "boot": "mce2"}


HP = HPS["2M"]

#: R: read(2), pread and lseek around poisoned subpage 0 of hugepage 1 and subpage 5 of
#: hugepage 2 of a 3-hugepage memfd.
SCENARIO_R: Scenario = {
    "name": "R",
    "hugepagesize": "2M",
    "steps": [
        *_memfd("2M", 3),
        _s("madvise_hwpoison", "madv_1_0", hugepage=1, subpage=0),
        _s("madvise_hwpoison", "madv_2_5", hugepage=2, subpage=5),
        _s("pread", "pread_into_poisoned_head", offset=HP - PS, length=2 * PS),
        _s("pread", "pread_at_poisoned", offset=HP, length=PS),
        _s("pread", "pread_after_poisoned", offset=HP + PS, length=64),
        _s("pread", "pread_on_to_next_poisoned", offset=HP + PS, length=0x300000),
        _s("pread", "pread_healthy_hugepage", offset=0, length=HP),
        _s("pread", "pread_short", offset=2 * HP, length=HP),
        _s("lseek", "seek_before_poisoned_head", offset=HP - PS),
        _s("read", "read_into_poisoned_head", length=2 * PS),
        _s("lseek", "pos_after_eio", offset=0, whence=SEEK_CUR),
        _s("read", "read_healthy", length=PS),
        _s("lseek", "pos_after_read", offset=0, whence=SEEK_CUR),
        _s("read", "read_at_poisoned", length=PS),
        _s("lseek", "seek_2_3", offset=2 * HP + 3 * PS),
        _s("read", "read_short", length=4 * PS),
        _s("lseek", "pos_after_short", offset=0, whence=SEEK_CUR),
        _s("read", "read_at_poisoned_2_5", length=PS),
        _s("lseek", "pos_after_eio_2_5", offset=0, whence=SEEK_CUR),
        _s("lseek", "seek_eof", offset=3 * HP),
        _s("read", "read_eof", length=PS),
        _s("munmap"),
        _s("close"),
    ],
}

#: S: MADV_SOFT_OFFLINE of an in-use subpage: the data moves to a new hugepage.
SCENARIO_S: Scenario = {
    "name": "S",
    "hugepagesize": "2M",
    "steps": [
        *_memfd("2M", 1),
        _s("pagemap", "pagemap_before", hugepage=0, subpage=3),
        _s("madvise_soft_offline", "soft_offline", hugepage=0, subpage=3),
        _s("pagemap", "pagemap_after", hugepage=0, subpage=3),
        _s("load", "load_offlined", hugepage=0, subpage=3, byte=0x11),
        _s("pread", "pread_offlined", offset=3 * PS, length=PS),
        _s("munmap"),
        _s("close"),
    ],
}

#: P: every page still counted free can be used; then shrink both pools to 0 (run last).
SCENARIO_P: Scenario = {
    "name": "P",
    "hugepagesize": "2M",
    "steps": [
        _s("touch_free", "touch_2m", kb=KB["2M"]),
        _s("touch_free", "touch_1g", kb=KB["1G"]),
        _s("nr_hugepages", "shrink_2m", kb=KB["2M"], count=0),
        _s("nr_hugepages", "shrink_1g", kb=KB["1G"], count=0),
    ],
}

#: H_AO: a memory-scrub machine check (SRAO) on an in-use subpage; the scenario process asked
#: for early kill, the peer (a default, late-kill mapper) touches the page afterwards.
SCENARIO_H_AO: Scenario = {
    "name": "H_AO",
    "hugepagesize": "2M",
    "boot": "mce",
    "steps": [
        *_memfd("2M", 1),
        _s("fork", "fork_late"),
        _s("load", "late_touch", hugepage=0, subpage=0, byte=7, peer=1),
        _s("prctl_mce_kill", "early", policy=PR_MCE_KILL_EARLY),
        _s("mce_srao", "srao", hugepage=0, subpage=3),
        _s("load", "late_load_poisoned", hugepage=0, subpage=3, byte=0x11, peer=1),
        _s("load", "load_other_subpage", hugepage=0, subpage=9, byte=0),
        _s("exit", "late_exit"),
        _s("munmap"),
        _s("close"),
    ],
}

#: H_AR: a data-load machine check (SRAR) while a child loads from the page; the peer maps it
#: too (default policy) and touches it afterwards.
SCENARIO_H_AR: Scenario = {
    "name": "H_AR",
    "hugepagesize": "2M",
    "boot": "mce",
    "steps": [
        *_memfd("2M", 1),
        _s("fork", "fork_other"),
        _s("load", "other_touch", hugepage=0, subpage=0, byte=7, peer=1),
        _s("mce_srar", "srar", hugepage=0, subpage=3, byte=0x11),
        _s("load", "other_load_poisoned", hugepage=0, subpage=3, byte=0x11, peer=1),
        _s("exit", "other_exit"),
        _s("munmap"),
        _s("close"),
    ],
}

SCENARIO_A = scenario_a("2M")
SCENARIO_M = scenario_m("2M")
SCENARIO_Z = scenario_z("2M")

#: The order the guest runs them in: P last (it shrinks the pools).
SCENARIOS: list[Scenario] = [
    *(make(size) for make in (scenario_a, scenario_b, scenario_f) for size in HPS),
    *(make(size) for make in (scenario_m, scenario_z, scenario_t) for size in HPS),
    SCENARIO_R,
    SCENARIO_S,
    PROBES,
    SCENARIO_P,
    SCENARIO_H_AO,
    SCENARIO_H_AR,
    *(scenario_t_ar(size) for size in HPS),
]


def boots(scenarios: list[Scenario]) -> dict[str, list[Scenario]]:
    """The scenarios of each boot, in order (a boot with no scenario is left out)."""
    out: dict[str, list[Scenario]] = {}
    for sc in scenarios:
        out.setdefault(boot_of(sc), []).append(sc)
    return out
