"""Small calculators and tables the workbook's notebooks call, so that notebook cells stay one
to four lines and every number they show comes from tested code.

Table (table.py) and parse_size/format_size (sizes.py) live in their own modules and are
re-exported here, so ``mf.teaching.Table`` and friends keep working.

Mirrors: nothing in the kernel. It drives the model (``mfwidgets.model``) and imports no UI
library; tables render as HTML in Jupyter through ``_repr_html_`` and as text elsewhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .model import (
    MADV_HWPOISON,
    MAP_SHARED,
    MFD,
    MFD_HUGE_1GB,
    MFD_HUGE_2MB,
    MFD_HUGE_SHIFT,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    SZ_1G,
    SZ_2M,
    BusCode,
    FolioState,
    Kernel,
    Process,
    SigInfo,
    Snapshot,
)
from .sizes import format_size as format_size
from .sizes import parse_size as parse_size
from .table import Table as Table

_HUGE_FLAGS = {"2M": MFD_HUGE_2MB, "1G": MFD_HUGE_1GB}
_MFD_HUGE_MASK = 0x3F << MFD_HUGE_SHIFT
# Hugepages a stock kernel leaves unusable after an error (docs/kernel.md B.1).
_LOST_STATES = (FolioState.OFFLINED, FolioState.LEAKED, FolioState.DISSOLVED)


# -- TLB reach -----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, repr=False)
class TlbReach:
    """How a TLB of ``tlb_entries`` entries copes with ``memory_bytes`` of ``page_size`` pages.

    ``entries_needed``: page-table entries (translations) to map all the memory.
    ``coverage_bytes``: the memory the TLB can translate at once (its "reach").
    ``coverage``: the fraction of the memory that reach covers, at most 1.0.
    """

    memory_bytes: int
    page_size: int
    tlb_entries: int
    entries_needed: int
    coverage_bytes: int
    coverage: float

    def __str__(self) -> str:
        return (
            f"{format_size(self.memory_bytes)} in {format_size(self.page_size)} pages: "
            f"{self.entries_needed:,} entries needed; {self.tlb_entries:,} TLB entries reach "
            f"{format_size(self.coverage_bytes)} ({self.coverage:.4%})"
        )

    def __repr__(self) -> str:
        return str(self)


def tlb_reach(memory_bytes: int | str, page_size: int | str, tlb_entries: int) -> TlbReach:
    """Translations needed to map ``memory_bytes`` with pages of ``page_size``, and how much of
    that memory ``tlb_entries`` TLB entries cover at once.

    Sizes are bytes or strings such as "1T" or "2M". Raises ValueError for a size that is not
    positive, a page size that is not a power of two, or a TLB without entries; TypeError for
    a bool or another type.
    """
    memory = parse_size(memory_bytes)
    page = parse_size(page_size)
    if page & (page - 1):
        raise ValueError(f"page_size {page} is not a power of two")
    if isinstance(tlb_entries, bool) or not isinstance(tlb_entries, int):
        raise TypeError("tlb_entries must be an int")
    if tlb_entries <= 0:
        raise ValueError("tlb_entries must be positive")
    needed = -(-memory // page)
    coverage = tlb_entries * page
    return TlbReach(memory, page, tlb_entries, needed, coverage, min(1.0, coverage / memory))


def tlb_table(
    memory_bytes: int | str, tlb_entries: int, page_sizes: Sequence[int | str] = ("4K", "2M", "1G")
) -> Table:
    """tlb_reach() for each page size, as a table."""
    rows = []
    for size in page_sizes:
        r = tlb_reach(memory_bytes, size, tlb_entries)
        rows.append(
            {
                "page size": format_size(r.page_size),
                "entries to map it all": f"{r.entries_needed:,}",
                f"reach of {tlb_entries:,} entries": format_size(r.coverage_bytes),
                "share of memory covered": f"{r.coverage:.4%}",
            }
        )
    columns = tuple(rows[0]) if rows else ()
    return Table(columns, tuple(rows), f"Mapping {format_size(parse_size(memory_bytes))}")


# -- memfd_create flags --------------------------------------------------------------------------
class MemfdFlags(int):
    """A memfd_create() flags value that also knows its C spelling.

    It is an int, so it can be passed to ``memfd_create`` as is; ``symbolic`` is the C
    expression, e.g. ``MFD_HUGETLB | MFD_HUGE_1GB | MFD_MF_KEEP_UE_MAPPED``.
    """

    @property
    def symbolic(self) -> str:
        value = int(self)
        keep = MFD.MFD_MF_KEEP_UE_MAPPED
        names = [m.name or "" for m in MFD if value & m and m is not keep]
        size = value & _MFD_HUGE_MASK
        if size:
            named = {int(MFD_HUGE_2MB): "MFD_HUGE_2MB", int(MFD_HUGE_1GB): "MFD_HUGE_1GB"}
            names.append(named.get(size, f"({size >> MFD_HUGE_SHIFT} << MFD_HUGE_SHIFT)"))
        if value & keep:
            names.append("MFD_MF_KEEP_UE_MAPPED")
        rest = value & ~sum(int(m) for m in MFD) & ~_MFD_HUGE_MASK
        if rest:
            names.append(f"{rest:#x}")
        return " | ".join(names) or "0"

    def __repr__(self) -> str:
        return f"{int(self):#010x} = {self.symbolic}"

    def __str__(self) -> str:
        return repr(self)


def memfd_flags(
    *,
    hugetlb: bool = False,
    size: str | None = None,
    keep: bool = False,
    cloexec: bool = False,
    allow_sealing: bool = False,
    noexec_seal: bool = False,
    exec_: bool = False,
) -> MemfdFlags:
    """Build the ``flags`` argument of memfd_create() from named choices.

    ``size`` is None (the default hugepage size), "2M" or "1G" (MFD_HUGE_2MB / MFD_HUGE_1GB).
    ``keep`` sets the PROPOSED MFD_MF_KEEP_UE_MAPPED (0x20). The builder does not judge the
    combination: the kernel does (try it with ``attempt(proc.memfd_create, name, flags)``).
    Raises ValueError for an unknown ``size``.
    """
    value = 0
    for wanted, flag in (
        (cloexec, MFD.MFD_CLOEXEC),
        (allow_sealing, MFD.MFD_ALLOW_SEALING),
        (hugetlb, MFD.MFD_HUGETLB),
        (noexec_seal, MFD.MFD_NOEXEC_SEAL),
        (exec_, MFD.MFD_EXEC),
        (keep, MFD.MFD_MF_KEEP_UE_MAPPED),
    ):
        if wanted:
            value |= int(flag)
    if size is not None:
        if size not in _HUGE_FLAGS:
            raise ValueError(f"size must be None, '2M' or '1G', not {size!r}")
        value |= _HUGE_FLAGS[size]
    return MemfdFlags(value)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a call did: ``ok`` and its ``value``, or the ``errno`` and message it failed with."""

    ok: bool
    value: object = None
    errno: int | None = None
    message: str = ""

    def __repr__(self) -> str:
        if self.ok:
            return f"returned {self.value!r}"
        return f"failed: {self.message}"


