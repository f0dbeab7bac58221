"""One student's instance of the exercises, drawn from the student id, and its run in the
model (``Lab``)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

from ..model import (
    MADV_HWPOISON,
    MAP_SHARED,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    Process,
)
from ..model.constants import HUGEPAGE_SHIFTS
from ..teaching import MemfdFlags, format_size, memfd_flags, parse_size

MEMFD_NAME = "guest"
FILL_BYTE = 0xAB
# The helpers a VMM forks: (how memory errors reach it, whether it unmapped the guest memory).
HELPER_KINDS = (("early", False), ("late", False), ("early", True))
HELPER_NAMES = ("backup", "monitor")
VM_SIZES = ("16G", "64G", "256G", "768G", "1T")
TLB_PAGE_SIZES = ("4K", "2M", "1G")


# -- the instance --------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Helper:
    """A process the VMM forked. ``mce_kill`` is its prctl(PR_MCE_KILL) policy ("early" or
    "late"); ``unmapped`` means it munmap()ed the guest memory (it still holds the fd)."""

    name: str
    mce_kill: str
    unmapped: bool

    def __str__(self) -> str:
        where = "has unmapped the guest memory" if self.unmapped else "maps the guest memory"
        return f"`{self.name}`: {self.mce_kill}-kill, {where}"


@dataclasses.dataclass(frozen=True)
class ExerciseSet:
    """One student's instance of every exercise. Made by ``make(student_id)``; the same id
    always gives the same instance. ``results`` records the last check of each exercise."""

    student_id: str
    size: str  # hugepage size: "2M" or "1G"
    nr_hugepages: int  # hugepages in the guest memfd
    spare_hugepages: int  # further free hugepages in the pool
    keep: bool  # the memfd has the PROPOSED MFD_MF_KEEP_UE_MAPPED
    folio: int  # the poisoned hugepage (index in the memfd)
    subpage: int  # the poisoned 4 KiB subpage of that hugepage
    read_offset: int  # file offset of the pread() exercise
    read_count: int  # byte count of the pread() exercise
    helpers: tuple[Helper, ...]
    vm_bytes: int  # memory of the TLB exercise
    tlb_page_size: str  # page size of the TLB exercise
    results: dict[str, bool] = dataclasses.field(
        default_factory=dict, compare=False, hash=False, repr=False
    )
    # The answer of each last check, as given: what a submission hands in.
    answers: dict[str, object] = dataclasses.field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    @property
    def hugepage_bytes(self) -> int:
        return 1 << HUGEPAGE_SHIFTS[self.size]

    @property
    def nr_pool(self) -> int:
        """nr_hugepages of the pool at boot: the memfd's pages plus the spare ones."""
        return self.nr_hugepages + self.spare_hugepages

    @property
    def flags(self) -> MemfdFlags:
        return memfd_flags(hugetlb=True, size=self.size, keep=self.keep)

    @property
    def poisoned_offset(self) -> int:
        """File offset of the poisoned 4 KiB page."""
        return self.folio * self.hugepage_bytes + (self.subpage << PAGE_SHIFT)

    def setup(self) -> Lab:
        """This instance in the model, ready for the error: a kernel, a VMM that created,
        sized, mapped and filled the guest memfd, and its helpers. Nothing is poisoned yet:
        call ``lab.inject()``."""
        return Lab.build(self)

    def question(self, name: str) -> Question:
        """The question of exercise ``name`` (one of NAMES), with this instance's numbers."""
        from . import exercise  # the records need this class: import them when asked

        return Question(name, exercise(name).question(self))

    def _setting(self) -> list[str]:
        flag = "" if self.keep else " (no `MFD_MF_KEEP_UE_MAPPED`)"
        return [
            f"A kernel with the proposed series boots with a pool of {self.nr_pool} hugepages "
            f"of {format_size(self.hugepage_bytes)} (`nr_hugepages` = {self.nr_pool}).",
            f"A VMM creates the memfd `{MEMFD_NAME}` with `{self.flags.symbolic}`{flag}, "
            f"truncates it to {self.nr_hugepages} hugepages, maps it `MAP_SHARED` and fills "
            f"it.",
            "It forks two helpers: " + "; ".join(str(h) for h in self.helpers) + ".",
            f"Then the VMM poisons subpage {self.subpage:,} of hugepage {self.folio} (file "
            f"offset {self.poisoned_offset:#x}) with `madvise(MADV_HWPOISON)`.",
        ]

    def _repr_markdown_(self) -> str:
        lines = [f"**Your instance** (student id `{self.student_id}`)", ""]
        return "\n".join(lines + [f"- {s}" for s in self._setting()])

    def __str__(self) -> str:
        return self._repr_markdown_().replace("**", "").replace("`", "")


