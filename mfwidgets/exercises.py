"""Self-checking classroom exercises: a student id makes that student's own instance, and
``check_<name>(ex, answer)`` says whether an answer is right, with a hint when it is not.

Mirrors: nothing in the kernel. Every right answer is computed by running the model (or the
tested TLB calculator) on the student's instance, never read from a table; ``solution(ex,
name)`` returns it, for instructors and for the test that runs the notebook with
``MFW_SOLUTIONS=1``. A checker prints one line starting with "✓" or "✗", returns True or
False and never raises for a wrong or malformed answer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .model import (
    MADV_HWPOISON,
    MAP_SHARED,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    Kernel,
    Process,
    errno,
)
from .model.constants import HUGEPAGE_SHIFTS
from .teaching import (
    MemfdFlags,
    Table,
    attempt,
    format_size,
    memfd_flags,
    parse_size,
    tlb_reach,
    usable_bytes,
)

SOLUTIONS_ENV = "MFW_SOLUTIONS"
NAMES = (
    "tlb_entries",
    "si_addr_lsb",
    "usable_bytes",
    "read_result",
    "nr_hugepages_after_release",
    "who_gets_sigbus",
)
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
        if name not in _QUESTIONS:
            raise ValueError(f"no exercise {name!r}; choose one of {', '.join(NAMES)}")
        return Question(name, _QUESTIONS[name](self))

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


# -- the questions -------------------------------------------------------------------------------
def _q_tlb(ex: ExerciseSet) -> str:
    return (
        f"**TLB entries.** A guest has {format_size(ex.vm_bytes)} of memory, mapped with "
        f"{format_size(parse_size(ex.tlb_page_size))} pages. How many page-table entries "
        f"(translations) does it take to map all of it? Answer an int."
    )


def _q_lsb(ex: ExerciseSet) -> str:
    return (
        f"**si_addr_lsb.** {ex._setting()[1]} {ex._setting()[3]} The VMM gets a SIGBUS. What "
        f"is its `si_addr_lsb`? Answer an int."
    )


def _q_usable(ex: ExerciseSet) -> str:
    return (
        f"**Usable bytes.** {ex._setting()[1]} {ex._setting()[3]} How many bytes of the "
        f"memfd can the guest still use (everything the kernel has not reported lost)? "
        f"Answer an int, in bytes."
    )


def _q_read(ex: ExerciseSet) -> str:
    return (
        f"**A read.** {ex._setting()[1]} {ex._setting()[3]} Then the VMM calls "
        f"`pread(fd, buf, {ex.read_count:#x}, {ex.read_offset:#x})`. What does it return? "
        f'Answer the byte count as an int, or the string `"EIO"` if it fails with EIO.'
    )


def _q_release(ex: ExerciseSet) -> str:
    return (
        f"**After release.** {ex._setting()[0]} {ex._setting()[1]} {ex._setting()[3]} Then "
        f"the helpers and the VMM exit, which releases the memfd. What does `nr_hugepages` "
        f"read now? Answer an int."
    )


def _q_who(ex: ExerciseSet) -> str:
    return (
        f"**Who gets a SIGBUS?** {ex._setting()[1]} {ex._setting()[2]} {ex._setting()[3]} "
        f"Which processes get a SIGBUS at that moment? Answer a list of names, e.g. "
        f'`["vmm", "backup"]`, or `[]` for none.'
    )


_QUESTIONS: dict[str, Callable[[ExerciseSet], str]] = {
    "tlb_entries": _q_tlb,
    "si_addr_lsb": _q_lsb,
    "usable_bytes": _q_usable,
    "read_result": _q_read,
    "nr_hugepages_after_release": _q_release,
    "who_gets_sigbus": _q_who,
}


# -- solutions: run the model --------------------------------------------------------------------
def _sol_tlb(ex: ExerciseSet) -> object:
    return tlb_reach(ex.vm_bytes, ex.tlb_page_size, 1).entries_needed


def _sol_lsb(ex: ExerciseSet) -> object:
    lab = ex.setup()
    lab.inject()
    return lab.vmm.signals[-1].si_addr_lsb


def _sol_usable(ex: ExerciseSet) -> object:
    lab = ex.setup()
    lab.inject()
    return usable_bytes(lab.kernel.snapshot(), MEMFD_NAME)


def _sol_read(ex: ExerciseSet) -> object:
    lab = ex.setup()
    lab.inject()
    outcome = attempt(lab.vmm.pread, lab.fd, ex.read_count, ex.read_offset)
    if outcome.ok:
        assert isinstance(outcome.value, bytes)
        return len(outcome.value)
    return "EIO" if outcome.errno == errno.EIO else f"errno {outcome.errno}"


def _sol_release(ex: ExerciseSet) -> object:
    lab = ex.setup()
    lab.inject()
    lab.release()
    return lab.kernel.hstate(ex.size).nr_hugepages


def _sol_who(ex: ExerciseSet) -> object:
    lab = ex.setup()
    lab.inject()
    return sorted(name for name, proc in lab.procs.items() if proc.signals)


_SOLUTIONS: dict[str, Callable[[ExerciseSet], object]] = {
    "tlb_entries": _sol_tlb,
    "si_addr_lsb": _sol_lsb,
    "usable_bytes": _sol_usable,
    "read_result": _sol_read,
    "nr_hugepages_after_release": _sol_release,
    "who_gets_sigbus": _sol_who,
}


def solution(ex: ExerciseSet, name: str) -> Any:
    """The right answer to exercise ``name`` for this instance, computed by running the model.
    Raises ValueError for an unknown exercise name."""
    if name not in _SOLUTIONS:
        raise ValueError(f"no exercise {name!r}; choose one of {', '.join(NAMES)}")
    return _SOLUTIONS[name](ex)


def solutions_enabled() -> bool:
    """True when the environment has MFW_SOLUTIONS=1: the notebook then fills in solutions."""
    return os.environ.get(SOLUTIONS_ENV, "") == "1"


# -- checking ------------------------------------------------------------------------------------
class _Malformed(Exception):
    """An answer of the wrong shape; the message is the hint."""


def _as_int(answer: object, example: str) -> int:
    if answer is None or answer is Ellipsis:
        raise _Malformed(f"replace None with your answer, an int such as {example}.")
    if isinstance(answer, bool):
        raise _Malformed(f"answer a number such as {example}, not True or False.")
    if isinstance(answer, float) and answer.is_integer():
        return int(answer)
    if isinstance(answer, str):
        raise _Malformed(f"answer an int such as {example}, without quotes (you gave a string).")
    if hasattr(answer, "__index__"):
        try:
            return int(answer.__index__())
        except (TypeError, ValueError):  # e.g. a numpy array of several values
            pass
    size = getattr(answer, "size", None)
    what = type(answer).__name__ + (f" of {size} values" if isinstance(size, int) else "")
    raise _Malformed(f"answer one int such as {example}, not a {what}.")


def _as_read_result(answer: object) -> int | str:
    if isinstance(answer, str):
        text = answer.strip().upper().lstrip("-")
        if text == "EIO":
            return "EIO"
        raise _Malformed('answer a byte count (an int) or exactly the string "EIO".')
    return _as_int(answer, "8192")


def _as_names(answer: object) -> frozenset[str]:
    if answer is None or answer is Ellipsis:
        raise _Malformed('replace None with a list of names, e.g. ["vmm"], or [].')
    items: Iterable[object]
    if isinstance(answer, str):
        items = [answer]
    elif isinstance(answer, (list, tuple, set, frozenset)):
        items = answer
    elif callable(getattr(answer, "tolist", None)) and isinstance(answer.tolist(), list):  # type: ignore[attr-defined]
        items = answer.tolist()  # type: ignore[attr-defined]  # a numpy array of names
    else:
        raise _Malformed('answer a list of process names, e.g. ["vmm", "backup"], or [].')
    if not all(isinstance(i, str) for i in items):
        raise _Malformed('the names must be strings, e.g. ["vmm", "backup"].')
    return frozenset(str(i).strip().lower() for i in items)


def _report(
    ex: ExerciseSet, name: str, ok: bool, answer: object, hint: str = "", malformed: bool = False
) -> bool:
    ex.results[name] = ok
    ex.answers[name] = answer
    if ok:
        print(f"✓ {name}: {answer!r} is right.")
    elif answer is None or answer is Ellipsis:
        print(f"✗ {name}: no answer yet. Hint: {hint}")
    elif malformed:
        print(f"✗ {name}: {answer!r} is not an answer of the right kind. Hint: {hint}")
    else:
        print(f"✗ {name}: {answer!r} is not right. Hint: {hint}")
    return ok


def _check(
    ex: object,
    name: str,
    answer: object,
    parse: Callable[[object], Any],
    hint: Callable[[ExerciseSet, Any, Any], str],
) -> bool:
    if not isinstance(ex, ExerciseSet):
        print(
            f"✗ {name}: the first argument must be your exercise set. Hint: "
            f'ex = mf.exercises.make("your id"), then check_{name}(ex, answer).'
        )
        return False
    try:
        value = parse(answer)
    except _Malformed as why:
        return _report(ex, name, False, answer, str(why), malformed=True)
    right = solution(ex, name)
    ok = value == (frozenset(right) if isinstance(right, list) else right)
    return _report(ex, name, ok, answer, "" if ok else hint(ex, value, right))


def _hint_tlb(ex: ExerciseSet, value: int, right: int) -> str:
    page = parse_size(ex.tlb_page_size)
    others = {s: tlb_reach(ex.vm_bytes, s, 1).entries_needed for s in TLB_PAGE_SIZES}
    for size, count in others.items():
        if value == count and size != ex.tlb_page_size:
            return f"that is the count for {format_size(parse_size(size))} pages, not " + (
                f"{format_size(page)} ones."
            )
    return (
        f"one entry maps one page: divide the memory ({ex.vm_bytes:,} bytes) by the page size "
        f"({page:,} bytes)."
    )


def _hint_lsb(ex: ExerciseSet, value: int, right: int) -> str:
    shift = HUGEPAGE_SHIFTS[ex.size]
    if value > 64:
        return "si_addr_lsb is a log2 (a shift), not a size in bytes: 4 KiB would be 12."
    if ex.keep and value == shift:
        return (
            f"{shift} is what a stock kernel reports (the whole hugepage); this memfd has "
            f"MFD_MF_KEEP_UE_MAPPED, which reports less."
        )
    if not ex.keep and value == PAGE_SHIFT:
        return (
            "12 (one 4 KiB page) is what the proposed flag reports; this memfd was created "
            "without it, so the kernel reports the whole hugepage."
        )
    return (
        "si_addr_lsb is log2 of the size the kernel reports lost around si_addr: 12 for 4 KiB, "
        "21 for 2 MiB, 30 for 1 GiB."
    )


def _hint_usable(ex: ExerciseSet, value: int, right: int) -> str:
    total = ex.nr_hugepages * ex.hugepage_bytes
    if value == total:
        return "the kernel reports part of the memory lost: subtract it."
    if ex.keep and value == total - ex.hugepage_bytes:
        return "that is stock (a whole hugepage lost); this memfd keeps the hugepage mapped."
    if not ex.keep and value == total - PAGE_SIZE:
        return "that is the proposed flag's answer; without it the whole hugepage is lost."
    if value * PAGE_SIZE == right or value * 1024 == right:
        return "answer in bytes, not in pages or KiB."
    return (
        f"the memfd holds {ex.nr_hugepages} x {format_size(ex.hugepage_bytes)} = {total:,} "
        f"bytes; subtract what si_addr_lsb says is lost."
    )


def _hint_read(ex: ExerciseSet, value: int | str, right: int | str) -> str:
    if right == "EIO":
        return (
            "look at where the read starts: at a poisoned 4 KiB page, nothing can be copied, so "
            "the call fails."
        )
    if value == "EIO":
        return (
            "the read starts before the poisoned page, so it copies the bytes up to it and "
            "returns that short count."
        )
    if value == ex.read_count:
        return "the read stops at the first poisoned 4 KiB page it meets: a short count."
    start = ex.read_offset & ~(PAGE_SIZE - 1)
    if value == ex.poisoned_offset - start:
        return "count from the read's offset, not from the start of its 4 KiB page."
    return (
        f"the count is the distance from the offset {ex.read_offset:#x} to the poisoned page "
        f"at file offset {ex.poisoned_offset:#x}."
    )


def _hint_release(ex: ExerciseSet, value: int, right: int) -> str:
    if ex.keep and value == ex.nr_pool:
        return (
            "under MFD_MF_KEEP_UE_MAPPED, release dissolves the poisoned hugepage: it leaves "
            "the pool for good."
        )
    if not ex.keep and value == ex.nr_pool - 1:
        return (
            "a stock kernel does not dissolve the poisoned hugepage on release: it leaks it, and "
            "a leaked page is still counted."
        )
    if value in (ex.spare_hugepages, ex.nr_pool - ex.nr_hugepages):
        return "the healthy hugepages of the memfd go back to the pool when it is released."
    return (
        "nr_hugepages counts every hugepage of the pool, free or in use; only a dissolved "
        "hugepage stops counting."
    )


def _hint_who(ex: ExerciseSet, value: frozenset[str], right: frozenset[str]) -> str:
    known = {"vmm", *HELPER_NAMES}
    unknown = sorted(value - known)
    if unknown:
        return f"{unknown} is not one of the processes: {', '.join(sorted(known))}."
    if "vmm" not in value:
        return "the process that calls madvise(MADV_HWPOISON) gets BUS_MCEERR_AR itself."
    for h in ex.helpers:
        if h.name in value and h.name not in right:
            if h.mce_kill == "late":
                return f"{h.name} is late-kill: it hears nothing until it touches the page."
            return (
                f"{h.name} is early-kill but has no mapping of the memfd any more; the kernel "
                f"signals only processes that map it."
            )
        if h.name in right and h.name not in value:
            return f"{h.name} is early-kill and maps the memfd: it gets BUS_MCEERR_AO now."
    return "think of the caller of madvise(), then of each helper's PR_MCE_KILL policy."


def check_tlb_entries(ex: ExerciseSet, answer: object) -> bool:
    """Entries needed to map the instance's guest memory with its page size."""
    return _check(ex, "tlb_entries", answer, lambda a: _as_int(a, "1024"), _hint_tlb)


