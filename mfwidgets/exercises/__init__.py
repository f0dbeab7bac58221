"""Self-checking classroom exercises: a student id makes that student's own instance, and
``check_<name>(ex, answer)`` says whether an answer is right, with a hint when it is not.

Mirrors: nothing in the kernel. Each exercise is one ``Exercise`` record: its name, its
question (a title, the lines of the student's seeded setting it quotes, and what it asks),
its solution, the parser of an answer, the hints and, built from those, its checker. Every
right answer is computed by running the model (or the tested TLB calculator) on the
student's instance, never read from a table; ``solution(ex, name)`` returns it, for
instructors and for the test that runs the notebook with ``MFW_SOLUTIONS=1``. A checker
prints one line starting with "✓" or "✗", returns True or False and never raises for a
wrong or malformed answer.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from typing import Any

from ..model import PAGE_SHIFT, PAGE_SIZE, errno
from ..model.constants import HUGEPAGE_SHIFTS
from ..teaching import Table, attempt, format_size, parse_size, tlb_reach, usable_bytes
from .answers import Malformed, as_int, as_names, as_read_result
from .instance import (
    FILL_BYTE,
    HELPER_KINDS,
    HELPER_NAMES,
    MEMFD_NAME,
    TLB_PAGE_SIZES,
    VM_SIZES,
    ExerciseSet,
    Helper,
    Lab,
    Question,
    make,
)

SOLUTIONS_ENV = "MFW_SOLUTIONS"


# -- what each question asks, after the lines of the setting it quotes ---------------------------
def _ask_tlb(ex: ExerciseSet) -> str:
    return (
        f"A guest has {format_size(ex.vm_bytes)} of memory, mapped with "
        f"{format_size(parse_size(ex.tlb_page_size))} pages. How many page-table entries "
        f"(translations) does it take to map all of it? Answer an int."
    )


def _ask_read(ex: ExerciseSet) -> str:
    return (
        f"Then the VMM calls `pread(fd, buf, {ex.read_count:#x}, {ex.read_offset:#x})`. What "
        f'does it return? Answer the byte count as an int, or the string `"EIO"` if it fails '
        f"with EIO."
    )


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


# -- hints: a wrong answer and what it suggests ---------------------------------------------
def _hint_tlb(ex: ExerciseSet, value: int, right: int) -> str:
    page = parse_size(ex.tlb_page_size)
    others = {s: tlb_reach(ex.vm_bytes, s, 1).entries_needed for s in TLB_PAGE_SIZES}
    for size, count in others.items():
        if value == count and size != ex.tlb_page_size:
            return f"that is the count for {format_size(parse_size(size))} pages, not " + (
                f"{format_size(page)} ones."
            )
    return "one entry maps one page: how many pages of your page size does the VM's memory hold?"


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
            "12 (one 4 KiB page) is what the proposed flag reports; look again at the flags "
            "this memfd was created with."
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
        return "that is what a stock memfd keeps; look again at this memfd's flags."
    if not ex.keep and value == total - PAGE_SIZE:
        return "that is what the proposed flag keeps; look again at this memfd's flags."
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
    return "where does the first poisoned 4 KiB page the read meets start, and where did it start?"


def _hint_release(ex: ExerciseSet, value: int, right: int) -> str:
    if ex.keep and value == ex.nr_pool:
        return (
            "what does release do to a poisoned hugepage of a memfd with "
            "MFD_MF_KEEP_UE_MAPPED, and is that hugepage still counted afterwards?"
        )
    if not ex.keep and value == ex.nr_pool - 1:
        return (
            "what does release do to a poisoned hugepage of a stock memfd, and is that "
            "hugepage still counted afterwards?"
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
            return (
                f"look again at {h.name}: when is a process with its PR_MCE_KILL policy told, "
                "and does it still map the memfd?"
            )
        if h.name in right and h.name not in value:
            return f"look again at {h.name}: its PR_MCE_KILL policy, and what it maps."
    return "think of the caller of madvise(), then of each helper's PR_MCE_KILL policy."


# -- checking --------------------------------------------------------------------------------
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


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One exercise: everything about it in one place."""

    name: str
    title: str  # the question's bold opening, with its stop
    setting: tuple[int, ...]  # the lines of the student's setting the question quotes
    ask: Callable[[ExerciseSet], str]  # what the question asks, with the instance's numbers
    solve: Callable[[ExerciseSet], object]  # the right answer, by running the model
    parse: Callable[[object], Any]  # the answer as a value; Malformed (the hint) if it is not
    hint: Callable[[ExerciseSet, Any, Any], str]  # (instance, answer, right answer) -> hint
    about: str  # what the checker checks (its docstring)

    def question(self, ex: ExerciseSet) -> str:
        quoted = [ex._setting()[i] for i in self.setting]
        return " ".join([f"**{self.title}**", *quoted, self.ask(ex)])

    def check(self, ex: object, answer: object) -> bool:
        """Print ✓ or ✗ with a hint, record the result in ``ex.results``; never raises."""
        if not isinstance(ex, ExerciseSet):
            print(
                f"✗ {self.name}: the first argument must be your exercise set. Hint: "
                f'ex = mf.exercises.make("your id"), then check_{self.name}(ex, answer).'
            )
            return False
        try:
            value = self.parse(answer)
        except Malformed as why:
            return _report(ex, self.name, False, answer, str(why), malformed=True)
        right = self.solve(ex)
        ok = value == (frozenset(right) if isinstance(right, list) else right)
        return _report(ex, self.name, ok, answer, "" if ok else self.hint(ex, value, right))


EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "tlb_entries", "TLB entries.", (), _ask_tlb, _sol_tlb,
        lambda a: as_int(a, "1024"), _hint_tlb,
        "Entries needed to map the instance's guest memory with its page size.",
    ),
    Exercise(
        "si_addr_lsb", "si_addr_lsb.", (1, 3),
        lambda ex: "The VMM gets a SIGBUS. What is its `si_addr_lsb`? Answer an int.",
        _sol_lsb, lambda a: as_int(a, "12"), _hint_lsb,
        "si_addr_lsb of the SIGBUS the VMM gets when it poisons its page.",
    ),
    Exercise(
        "usable_bytes", "Usable bytes.", (1, 3),
        lambda ex: (
            "How many bytes of the memfd can the guest still use (everything the kernel has "
            "not reported lost)? Answer an int, in bytes."
        ),
        _sol_usable, lambda a: as_int(a, "4096"), _hint_usable,
        "Bytes of the memfd still usable after the error.",
    ),
    Exercise(
        "read_result", "A read.", (1, 3), _ask_read, _sol_read, as_read_result, _hint_read,
        'What the pread() returns: a byte count, or "EIO".',
    ),
    Exercise(
        "nr_hugepages_after_release", "After release.", (0, 1, 3),
        lambda ex: (
            "Then the helpers and the VMM exit, which releases the memfd. What does "
            "`nr_hugepages` read now? Answer an int."
        ),
        _sol_release, lambda a: as_int(a, "3"), _hint_release,
        "nr_hugepages once every holder of the poisoned memfd has gone.",
    ),
    Exercise(
        "who_gets_sigbus", "Who gets a SIGBUS?", (1, 2, 3),
        lambda ex: (
            "Which processes get a SIGBUS at that moment? Answer a list of names, e.g. "
            '`["vmm", "backup"]`, or `[]` for none.'
        ),
        _sol_who, as_names, _hint_who,
        "The names of the processes that get a SIGBUS when the VMM poisons its page.",
    ),
)  # fmt: skip
NAMES = tuple(e.name for e in EXERCISES)
_BY_NAME = {e.name: e for e in EXERCISES}


def exercise(name: str) -> Exercise:
    """The record of exercise ``name``. Raises ValueError for an unknown name."""
    if name not in _BY_NAME:
        raise ValueError(f"no exercise {name!r}; choose one of {', '.join(NAMES)}")
    return _BY_NAME[name]


def solution(ex: ExerciseSet, name: str) -> Any:
    """The right answer to exercise ``name`` for this instance, computed by running the model.
    Raises ValueError for an unknown exercise name."""
    return exercise(name).solve(ex)


def solutions_enabled() -> bool:
    """True when the environment has MFW_SOLUTIONS=1: the notebook then fills in solutions."""
    return os.environ.get(SOLUTIONS_ENV, "") == "1"


def _checker(e: Exercise) -> Callable[[ExerciseSet, object], bool]:
    def check(ex: ExerciseSet, answer: object) -> bool:
        return e.check(ex, answer)

    check.__name__ = check.__qualname__ = f"check_{e.name}"
    check.__doc__ = e.about
    return check


CHECKERS: dict[str, Callable[[ExerciseSet, object], bool]] = {
    e.name: _checker(e) for e in EXERCISES
}
check_tlb_entries = CHECKERS["tlb_entries"]
check_si_addr_lsb = CHECKERS["si_addr_lsb"]
check_usable_bytes = CHECKERS["usable_bytes"]
check_read_result = CHECKERS["read_result"]
check_nr_hugepages_after_release = CHECKERS["nr_hugepages_after_release"]
check_who_gets_sigbus = CHECKERS["who_gets_sigbus"]


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


__all__ = [
    "CHECKERS", "EXERCISES", "FILL_BYTE", "HELPER_KINDS", "HELPER_NAMES", "MEMFD_NAME", "NAMES",
    "SOLUTIONS_ENV", "TLB_PAGE_SIZES", "VM_SIZES", "Exercise", "ExerciseSet", "Helper", "Lab",
    "Question", "all_correct", "answer_key", "check_nr_hugepages_after_release",
    "check_read_result", "check_si_addr_lsb", "check_tlb_entries", "check_usable_bytes",
    "check_who_gets_sigbus",
    "exercise", "make", "progress", "solution", "solutions_enabled",
]  # fmt: skip
