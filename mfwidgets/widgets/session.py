"""Session: the world a widget explores, and its history, without any UI.

A session boots a kernel, starts a VMM process that backs a guest with one hugetlb memfd
(mapped, filled), and then applies the learner's actions one by one. Every action is a record,
so any earlier step can be rebuilt by replaying the actions on a fresh kernel: the model is
deterministic, which is what makes "step back" honest.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np

from ..model import (
    MADV_HWPOISON,
    MAP_SHARED,
    MFD_HUGE_1GB,
    MFD_HUGE_2MB,
    MFD_HUGETLB,
    MFD_MF_KEEP_UE_MAPPED,
    PAGE_SHIFT,
    PROT_READ,
    PROT_WRITE,
    Access,
    Kernel,
    Snapshot,
    SubpageState,
    TraceEvent,
)
from ..model.kernel import VERSIONS
from ..params import param, violations
from .explain import Context, explain, path_stage

FILL_BYTE = 0x5A
STORE_BYTES = b"\xc3" * 8
SIZES = {"2M": (1 << 21, MFD_HUGE_2MB), "1G": (1 << 30, MFD_HUGE_1GB)}


class ErrorKind(str, enum.Enum):
    """The error an inject click makes; the value is the scenario files' word for it."""

    SOFTWARE = "software"  # madvise(MADV_HWPOISON), or corrupt-pfn when not mapped
    HW_LATENT = "hardware, latent"  # a DRAM error nothing has noticed yet
    HW_SCRUBBED = "hardware, scrubbed"  # a DRAM error the patrol scrubber reports at once


ERROR_KINDS = tuple(k.value for k in ErrorKind)
CLICK_MODES = ("inject", "load", "store")
BUTTON_OPS = ("close", "munmap", "ftruncate(0)", "exit")
DMESG_TAIL = 12  # kernel log lines a step keeps for its view
SIGNALS_TAIL = 8  # signals a step keeps for its view


@dataclasses.dataclass(frozen=True)
class Setup:
    """What the learner picks before the first click; each field declared once, with bounds."""

    series: bool = param(True, "the kernel carries the proposed MFD_MF_KEEP_UE_MAPPED series")
    size: str = param("2M", "hugepage size", choices=tuple(SIZES), label="hugepage size")
    nr_hugepages: int = param(4, "hugepages in the pool and in the guest's memfd", bounds=(1, 8))
    keep_ue_mapped: bool = param(True, "create the memfd with MFD_MF_KEEP_UE_MAPPED")
    version: str = param(
        "7.3",
        "the kernel version whose behaviour the model reproduces",
        choices=VERSIONS,
        label="kernel version",
    )

    def check(self) -> None:
        """Raises ValueError naming the field and what it must be."""
        for v in violations(self):
            p = v.param
            if v.rule == "choice":
                rule = p.choices_text()
            elif v.rule == "type":
                rule = "an integer"
            else:
                lo, hi = p.bounds or (0, 0)
                rule = f"{lo}..{hi}"
            raise ValueError(f"{p.label or v.name} must be {rule}, not {v.value!r}")

    @property
    def policy(self) -> str:
        keep = self.series and self.keep_ue_mapped
        return "MFD_MF_KEEP_UE_MAPPED" if keep else "stock (hard offline)"


@dataclasses.dataclass(frozen=True)
class Action:
    """One thing the learner did: a click on a subpage, or a button."""

    op: str  # "inject", "load", "store", or one of BUTTON_OPS
    folio: int | None = None
    subpage: int | None = None
    kind: str | None = None  # for "inject": one of ERROR_KINDS

    def label(self) -> str:
        if self.folio is None:
            return self.op
        where = f"hugepage #{self.folio}, subpage {self.subpage}"
        return f"{self.op} ({self.kind}) at {where}" if self.kind else f"{self.op} at {where}"


class ChangedCells(Sequence[tuple[int, int]]):
    """The (folio, subpage) cells whose state changed, all of them: a stock 1 GiB hard offline
    changes 262,144. Kept as two arrays, so its length is known at once and nothing is capped;
    compares equal to a tuple of pairs."""

    __slots__ = ("folios", "subpages")

    def __init__(self, folios: np.ndarray | None = None, subpages: np.ndarray | None = None):
        self.folios = np.zeros(0, np.int64) if folios is None else folios
        self.subpages = np.zeros(0, np.int64) if subpages is None else subpages

    def __len__(self) -> int:
        return len(self.subpages)

    @overload
    def __getitem__(self, i: int) -> tuple[int, int]: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[tuple[int, int], ...]: ...
    def __getitem__(self, i: int | slice) -> tuple[int, int] | tuple[tuple[int, int], ...]:
        if isinstance(i, slice):
            return tuple(zip(self.folios[i].tolist(), self.subpages[i].tolist(), strict=True))
        return int(self.folios[i]), int(self.subpages[i])

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return zip(self.folios.tolist(), self.subpages.tolist(), strict=True)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return len(self) == len(other) and all(
                a == tuple(b) for a, b in zip(self, other, strict=True)
            )
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ChangedCells({len(self)} cells)"