@dataclasses.dataclass(frozen=True)
class Question:
    name: str
    text: str

    def _repr_markdown_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text.replace("**", "").replace("`", "")


@dataclasses.dataclass
class Lab:
    """An instance run in the model. ``procs`` maps a name (``vmm`` and the helpers) to its
    Process; ``addr`` is where the VMM mapped the guest memory."""

    ex: ExerciseSet
    kernel: Kernel
    vmm: Process
    fd: int
    addr: int
    procs: dict[str, Process]

    @classmethod
    def build(cls, ex: ExerciseSet) -> Lab:
        k = Kernel({ex.size: ex.nr_pool}, supports_keep_ue_mapped=True)
        vmm = k.spawn("vmm", handle_sigbus=True)
        fd = vmm.memfd_create(MEMFD_NAME, ex.flags)
        length = ex.nr_hugepages * ex.hugepage_bytes
        vmm.ftruncate(fd, length)
        addr = vmm.mmap(length, PROT_READ | PROT_WRITE, MAP_SHARED, fd)
        vmm.fill(addr, length, FILL_BYTE)
        procs = {"vmm": vmm}
        for helper in ex.helpers:
            child = vmm.fork()
            child.prctl_mce_kill(helper.mce_kill)
            if helper.unmapped:
                child.munmap(addr, length)
            procs[helper.name] = child
        return cls(ex, k, vmm, fd, addr, procs)

    def inject(self) -> int:
        """The VMM's madvise(MADV_HWPOISON) of the instance's subpage."""
        target = self.addr + self.ex.poisoned_offset
        return self.vmm.madvise(target, PAGE_SIZE, MADV_HWPOISON)

    def release(self) -> None:
        """Every holder of the memfd goes away (the helpers and the VMM exit), which releases
        it (docs/kernel.md E11)."""
        for proc in self.procs.values():
            if proc.alive:
                proc.exit()


# -- making instances ----------------------------------------------------------------------------
class _Draw:
    """Choices drawn from SHA-256/SHAKE of the student id.

    Not a numpy Generator: a student's and an instructor's machines must agree on the instance
    whatever their numpy build (numpy promises stable streams only per build, NEP 19)."""

    def __init__(self, student_id: str) -> None:
        self._bytes = hashlib.shake_256(f"mfwidgets/{student_id}".encode()).digest(256)
        self._pos = 0

    def below(self, n: int) -> int:
        chunk = self._bytes[self._pos : self._pos + 8]
        self._pos += 8
        return int.from_bytes(chunk, "big") % n

    def between(self, lo: int, hi: int) -> int:
        """An int in lo..hi, both included."""
        return lo + self.below(hi - lo + 1)

    def pick(self, options: Sequence[Any]) -> Any:
        return options[self.below(len(options))]


def make(student_id: str) -> ExerciseSet:
    """The exercise set of one student: the same ``student_id`` always gives the same set, and
    different ids give different hugepage sizes, policies, poisoned pages and helpers.
    Raises TypeError if ``student_id`` is not a str, ValueError if it is empty."""
    if not isinstance(student_id, str):
        raise TypeError("student_id must be a str, e.g. your login name")
    if not student_id.strip():
        raise ValueError("student_id must not be empty")
    d = _Draw(student_id.strip())
    size = d.pick(("2M", "1G"))
    nr_pages = 1 << (HUGEPAGE_SHIFTS[size] - PAGE_SHIFT)
    nr_hugepages = d.between(2, 4)
    subpage = d.between(16, nr_pages - 16)
    folio = d.below(nr_hugepages)
    # The read starts inside the poisoned page one time in four (EIO), else up to 15 pages
    # before it (a short count); it asks for 32 pages, so it always reaches the poisoned one.
    start_page = subpage if d.below(4) == 0 else subpage - d.between(1, 15)
    read_offset = folio * (nr_pages << PAGE_SHIFT) + (start_page << PAGE_SHIFT) + d.below(512) * 8
    kinds = [d.pick(HELPER_KINDS) for _ in HELPER_NAMES]
    return ExerciseSet(
        student_id=student_id.strip(),
        size=size,
        nr_hugepages=nr_hugepages,
        spare_hugepages=d.between(0, 2),
        keep=bool(d.below(2)),
        folio=folio,
        subpage=subpage,
        read_offset=read_offset,
        read_count=32 * PAGE_SIZE,
        helpers=tuple(
            Helper(name, kill, unmapped)
            for name, (kill, unmapped) in zip(HELPER_NAMES, kinds, strict=True)
        ),
        vm_bytes=parse_size(d.pick(VM_SIZES)),
        tlb_page_size=d.pick(TLB_PAGE_SIZES),
    )
