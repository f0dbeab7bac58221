"""The stock scenarios: the built-in list (SCENARIOS) that every kernel version runs, in the
format of scenario.py, in the order the guest runs them.

A, B, F, M, Z and T run for both hugepage sizes; R (read/pread/lseek), S (soft offline), the
memfd_create probes and P (pool shrink, last of its boot) for 2 MiB; H_AO, H_AR and T_AR in the
machine-check boots. The keep series' scenarios are in keep.py.
"""

from __future__ import annotations

from .scenario import (
    HPS,
    KB,
    MFD_EXEC,
    MFD_HUGE_1GB,
    MFD_HUGE_2MB,
    MFD_HUGETLB,
    MFD_MF_KEEP_UE_MAPPED,
    MFD_NOEXEC_SEAL,
    PR_MCE_KILL_EARLY,
    PS,
    SEEK_CUR,
    Scenario,
    Step,
    _hugetlb,
    _memfd,
    _s,
)


def _name(base: str, size: str) -> str:
    return base if size == "2M" else f"{base}_{size}"


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
    it has both mappings (inherited). In a boot of its own: see
    scenario.py's module docstring."""
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