def attempt(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Outcome:
    """Run ``call(*args, **kwargs)`` and return its Outcome, turning an OSError (a failed
    syscall: EINVAL, EIO, ...) into a record instead of a traceback. Any other exception is a
    bug and propagates."""
    try:
        return Outcome(True, call(*args, **kwargs))
    except OSError as err:
        return Outcome(False, None, err.errno, str(err))


DEFAULT_COMBINATIONS: tuple[Mapping[str, Any], ...] = (
    {},
    {"hugetlb": True},
    {"hugetlb": True, "size": "2M"},
    {"hugetlb": True, "size": "1G"},
    {"size": "1G"},
    {"keep": True},
    {"hugetlb": True, "keep": True},
    {"hugetlb": True, "size": "1G", "keep": True},
    {"hugetlb": True, "size": "1G", "keep": True, "cloexec": True},
    {"hugetlb": True, "noexec_seal": True, "exec_": True},
)


def _short(outcome: Outcome) -> str:
    """``fd 3``, or ``EINVAL: <rule>`` without the call's name (the table says it)."""
    if outcome.ok:
        return f"fd {outcome.value}"
    errname, _, rest = outcome.message.partition(": ")
    return f"{errname}: {rest.partition(': ')[2] or rest}"


def flags_table(
    combinations: Sequence[Mapping[str, Any]] = DEFAULT_COMBINATIONS,
    kernels: Mapping[str, Kernel] | None = None,
) -> Table:
    """memfd_create() with each combination of memfd_flags() keywords, tried on each kernel.

    By default the kernels are a stock one (no series: 0x20 is an unknown flag) and one that
    carries the PROPOSED series. Each cell is the model's answer: ``fd N`` or the errno and
    the rule broken.
    """
    if kernels is None:
        kernels = {
            "stock kernel": Kernel({"2M": 1, "1G": 1}, supports_keep_ue_mapped=False),
            "kernel with the series": Kernel({"2M": 1, "1G": 1}, supports_keep_ue_mapped=True),
        }
    procs = {name: k.spawn("flags") for name, k in kernels.items()}
    rows = []
    for combo in combinations:
        flags = memfd_flags(**combo)
        row: dict[str, object] = {"flags": flags.symbolic, "value": f"{int(flags):#x}"}
        for name, proc in procs.items():
            outcome = attempt(proc.memfd_create, "try", flags)
            if outcome.ok:
                assert isinstance(outcome.value, int)
                proc.close(outcome.value)
            row[name] = _short(outcome)
        rows.append(row)
    return Table(("flags", "value", *procs), tuple(rows), "memfd_create(name, flags)")


def probe_keep_ue_mapped(proc: Process) -> bool:
    """What a VMM does at start-up to learn whether the kernel has the PROPOSED flag:
    memfd_create("probe", MFD_HUGETLB | MFD_MF_KEEP_UE_MAPPED); EINVAL means no (stock
    kernels treat 0x20 as an unknown flag, docs/kernel.md A.2). The probe fd is closed."""
    outcome = attempt(proc.memfd_create, "probe", memfd_flags(hugetlb=True, keep=True))
    if outcome.ok:
        assert isinstance(outcome.value, int)
        proc.close(outcome.value)
    return outcome.ok


# -- what a SIGBUS tells a VMM -------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class LostRange:
    """The memory a SIGBUS reports lost: ``size`` bytes at ``start`` (``si_addr`` rounded down
    to a multiple of 2**si_addr_lsb)."""

    start: int
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size

    def __repr__(self) -> str:
        return f"{format_size(self.size)} lost at [{self.start:#x}, {self.end:#x})"


def lost_range(sig: SigInfo) -> LostRange:
    """The range a BUS_MCEERR_AR/AO SIGBUS reports lost. Raises ValueError for another signal."""
    if sig.si_code not in (BusCode.BUS_MCEERR_AR, BusCode.BUS_MCEERR_AO) or sig.si_signo != 7:
        raise ValueError(f"{sig!r} does not report lost memory")
    size = 1 << sig.si_addr_lsb
    return LostRange(sig.si_addr & ~(size - 1), size)


def vmm_view(sig: SigInfo, guest_ram_hva: int, guest_ram_gpa: int = 0) -> str:
    """What a VMM makes of a memory-error SIGBUS: the range the kernel says is lost, turned
    from a host-virtual address into a guest-physical one, assuming guest RAM that starts at
    guest-physical ``guest_ram_gpa`` is mapped at host-virtual ``guest_ram_hva``."""
    lost = lost_range(sig)
    gpa = guest_ram_gpa + (lost.start - guest_ram_hva)
    fault = gpa + (sig.si_addr - lost.start)
    kind = "action required" if sig.si_code == BusCode.BUS_MCEERR_AR else "action optional"
    return "\n".join(
        [
            f"{BusCode(sig.si_code).name} ({kind}): si_addr={sig.si_addr:#x}, "
            f"si_addr_lsb={sig.si_addr_lsb}",
            f"lost: {format_size(lost.size)} at host-virtual [{lost.start:#x}, {lost.end:#x})",
            f"    = guest-physical [{gpa:#x}, {gpa + lost.size:#x})",
            "the VMM stops using that range and tells the guest: it injects a virtual machine "
            f"check at guest-physical {fault:#x}",
        ]
    )


# -- what survives an error ----------------------------------------------------------------------
def usable_bytes(snap: Snapshot, memfd: str) -> int:
    """Bytes of the memfd named ``memfd`` that still hold their data and can be reached.

    A hugepage a stock kernel hard-offlined (or leaked, or dissolved) is lost whole; otherwise
    each 4 KiB subpage the kernel recorded as poisoned, or whose DRAM holds an error, is lost.
    """
    total = 0
    for view in snap.folios:
        if view.memfd == memfd and view.state not in _LOST_STATES:
            total += (view.nr_pages - len(view.raw_hwp | view.bad)) << PAGE_SHIFT
    return total


@dataclasses.dataclass(frozen=True)
class GuestRun:
    """One VMM backing a guest with a memfd, after one 4 KiB page was poisoned."""

    kernel: Kernel
    vmm: Process
    fd: int
    addr: int
    size: int
    signal: SigInfo | None

    @property
    def usable(self) -> int:
        return usable_bytes(self.kernel.snapshot(), "guest")


def guest_with_error(
    size: str = "1G", nr_hugepages: int = 4, subpage: int = 37, *, keep: bool
) -> GuestRun:
    """Run the story of the workbook once: a VMM creates a memfd of ``nr_hugepages`` hugepages
    of ``size`` (with the PROPOSED flag if ``keep``), maps and fills it, then poisons subpage
    ``subpage`` of hugepage 0 with madvise(MADV_HWPOISON)."""
    hps = {"2M": SZ_2M, "1G": SZ_1G}[size]
    k = Kernel({size: nr_hugepages}, supports_keep_ue_mapped=True)
    vmm = k.spawn("vmm", handle_sigbus=True)
    flags = memfd_flags(hugetlb=True, size=size, keep=keep)
    fd = vmm.memfd_create("guest", flags)
    vmm.ftruncate(fd, nr_hugepages * hps)
    addr = vmm.mmap(nr_hugepages * hps, PROT_READ | PROT_WRITE, MAP_SHARED, fd)
    vmm.fill(addr, nr_hugepages * hps, 0xAB)
    before = len(vmm.signals)
    vmm.madvise(addr + subpage * PAGE_SIZE, PAGE_SIZE, MADV_HWPOISON)
    signal = vmm.signals[before] if len(vmm.signals) > before else None
    return GuestRun(k, vmm, fd, addr, nr_hugepages * hps, signal)


def loss_table(size: str = "1G", nr_hugepages: int = 4, subpage: int = 37) -> Table:
    """The same error under both policies: what the SIGBUS says and what the guest keeps."""
    rows = []
    for keep in (False, True):
        run = guest_with_error(size, nr_hugepages, subpage, keep=keep)
        assert run.signal is not None
        rows.append(
            {
                "policy": "MFD_MF_KEEP_UE_MAPPED (proposed)" if keep else "stock (hard offline)",
                "si_addr_lsb": run.signal.si_addr_lsb,
                "reported lost": format_size(1 << run.signal.si_addr_lsb),
                "guest memory still usable": f"{run.usable:,} of {run.size:,} bytes",
            }
        )
    caption = f"One poisoned 4 KiB page in a guest of {nr_hugepages} x {size} hugepages"
    return Table(tuple(rows[0]), tuple(rows), caption)
