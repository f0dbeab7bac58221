"""Process.load_many() means exactly what calling load() for each address means."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mfwidgets as mf
from mfwidgets.model import batch as batch_module

HPS = mf.SZ_2M


def world(
    keep: bool, handler: bool, errors: list[tuple[int, int, str]]
) -> tuple[mf.Kernel, mf.Process, int]:
    k = mf.Kernel(hugepages={"2M": 4}, supports_keep_ue_mapped=True)
    p = k.spawn("guest", handle_sigbus=handler)
    fd = p.memfd_create("g", mf.MFD_HUGETLB | (mf.MFD_MF_KEEP_UE_MAPPED if keep else 0))
    p.ftruncate(fd, 3 * HPS)
    addr = p.mmap(4 * HPS, mf.PROT_READ | mf.PROT_WRITE, mf.MAP_SHARED, fd)
    p.fill(addr, 2 * HPS, 0x5A)  # hugepage 2 is left to be faulted in by the loads
    heads = [p.virt_to_pfn(addr + page * HPS) for page in range(2)]
    for page, sub, kind in errors:
        k.hw_ue(heads[page] + sub, detect=kind)  # type: ignore[operator]
    return k, p, addr


@settings(max_examples=300, deadline=None)
@given(
    keep=st.booleans(),
    handler=st.booleans(),
    errors=st.lists(
        st.tuples(st.integers(0, 1), st.integers(0, 511), st.sampled_from(["latent", "scrub"])),
        max_size=4,
        unique_by=lambda e: e[:2],
    ),
    offsets=st.lists(st.integers(0, 4 * HPS - 1), min_size=1, max_size=60),
)
def test_load_many_equals_one_load_at_a_time(
    keep: bool, handler: bool, errors: list[tuple[int, int, str]], offsets: list[int]
) -> None:
    k1, p1, addr = world(keep, handler, errors)
    k2, p2, _ = world(keep, handler, errors)
    addrs = [addr + o for o in offsets]
    batch = p1.load_many(np.array(addrs), 8)
    ok, faults = 0, []
    for i, a in enumerate(addrs):
        if not p2.alive:
            break
        access = p2.load(a, 8)
        ok += access.ok
        if access.signal is not None:
            faults.append((i, access.signal))
    assert (batch.ok, list(batch.faults)) == (ok, faults)
    assert batch.done == (len(addrs) if p2.alive else faults[-1][0] + 1)
    assert k1.dmesg() == k2.dmesg()
    assert k1.meminfo() == k2.meminfo() and p1.alive == p2.alive


def test_load_many_counts_plain_hits_in_bulk() -> None:
    k, p, addr = world(True, True, [(0, 3, "scrub")])
    rng = np.random.default_rng(0)
    addrs = addr + rng.integers(0, 2 * HPS // 8, size=100_000) * 8
    batch = p.load_many(addrs, 8)
    hits = int(((addrs - addr) // 4096 == 3).sum())
    assert (batch.done, batch.ok, len(batch.faults)) == (100_000, 100_000 - hits, hits)
    assert {f.si_addr_lsb for _, f in batch.faults} == {12}


def test_load_many_rejects_bad_input() -> None:
    k, p, addr = world(True, True, [])
    with pytest.raises(ValueError):
        p.load_many([[addr]], 8)
    with pytest.raises(ValueError):
        p.load_many([-1], 8)


def test_a_machine_check_reclassifies_only_the_loads_into_its_folio(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cost follows the loads and the poisoned pages they hit: the batch is classified
    once in full; after each machine check only the later loads into that hugepage are
    looked at again, against that folio's entries only (it used to rescan every entry)."""
    k = mf.Kernel(hugepages={"1G": 4}, supports_keep_ue_mapped=True)
    p = k.spawn("vmm", handle_sigbus=True)
    fd = p.memfd_create("g", mf.MFD_HUGETLB | mf.MFD_HUGE_1GB | mf.MFD_MF_KEEP_UE_MAPPED)
    p.ftruncate(fd, 4 * mf.SZ_1G)
    addr = p.mmap(4 * mf.SZ_1G, mf.PROT_READ | mf.PROT_WRITE, mf.MAP_SHARED, fd)
    p.fill(addr, 4 * mf.SZ_1G, 0x5A)
    pfn = p.virt_to_pfn(addr + 2 * mf.SZ_1G)
    assert pfn is not None
    for sub in (5, 9):
        k.hw_ue(pfn + sub)  # latent: each first load of it is a machine check
    calls: list[tuple[int, frozenset[int] | None]] = []
    plain = batch_module._plain

    def spy(proc, addrs, length, folios=None):  # type: ignore[no-untyped-def]
        calls.append((len(addrs), None if folios is None else frozenset(folios)))
        return plain(proc, addrs, length, folios)

    monkeypatch.setattr(batch_module, "_plain", spy)
    rng = np.random.default_rng(3)
    addrs = addr + rng.integers(0, 4 * mf.SZ_1G // 8, size=10_000) * 8
    hit = [addr + 2 * mf.SZ_1G + 5 * mf.PAGE_SIZE, addr + 2 * mf.SZ_1G + 9 * mf.PAGE_SIZE]
    addrs[[1000, 6000]] = hit
    batch = p.load_many(addrs, 8)
    assert [i for i, _ in batch.faults] == [1000, 6000]
    folio = k.folio_of_pfn(pfn)
    assert folio is not None
    later_into_it = [int(((addrs[j + 1 :] - addr) // mf.SZ_1G == 2).sum()) for j in (1000, 6000)]
    assert calls == [(10_000, None)] + [(n, frozenset({folio.number})) for n in later_into_it]
