"""The keep scenarios: MFD_MF_KEEP_UE_MAPPED on a kernel built with the series (patched.py).

One boot (``keep``) runs the series' own selftest for both page sizes, then each keep scenario
next to the same steps on a stock memfd (``_stock``), 2 MiB and 1 GiB, on one kernel; a second
boot (``keep_mce``, an Intel CPU model) raises real machine checks from the qemu monitor on a
kept hugepage. Positions: subpage 65 (offset 0x41000 of a 2 MiB page) and 127 (0x7f000) are two
of the selftest's own offsets; for 1 GiB, subpages 2049 (0x801000) and 4095 (0x3fff000).

Step ids name what each step shows; the kernel log, counters and signals of every step are
compared with the model (``Kernel(supports_keep_ue_mapped=True)``).
"""

from __future__ import annotations

from .scenario import (
    HPS,
    MFD_MF_KEEP_UE_MAPPED,
    PR_MCE_KILL_EARLY,
    PS,
    SEEK_CUR,
    Scenario,
    _memfd,
    _s,
)

#: the two raw pages poisoned in hugepage 0, per page size (the selftest's offsets)
FIRST = {"2M": 65, "1G": 2049}
SECOND = {"2M": 127, "1G": 4095}


def _name(base: str, size: str, keep: bool) -> str:
    return base + ("" if size == "2M" else f"_{size}") + ("" if keep else "_stock")


def selftest(size: str, pages: int) -> Scenario:
    """The series' selftest ``hugetlb-mfr`` as it ships (four hugepages, ``pages`` raw pages of
    the first poisoned by MADV_HWPOISON from a thread each, then released)."""
    return {
        "name": f"SELFTEST_{size}",
        "hugepagesize": size,
        "boot": "keep",
        "steps": [_s("selftest", "hugetlb_mfr", pages=pages)],
    }


def scenario_k(size: str, keep: bool) -> Scenario:
    """K: a filled two-hugepage memfd, a peer forked before the error; MADV_HWPOISON of one raw
    page, then every way to look at it: loads, read()/pread() across it, the peer's old and
    fresh mappings; a second error in the same hugepage, the same page again; hole punch,
    ftruncate with the mapping live, the last munmap and close; then whether the poisoned raw
    page is handed to a new process."""
    hp, sub, sub2 = HPS[size], FIRST[size], SECOND[size]
    last = hp // PS - 1
    return {
        "name": _name("K", size, keep),
        "hugepagesize": size,
        "boot": "keep",
        "steps": [
            *_memfd(size, 2, MFD_MF_KEEP_UE_MAPPED if keep else 0),
            _s("fork", "fork_before"),
            _s("madvise_hwpoison", "madv", hugepage=0, subpage=sub),
            _s("pagemap", "pagemap_poisoned", hugepage=0, subpage=sub),
            _s("load", "load_poisoned", hugepage=0, subpage=sub, byte=7),
            _s("load", "load_first", hugepage=0, subpage=0, byte=7),
            _s("load", "load_last", hugepage=0, subpage=last, byte=PS - 1),
            _s("load", "load_other_hugepage", hugepage=1, subpage=5, byte=7),
            _s("load", "peer_load_poisoned", hugepage=0, subpage=sub, byte=7, peer=1),
            _s("pread", "pread_whole_hugepage", offset=0, length=hp),
            _s("pread", "pread_poisoned", offset=sub * PS, length=PS),
            _s("pread", "pread_after_poisoned", offset=(sub + 1) * PS, length=64),
            _s("lseek", "seek_before_poisoned", offset=(sub - 1) * PS),
            _s("read", "read_across_poisoned", length=2 * PS),
            _s("lseek", "pos_after_read", offset=0, whence=SEEK_CUR),
            _s("read", "read_at_pos", length=PS),
            _s("munmap", "peer_unmap", peer=1),
            _s("mmap", "peer_fresh_mmap", hugepages=2, peer=1),
            _s("load", "peer_fresh_load_poisoned", hugepage=0, subpage=sub, byte=7, peer=1),
            _s("load", "peer_fresh_load_healthy", hugepage=0, subpage=3, byte=7, peer=1),
            _s("exit", "peer_exit"),
            _s("madvise_hwpoison", "madv_second", hugepage=0, subpage=sub2),
            _s("madvise_hwpoison", "madv_same_again", hugepage=0, subpage=sub),
            _s("load", "load_second", hugepage=0, subpage=sub2, byte=7),
            _s("punch_hole", "punch_healthy", hugepage=1),
            _s("ftruncate", "truncate_mapped", hugepages=0),
            _s("load", "load_after_truncate", hugepage=0, subpage=3, byte=7),
            _s("munmap", "last_munmap"),
            _s("close"),
            _s("anon_find", "poisoned_page_reused", hugepage=0, subpage=sub),
        ],
    }


