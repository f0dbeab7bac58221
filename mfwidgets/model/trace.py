"""The trace: an append-only log of frozen event records, the model's only notion of time.

Mirrors: the ras:memory_failure_event tracepoint and the kernel log (printk), as one stream.
Ordering comes from ``seq``, a counter; there is no wall-clock time in the model.

Both are rings of fixed size, like the kernel's own printk buffer and trace buffer, so a long
session stays bounded: the trace keeps the newest ``TRACE_CAPACITY`` events, the log the
newest ``LOG_CAPACITY`` lines, and each counts what it dropped. Counters (``seq``, the
memory_failure stats, meminfo) are kept elsewhere and stay exact.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import itertools
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from .mm import VmFault

#: events the trace keeps (about 20 MB of them at most)
TRACE_CAPACITY = 1 << 16
#: kernel log lines the log keeps (the kernel's CONFIG_LOG_BUF_SHIFT=17 ring: 128 KiB)
LOG_CAPACITY = 1 << 11


class EventKind(enum.Enum):
    """What happened. Kernel words where the kernel has one."""

    SYSCALL = "syscall"  # a call that succeeded; ``text`` shows it, strace-style
    FAULT = "fault"  # a page fault mapped a hugepage (allocating it if needed)
    COW = "cow"  # a write to a MAP_PRIVATE mapping copied the hugepage
    ALLOC = "alloc"  # a hugepage left the free list
    FREE = "free"  # a hugepage went back to the free list
    INJECT = "inject"  # MADV_HWPOISON, corrupt-pfn or a hardware error in DRAM
    MACHINE_CHECK = "machine_check"  # the CPU or the scrubber reported an error
    MEMORY_FAILURE = "memory_failure"  # memory_failure() handled a pfn: type and result
    SIGNAL = "signal"  # a SIGBUS (or SIGSEGV) was delivered
    UNMAP = "unmap"  # memory_failure() unmapped a hugepage from a process (hard offline)
    RELEASE = "release"  # the last reference to a memfd went: the inode was evicted
    LEAK = "leak"  # a poisoned hugepage left the page cache but not the pool
    DISSOLVE = "dissolve"  # a hugepage left the pool: healthy 4 KiB pages to the buddy allocator
    UNPOISON = "unpoison"
    SOFT_OFFLINE = "soft_offline"
    EXIT = "exit"  # a process exited (or was killed)
    PRINTK = "printk"  # a kernel log line; ``text`` is the line


class _Named(str, enum.Enum):
    """A str-valued enum that prints as its value: the model compares members, a renderer
    shows them as they are (the kernel's own words)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    @property
    def label(self) -> str:
        return str(self.value)


class MFMsg(_Named):
    """action_page_types[]: the kind of page memory_failure() found."""

    HUGE = "huge page"
    GET_HWPOISON = "get hwpoison page"
    FREE_HUGE = "free huge page"
    BUDDY = "free buddy page"
    ALREADY_POISONED = "already poisoned page"


class MFResult(_Named):
    """action_name[]: the outcome, and the node memory_failure/ bucket it is counted in."""

    IGNORED = "Ignored"
    FAILED = "Failed"
    DELAYED = "Delayed"
    RECOVERED = "Recovered"


class InjectSource(_Named):
    """Where an error came from: a software injection or a real error in DRAM."""

    MADV_HWPOISON = "MADV_HWPOISON"  # madvise(MADV_HWPOISON)
    CORRUPT_PFN = "corrupt-pfn"  # the hwpoison-inject debugfs file
    HW_LATENT = "hardware UE (latent)"  # nothing notices until a load consumes it
    HW_SCRUB = "hardware UE (scrub)"  # the patrol scrubber reports it at once


class Signal(_Named):
    """The signal a SIGNAL event delivered."""

    SIGBUS = "SIGBUS"
    SIGSEGV = "SIGSEGV"


@dataclasses.dataclass(frozen=True, slots=True)
class TraceEvent:
    """One event. A field that does not apply is None."""

    seq: int
    step: int
    kind: EventKind
    pid: int | None = None
    pfn: int | None = None
    folio: int | None = None  # the hugepage's number in the pool (Kernel.snapshot().folios)
    subpage: int | None = None
    addr: int | None = None
    mf_type: MFMsg | None = None  # e.g. MFMsg.HUGE, "huge page" (action_page_types[])
    mf_result: MFResult | None = None  # Ignored / Failed / Delayed / Recovered
    si_code: int | None = None
    addr_lsb: int | None = None
    errno: int | None = None  # 0 or a negative errno, kernel-style
    text: str | None = None
    source: InjectSource | None = None  # INJECT: where the error came from
    signal: Signal | None = None  # SIGNAL: which one
    fault: VmFault | None = None  # SIGNAL: the page fault result that raised it, if one did

    def describe(self) -> str:
        """One line for a tooltip or a step list: "#17 memory_failure: huge page: Recovered"."""
        if self.kind is EventKind.MEMORY_FAILURE:
            what = f"{self.mf_type}: {self.mf_result}"
        else:
            what = self.text or (f"{self.addr:#x}" if self.addr is not None else "")
        return f"#{self.seq} {self.kind.value}" + (f": {what}" if what else "")

    def row(self) -> dict[str, Any]:
        """The event as a plain dict (for a dataframe or a table widget)."""
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, enum.Enum):
                out[key] = value.value
        return out