@dataclasses.dataclass(frozen=True)
class Step:
    """What one action did: the call, its outcome in words, and the world afterwards, with
    everything a view of this step shows (the log and the signals as they were then), so going
    back in history shows exactly that moment and nothing that came later."""

    action: Action
    call: str  # the syscall or kernel entry it performed, C-like
    error: str | None  # "EINVAL: ..." when the kernel refused
    access: Access | None
    events: tuple[TraceEvent, ...]
    explanation: tuple[str, ...]
    snapshot: Snapshot
    changed: ChangedCells  # (folio, subpage) cells whose state changed, every one
    peek: bytes | None = None  # the first bytes of the clicked subpage afterwards, if any
    dmesg: tuple[str, ...] = ()  # the tail of the kernel log after this step
    signals: tuple[str, ...] = ()  # the last signals the VMM had received after this step
    stage: str | None = None  # where on the error's path this step is (plots/diagram.py KEYS)


class Session:
    """A kernel, a VMM process ``vmm`` with the guest memfd ``fd`` mapped at ``addr``, and the
    steps taken so far (``steps[0]`` is the boot)."""

    def __init__(self, setup: Setup, kernel: Kernel | None = None) -> None:
        setup.check()
        self.setup = setup
        if kernel is None:
            kernel = Kernel({setup.size: setup.nr_hugepages}, setup.series, version=setup.version)
        elif kernel.processes:
            raise ValueError("pass a freshly booted Kernel (it has processes already)")
        self.kernel = kernel
        hps, size_flag = SIZES[setup.size]
        self.hugepage_size = hps
        self.vmm = kernel.spawn("vmm", handle_sigbus=True)
        flags = MFD_HUGETLB | size_flag | (MFD_MF_KEEP_UE_MAPPED if setup.keep_ue_mapped else 0)
        # May raise EINVAL (the flag on a stock kernel): the caller shows it and keeps its old
        # session.
        self.fd = self.vmm.memfd_create("guest", flags)
        self.memfd = kernel.memfds[-1]
        self.length = setup.nr_hugepages * hps
        self.vmm.ftruncate(self.fd, self.length)
        self.addr = self.vmm.mmap(self.length, PROT_READ | PROT_WRITE, MAP_SHARED, self.fd)
        self.vmm.fill(self.addr, self.length, FILL_BYTE)
        boot = Action("boot")
        snap = kernel.snapshot()
        words = (
            f"Booted a kernel {'with' if setup.series else 'without'} the proposed series, "
            f"{setup.nr_hugepages} x {setup.size} hugepages. The VMM created the guest memfd "
            f"({setup.policy}), mapped it at {self.addr:#x} and filled it with {FILL_BYTE:#04x}.",
        )
        self.steps: list[Step] = [
            Step(
                boot,
                "boot",
                None,
                None,
                tuple(kernel.trace),
                words,
                snap,
                ChangedCells(),
                dmesg=self._dmesg(),
                signals=self._signals(),
            )
        ]

    @classmethod
    def replay(cls, setup: Setup, actions: Sequence[Action]) -> Session:
        """A new session with ``actions`` applied: the world as it was after them."""
        session = cls(setup)
        for action in actions:
            session.apply(action)
        return session

    @property
    def actions(self) -> list[Action]:
        return [s.action for s in self.steps[1:]]

    def vaddr(self, folio: int, subpage: int) -> int | None:
        """The VMM's virtual address of a subpage, if the folio is in the guest memfd."""
        view = self.steps[-1].snapshot.folios[folio]
        if view.memfd != "guest" or view.index is None:
            return None
        return self.addr + view.index * self.hugepage_size + (subpage << PAGE_SHIFT)

    def pfn(self, folio: int, subpage: int) -> int:
        return self.steps[-1].snapshot.folios[folio].pfn + subpage

    def apply(self, action: Action) -> Step:
        """Do ``action``. A refused call (OSError) is part of the story, not a crash."""
        k = self.kernel
        before = self.steps[-1].snapshot
        seq = k.seq
        access: Access | None = None
        error: str | None = None
        call = action.op
        try:
            call, access = self._perform(action)
        except OSError as e:
            error = str(e)
        snap = k.snapshot()
        events = tuple(k.trace.since(seq))
        changed = _changed_cells(before, snap, events)
        context = Context(
            events=events,
            access=access,
            error=error,
            op=action.op,
            vmm_pid=self.vmm.pid,
            keep_folios=frozenset(f.number for f in before.folios if f.keep_ue_mapped),
            released=self.memfd.released,
            software_poisoned=access is not None
            and action.folio is not None
            and action.subpage is not None
            and snap.codes(action.folio)[action.subpage] == SubpageState.HWPOISON_SW,
        )
        words = explain(context)
        peek = None
        if action.folio is not None and action.subpage is not None:
            peek = k.peek(self.pfn(action.folio, action.subpage), 32)
        step = Step(
            action,
            call,
            error,
            access,
            events,
            tuple(words),
            snap,
            changed,
            peek,
            dmesg=self._dmesg(),
            signals=self._signals(),
            stage=path_stage(context),
        )
        self.steps.append(step)
        return step

    def _dmesg(self) -> tuple[str, ...]:
        return tuple(self.kernel.trace.dmesg()[-DMESG_TAIL:])

    def _signals(self) -> tuple[str, ...]:
        return tuple(repr(x) for x in self.vmm.signals[-SIGNALS_TAIL:])

    def _perform(self, a: Action) -> tuple[str, Access | None]:
        k, vmm = self.kernel, self.vmm
        if a.op == "close":
            vmm.close(self.fd)
            return f"close({self.fd})", None
        if a.op == "munmap":
            vmm.munmap(self.addr, self.length)
            return f"munmap({self.addr:#x}, {self.length:#x})", None
        if a.op == "ftruncate(0)":
            vmm.ftruncate(self.fd, 0)
            return f"ftruncate({self.fd}, 0)", None
        if a.op == "exit":
            vmm.exit()
            return "exit(0)", None
        assert a.folio is not None and a.subpage is not None
        pfn = self.pfn(a.folio, a.subpage)
        vaddr = self.vaddr(a.folio, a.subpage)
        if a.op == "inject":
            if a.kind == ErrorKind.HW_LATENT:
                k.hw_ue(pfn, detect="latent")
                return f"(DRAM) uncorrected error at pfn {pfn:#x}", None
            if a.kind == ErrorKind.HW_SCRUBBED:
                k.hw_ue(pfn, detect="scrub")
                return f"(patrol scrub) memory_failure({pfn:#x}, 0)", None
            if vaddr is not None and vmm.alive and vmm.virt_to_pfn(vaddr) is not None:
                vmm.madvise(vaddr, 1 << PAGE_SHIFT, MADV_HWPOISON)
                return f"madvise({vaddr:#x}, 4096, MADV_HWPOISON)", None
            k.corrupt_pfn(pfn)
            return f"echo {pfn:#x} > /sys/kernel/debug/hwpoison/corrupt-pfn", None
        if vaddr is None:
            raise _not_in_guest(a)
        if a.op == "load":
            return f"load 8 bytes at {vaddr:#x}", vmm.load(vaddr, 8)
        if a.op == "store":
            return f"store 8 bytes at {vaddr:#x}", vmm.store(vaddr, STORE_BYTES)
        raise ValueError(f"unknown action {a.op!r}")


def _not_in_guest(a: Action) -> OSError:
    from ..model import SyscallError, errno

    return SyscallError(
        errno.EFAULT,
        a.op,
        f"hugepage #{a.folio} is not in the guest memfd now, so the VMM has no address for it",
    )


def _changed_cells(before: Snapshot, after: Snapshot, events: Sequence[TraceEvent]) -> ChangedCells:
    """Subpages whose state code changed, found through the folios the events touched."""
    touched = {e.folio for e in events if e.folio is not None}
    folios: list[np.ndarray] = []
    subpages: list[np.ndarray] = []
    for number in sorted(touched):
        old, new = before.folios[number], after.folios[number]
        if old == new:
            continue
        diff = (old.codes() != new.codes()).nonzero()[0]
        folios.append(np.full(len(diff), number, np.int64))
        subpages.append(diff.astype(np.int64))
    if not subpages:
        return ChangedCells()
    return ChangedCells(np.concatenate(folios), np.concatenate(subpages))