def scenario_c(size: str, keep: bool) -> Scenario:
    """C: close() with the mapping live; the mapping still works; the last munmap releases
    the poisoned hugepage."""
    sub = FIRST[size]
    return {
        "name": _name("C", size, keep),
        "hugepagesize": size,
        "boot": "keep",
        "steps": [
            *_memfd(size, 1, MFD_MF_KEEP_UE_MAPPED if keep else 0),
            _s("madvise_hwpoison", "madv", hugepage=0, subpage=sub),
            _s("close", "close_mapped"),
            _s("load", "load_poisoned", hugepage=0, subpage=sub, byte=7),
            _s("load", "load_healthy", hugepage=0, subpage=3, byte=7),
            _s("munmap", "last_munmap"),
            _s("anon_find", "poisoned_page_reused", hugepage=0, subpage=sub),
        ],
    }


#: MADV_HWPOISON of ordinary (non-hugetlb) memory on the patched kernel
V3_ORDINARY: Scenario = {
    "name": "V3_ORDINARY",
    "hugepagesize": "2M",
    "boot": "keep",
    "steps": [_s("anon_hwpoison", "ordinary_page")],
}

#: KH_AO: a memory-scrub machine check (SRAO) on a kept hugepage; the scenario process asked for
#: early kill, the peer (late kill) loads the page afterwards; then a second SRAO in the same
#: hugepage.
SCENARIO_KH_AO: Scenario = {
    "name": "KH_AO",
    "hugepagesize": "2M",
    "boot": "keep_mce",
    "steps": [
        *_memfd("2M", 1, MFD_MF_KEEP_UE_MAPPED),
        _s("fork", "fork_late"),
        _s("load", "late_touch", hugepage=0, subpage=0, byte=7, peer=1),
        _s("prctl_mce_kill", "early", policy=PR_MCE_KILL_EARLY),
        _s("mce_srao", "srao", hugepage=0, subpage=65),
        _s("load", "late_load_poisoned", hugepage=0, subpage=65, byte=7, peer=1),
        _s("load", "load_other_subpage", hugepage=0, subpage=9, byte=7),
        _s("mce_srao", "srao_second", hugepage=0, subpage=127),
        _s("load", "late_load_second", hugepage=0, subpage=127, byte=7, peer=1),
        _s("exit", "late_exit"),
        _s("munmap"),
        _s("close"),
    ],
}

#: KH_AR: data-load machine checks (SRAR) on a kept hugepage: the first error, a second one in
#: the same hugepage, and the first page again.
SCENARIO_KH_AR: Scenario = {
    "name": "KH_AR",
    "hugepagesize": "2M",
    "boot": "keep_mce",
    "steps": [
        *_memfd("2M", 1, MFD_MF_KEEP_UE_MAPPED),
        _s("fork", "fork_other"),
        _s("load", "other_touch", hugepage=0, subpage=0, byte=7, peer=1),
        _s("mce_srar", "srar", hugepage=0, subpage=65, byte=7),
        _s("load", "other_load_poisoned", hugepage=0, subpage=65, byte=7, peer=1),
        _s("mce_srar", "srar_second", hugepage=0, subpage=127, byte=7),
        _s("mce_srar", "srar_same_again", hugepage=0, subpage=65, byte=7),
        _s("exit", "other_exit"),
        _s("munmap"),
        _s("close"),
    ],
}

#: The order the guest runs them in (one kernel per boot: pool counters carry over).
SCENARIOS: list[Scenario] = [
    selftest("2M", 8),
    selftest("1G", 1),
    *(make(size, keep) for make in (scenario_k,) for size in HPS for keep in (True, False)),
    *(scenario_c(size, keep) for size in HPS for keep in (True, False)),
    V3_ORDINARY,
    SCENARIO_KH_AO,
    SCENARIO_KH_AR,
]