class Trace(Sequence[TraceEvent]):
    """The newest events, oldest first (a ring of ``capacity``); only the model appends.

    ``dropped`` counts the events that fell out of the ring, ``log_dropped`` the log lines.
    Indexing and ``len`` are over the events kept; ``event(seq)`` finds one by its seq.
    """

    def __init__(self, capacity: int = TRACE_CAPACITY, log_capacity: int = LOG_CAPACITY) -> None:
        self._events: collections.deque[TraceEvent] = collections.deque(maxlen=capacity)
        self._log: collections.deque[str] = collections.deque(maxlen=log_capacity)
        self.dropped = 0
        self.log_dropped = 0

    @property
    def capacity(self) -> int:
        return self._events.maxlen or 0

    def _append(self, event: TraceEvent) -> None:
        if len(self._events) == self._events.maxlen:
            self.dropped += 1
        self._events.append(event)
        if event.kind is EventKind.PRINTK and event.text:
            if len(self._log) == self._log.maxlen:
                self.log_dropped += 1
            self._log.append(event.text)

    @overload
    def __getitem__(self, i: int) -> TraceEvent: ...
    @overload
    def __getitem__(self, i: slice) -> list[TraceEvent]: ...
    def __getitem__(self, i: int | slice) -> TraceEvent | list[TraceEvent]:
        if isinstance(i, slice):
            return list(self._events)[i]
        return self._events[i]

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[TraceEvent]:
        return iter(self._events)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Trace):
            return (self._events, self.dropped) == (other._events, other.dropped)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def event(self, seq: int) -> TraceEvent | None:
        """The event numbered ``seq``, or None if it was dropped (or is yet to come)."""
        if not self._events:
            return None
        i = seq - self._events[0].seq  # seq counts by one, so it is an offset
        return self._events[i] if 0 <= i < len(self._events) else None

    def tail(self, n: int = 10) -> list[TraceEvent]:
        """The last ``n`` events."""
        return list(itertools.islice(reversed(self._events), max(n, 0)))[::-1]

    def since(self, seq: int) -> list[TraceEvent]:
        """The events kept with ``seq`` greater than ``seq``, oldest first. Walks back from the
        newest, so its cost is the number of events returned."""
        out = []
        for e in reversed(self._events):
            if e.seq <= seq:
                break
            out.append(e)
        out.reverse()
        return out

    def filter(self, kind: EventKind | None = None, pid: int | None = None) -> list[TraceEvent]:
        """Events of one kind and/or one process."""
        return [
            e
            for e in self._events
            if (kind is None or e.kind is kind) and (pid is None or e.pid == pid)
        ]

    def dmesg(self) -> list[str]:
        """The kernel log, oldest first: the newest ``LOG_CAPACITY`` lines, after a line that
        says how many older ones were dropped, if any."""
        lines = list(self._log)
        if self.log_dropped:
            lines.insert(0, f"** {self.log_dropped} printk messages dropped **")
        return lines

    def rows(self) -> list[dict[str, Any]]:
        return [e.row() for e in self._events]

    def table(self, events: Sequence[TraceEvent] | None = None) -> str:
        """A Markdown table of ``events`` (default: all), one line an event."""
        lines = ["| seq | step | kind | pid | pfn | addr | what |", "|---|---|---|---|---|---|---|"]
        for e in self._events if events is None else events:
            what = e.text or ""
            if e.kind is EventKind.MEMORY_FAILURE:
                what = f"{e.mf_type}: {e.mf_result}"
            elif e.kind is EventKind.SIGNAL:
                what = f"si_code={e.si_code} lsb={e.addr_lsb}"
            lines.append(
                f"| {e.seq} | {e.step} | {e.kind.value} | {'' if e.pid is None else e.pid} | "
                f"{'' if e.pfn is None else hex(e.pfn)} | "
                f"{'' if e.addr is None else hex(e.addr)} | {what} |"
            )
        return "\n".join(lines)
