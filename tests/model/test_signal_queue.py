"""One access, one SIGBUS: a standard signal that is already pending is not queued again
(legacy_queue() in kernel/signal.c), so a task that maps a poisoned hugepage through two VMAs
gets one SIGBUS although kill_procs() sends one per VMA. Which address it carries is the
first entry of the kill list: VMAs in the order of the file's interval tree (by first file
index, oldest first), as the recordings of 6.1, 6.12 and 7.3 show (conformance scenarios
T and T_AR)."""

from __future__ import annotations

import numpy as np

import mfwidgets as mf

PS = mf.PAGE_SIZE
RW = mf.PROT_READ | mf.PROT_WRITE
SEND = "Memory failure: {:#x}: Sending SIGBUS to p:{} due to hardware memory corruption"


def _two_mappings(k: mf.Kernel, size: int) -> tuple[mf.Process, int, int, int]:
    """A memfd of two hugepages; ``first`` maps only hugepage 1 (file offset one hugepage),
    ``second`` (newer) the whole file. Returns (process, fd, first, second)."""
    p = k.spawn("p", handle_sigbus=True)
    flags = mf.MFD_HUGETLB | (mf.MFD_HUGE_1GB if size == mf.SZ_1G else 0)
    fd = p.memfd_create("m", flags)
    p.ftruncate(fd, 2 * size)
    first = p.mmap(size, RW, mf.MAP_SHARED, fd, size)
    second = p.mmap(2 * size, RW, mf.MAP_SHARED, fd)
    assert p.fill(second, 2 * size, 0xAB).ok
    return p, fd, first, second


def test_madvise_hwpoison_through_two_mappings_queues_one_sigbus() -> None:
    for size, lsb in ((mf.SZ_2M, 21), (mf.SZ_1G, 30)):
        k = mf.Kernel({"2M": 2, "1G": 2})
        p, _, first, second = _two_mappings(k, size)
        pfn = p.virt_to_pfn(second + size + 3 * PS)
        assert pfn is not None
        assert p.madvise(second + size + 3 * PS, PS, mf.MADV_HWPOISON) == 0
        # The kill list has the whole-file mapping (file index 0) first.
        assert p.signals == [
            mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AR, second + size + 3 * PS, lsb, p.pid)
        ]
        assert k.dmesg()[-3:] == [
            SEND.format(pfn, p.pid),
            SEND.format(pfn, p.pid),
            f"Memory failure: {pfn:#x}: recovery action for huge page: Recovered",
        ]
        assert len(k.trace.filter(mf.EventKind.SIGNAL)) == 1
        assert p.pending == {}


def test_a_load_of_a_latent_error_through_two_mappings_gets_one_sigbus() -> None:
    k = mf.Kernel({"2M": 2})
    p, _, first, second = _two_mappings(k, mf.SZ_2M)
    pfn = p.virt_to_pfn(second + mf.SZ_2M + 3 * PS)
    assert pfn is not None
    k.hw_ue(pfn)
    acc = p.load(first + 3 * PS + 0x11)
    # 7.3 names the raw page, through the first VMA of the kill list (the whole-file one),
    # not the one the load went through.
    want = mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AR, second + mf.SZ_2M + 3 * PS, 21, p.pid)
    assert acc.signal == want
    assert p.signals == [want]


def test_two_private_mappings_of_one_file_index_name_the_older() -> None:
    """Found by the state machine (2 x 1 GiB, a latent error at subpage 0, two private
    mappings of the same range, one load): one SIGBUS, at the older VMA's address."""
    k = mf.Kernel({"1G": 2})
    p = k.spawn("p", handle_sigbus=True)
    fd = p.memfd_create("m", mf.MFD_HUGETLB | mf.MFD_HUGE_1GB)
    p.ftruncate(fd, mf.SZ_1G)
    older = p.mmap(mf.SZ_1G, RW, mf.MAP_SHARED, fd)
    newer = p.mmap(mf.SZ_1G, mf.PROT_READ, mf.MAP_PRIVATE, fd)
    assert p.load(older).ok and p.load(newer).ok
    pfn = p.virt_to_pfn(older)
    assert pfn is not None
    k.hw_ue(pfn)
    acc = p.load(newer)
    assert acc.signal == mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AR, older, 30, p.pid)
    assert p.signals == [acc.signal]


def test_an_early_kill_peer_with_two_mappings_gets_one_action_optional_sigbus() -> None:
    k = mf.Kernel({"2M": 2})
    p, _, first, second = _two_mappings(k, mf.SZ_2M)
    peer = p.fork()
    peer.prctl_mce_kill("early")
    assert peer.load(first).ok and peer.load(second + mf.SZ_2M).ok
    assert p.madvise(first + 3 * PS, PS, mf.MADV_HWPOISON) == 0
    assert peer.signals == [
        mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AO, second + mf.SZ_2M + 3 * PS, 21, peer.pid)
    ]
    assert len(p.signals) == 1


def test_each_load_of_a_batch_gets_its_own_sigbus() -> None:
    """The handler runs between two loads: the signal is no longer pending, so the next
    poisoned load is signalled again."""
    k = mf.Kernel({"2M": 2})
    p = k.spawn("p", handle_sigbus=True)
    fd = p.memfd_create("m", mf.MFD_HUGETLB)
    p.ftruncate(fd, 2 * mf.SZ_2M)
    a = p.mmap(2 * mf.SZ_2M, RW, mf.MAP_SHARED, fd)
    p.fill(a, 2 * mf.SZ_2M, 1)
    p.madvise(a + PS, PS, mf.MADV_HWPOISON)
    batch = p.load_many(np.array([a + PS, a + mf.SZ_2M, a + PS + 8]), 8)
    assert batch.done == 3 and batch.ok == 1
    assert [i for i, _ in batch.faults] == [0, 2]
    assert len(p.signals) == 1 + 2  # the MADV_HWPOISON AR, then one per poisoned load
    assert p.signals[1:] == [s for _, s in batch.faults]
