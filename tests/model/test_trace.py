"""The trace and the kernel log are rings of fixed size: a long session stays bounded, the
newest events and lines are kept, what was dropped is counted, and counters stay exact."""

from __future__ import annotations

import mfwidgets as mf
from mfwidgets.model.trace import LOG_CAPACITY, TRACE_CAPACITY, EventKind, Trace, TraceEvent

PS = mf.PAGE_SIZE


def _line(seq: int) -> TraceEvent:
    return TraceEvent(seq, seq, EventKind.PRINTK, text=f"line {seq}")


def test_a_small_ring_keeps_the_newest_and_counts_the_rest() -> None:
    t = Trace(capacity=4, log_capacity=3)
    for seq in range(1, 11):
        t._append(_line(seq))
    assert [e.seq for e in t] == [7, 8, 9, 10]
    assert (len(t), t.capacity, t.dropped, t.log_dropped) == (4, 4, 6, 7)
    assert t.dmesg() == ["** 7 printk messages dropped **", "line 8", "line 9", "line 10"]
    assert [e.seq for e in t.since(8)] == [9, 10]
    assert [e.seq for e in t.since(2)] == [7, 8, 9, 10]  # the dropped ones are gone
    assert [e.seq for e in t.tail(2)] == [9, 10] and t.tail(0) == []
    assert t.event(7) is t[0] and t.event(6) is None and t.event(11) is None


def test_a_long_session_keeps_the_trace_and_log_bounded_and_the_counters_exact() -> None:
    """Every MADV_HWPOISON of a new subpage of a kept 1 GiB hugepage logs two lines and
    counts one recovered page: after far more than either ring holds, both are full, the
    first line says how many were dropped, and the counters count every one."""
    k = mf.Kernel({"1G": 1})
    p = k.spawn("vmm", handle_sigbus=True)
    fd = p.memfd_create("guest", mf.MFD_HUGETLB | mf.MFD_HUGE_1GB | mf.MFD_MF_KEEP_UE_MAPPED)
    p.ftruncate(fd, mf.SZ_1G)
    a = p.mmap(mf.SZ_1G, mf.PROT_READ | mf.PROT_WRITE, mf.MAP_SHARED, fd)
    mf.Kernel.debug_vm = False  # the invariant checker walks every raw page: quadratic here
    n = 25_000
    for i in range(n):
        assert p.madvise(a + i * PS, PS, mf.MADV_HWPOISON) == 0
    assert len(k.trace) == TRACE_CAPACITY and k.trace.dropped == k.seq - TRACE_CAPACITY
    log = k.dmesg()
    assert len(log) == LOG_CAPACITY + 1
    assert log[0] == f"** {k.trace.log_dropped} printk messages dropped **"
    last = k.folio_of_pfn(p.virt_to_pfn(a + (n - 1) * PS) or 0)
    assert last is not None
    assert (
        log[-1]
        == f"Memory failure: {last.pfn + n - 1:#x}: recovery action for huge page: Recovered"
    )
    assert k.mf_stats.recovered == n and k.meminfo()["HardwareCorrupted"] == 4 * n
    assert len(p.signals) == n
    snap = k.snapshot()  # a subpage whose last event was dropped still describes itself
    assert snap.folios[0].last_event[0] == f"#{last.last_event[0]} (no longer in the trace)"