def check_si_addr_lsb(ex: ExerciseSet, answer: object) -> bool:
    """si_addr_lsb of the SIGBUS the VMM gets when it poisons its page."""
    return _check(ex, "si_addr_lsb", answer, lambda a: _as_int(a, "12"), _hint_lsb)


def check_usable_bytes(ex: ExerciseSet, answer: object) -> bool:
    """Bytes of the memfd still usable after the error."""
    return _check(ex, "usable_bytes", answer, lambda a: _as_int(a, "4096"), _hint_usable)


def check_read_result(ex: ExerciseSet, answer: object) -> bool:
    """What the pread() returns: a byte count, or "EIO"."""
    return _check(ex, "read_result", answer, _as_read_result, _hint_read)


def check_nr_hugepages_after_release(ex: ExerciseSet, answer: object) -> bool:
    """nr_hugepages once every holder of the poisoned memfd has gone."""
    return _check(
        ex, "nr_hugepages_after_release", answer, lambda a: _as_int(a, "3"), _hint_release
    )


def check_who_gets_sigbus(ex: ExerciseSet, answer: object) -> bool:
    """The names of the processes that get a SIGBUS when the VMM poisons its page."""
    return _check(ex, "who_gets_sigbus", answer, _as_names, _hint_who)


CHECKERS: dict[str, Callable[[ExerciseSet, object], bool]] = {
    "tlb_entries": check_tlb_entries,
    "si_addr_lsb": check_si_addr_lsb,
    "usable_bytes": check_usable_bytes,
    "read_result": check_read_result,
    "nr_hugepages_after_release": check_nr_hugepages_after_release,
    "who_gets_sigbus": check_who_gets_sigbus,
}


def answer_key(student_ids: Sequence[str]) -> Table:
    """The instructor's key: every exercise's right answer for each student's instance."""
    rows = []
    for student_id in student_ids:
        ex = make(student_id)
        rows.append({"student_id": ex.student_id, **{n: repr(solution(ex, n)) for n in NAMES}})
    return Table(("student_id", *NAMES), tuple(rows), "Answer key (instructors only)")


def all_correct(ex: ExerciseSet) -> bool:
    """True when the last check of every exercise was right."""
    return all(ex.results.get(name, False) for name in NAMES)


def progress(ex: ExerciseSet) -> Table:
    """A table of the exercises and the result of their last check."""
    marks = {True: "✓ right", False: "✗ not yet"}
    rows = tuple(
        {"exercise": name, "last check": marks[ex.results[name]] if name in ex.results else "-"}
        for name in NAMES
    )
    return Table(("exercise", "last check"), rows, f"Progress of {ex.student_id}")
