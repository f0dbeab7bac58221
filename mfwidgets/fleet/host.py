"""Host: one simulated host of the fleet on a real mfwidgets.model Kernel: VMM processes, each
backing one VM with a hugetlb memfd; how an error is delivered; what a VMM does with a SIGBUS.

Mirrors: a VMM (QEMU-like) on top of the model: memfd_create(MFD_HUGETLB | MFD_HUGE_* [|
MFD_MF_KEEP_UE_MAPPED]), ftruncate, mmap(MAP_SHARED | MAP_POPULATE), a SIGBUS handler and
prctl(PR_MCE_KILL_EARLY) as qemu_init_sigbus() sets it. Both the consequence table
(consequences.py) and the event-level replay (replay.py) drive the kernel only through this
module, so the two cannot disagree about what an error or a restart is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import (
    FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_PUNCH_HOLE,
    MAP_POPULATE,
    MAP_SHARED,
    MFD_HUGE_1GB,
    MFD_HUGE_2MB,
    MFD_HUGETLB,
    MFD_MF_KEEP_UE_MAPPED,
    PAGE_SHIFT,
    PROT_READ,
    PROT_WRITE,
    FolioState,
    Kernel,
    Process,
    SigInfo,
)

HUGE_FLAG = {"2M": MFD_HUGE_2MB, "1G": MFD_HUGE_1GB}
HUGEPAGE_BYTES = {"2M": 1 << 21, "1G": 1 << 30}
# Hugepage states whose healthy 4 KiB pages nobody can use (the palette's "stranded" colours).
STRANDED_STATES = frozenset({FolioState.OFFLINED, FolioState.LEAKED, FolioState.FREE_POISONED})


@dataclass
class Vm:
    """One VM: its VMM process, the guest memfd and where the VMM mapped it."""

    vmm: Process
    fd: int
    addr: int
    nr_hugepages: int
    seen: int = 0  # signals of vmm already handled


@dataclass
class Host:
    """A Kernel with its VMs. ``slots`` number every guest hugepage of the host, VM by VM."""

    kernel: Kernel
    size: str
    vms: list[Vm] = field(default_factory=list)

    @property
    def hugepage_bytes(self) -> int:
        return HUGEPAGE_BYTES[self.size]

    def slot(self, slot: int) -> tuple[Vm, int]:
        """The VM and the hugepage index in its memfd of guest hugepage ``slot``."""
        for vm in self.vms:
            if slot < vm.nr_hugepages:
                return vm, slot
            slot -= vm.nr_hugepages
        raise IndexError(slot)

    def addr(self, slot: int, subpage: int = 0) -> int:
        vm, index = self.slot(slot)
        return vm.addr + index * self.hugepage_bytes + (subpage << PAGE_SHIFT)

    def counters(self) -> tuple[int, int]:
        """(nr_hugepages, free_hugepages) of the host's pool."""
        h = self.kernel.hstate(self.size)
        return h.nr_hugepages, h.free_hugepages


def boot_host(size: str, nr_hugepages: int, vm_hugepages: tuple[int, ...], keep: bool) -> Host:
    """A host whose pool holds ``nr_hugepages`` of ``size``, running one VMM per VM. Each VMM
    handles SIGBUS, asks for early kill, and populates its guest memory."""
    # SIMPLIFICATION: a repeat error in a kept hugepage follows the series' stated intent (a
    # new SIGBUS, dissolved at release), not v3's Ignored path: the fleet compares policies,
    # not one build's defect (docs/DESIGN.md, Fleet simulation).
    k = Kernel(
        hugepages={size: nr_hugepages}, supports_keep_ue_mapped=True, kept_second_error="intent"
    )
    host = Host(k, size)
    flags = MFD_HUGETLB | HUGE_FLAG[size] | (MFD_MF_KEEP_UE_MAPPED if keep else 0)
    for i, n in enumerate(vm_hugepages):
        vmm = k.spawn(f"vmm{i}", handle_sigbus=True)
        vmm.prctl_mce_kill("early")  # qemu_init_sigbus()
        fd = vmm.memfd_create(f"guest{i}", flags)
        length = n * host.hugepage_bytes
        vmm.ftruncate(fd, length)
        addr = vmm.mmap(length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd)
        host.vms.append(Vm(vmm, fd, addr, n))
    return host


def backing_pfn(host: Host, slot: int) -> int:
    """The head pfn of the hugepage that backs guest hugepage ``slot`` now (pagemap)."""
    vm, index = host.slot(slot)
    pfn = vm.vmm.virt_to_pfn(vm.addr + index * host.hugepage_bytes)
    if pfn is None:  # stock: the page table holds a hwpoison entry; ask the page cache
        pfn = _pagecache_pfn(host, vm, index)
    return pfn


def _pagecache_pfn(host: Host, vm: Vm, index: int) -> int:
    for view in host.kernel.snapshot().folios:
        if view.memfd == f"guest{host.vms.index(vm)}" and view.index == index:
            return view.pfn
    raise LookupError(f"slot {index} of {vm} has no hugepage")


def deliver_ue(host: Host, slot: int, page_pfn: int, subpage: int, scrub: bool) -> list[SigInfo]:
    """A hardware UE at raw page ``subpage`` of the hugepage whose head pfn is ``page_pfn``.
    Scrubbed: memory_failure(pfn, 0) now. Latent: a guest load consumes it, if that hugepage
    still backs the guest (a hugepage a restart replaced is used by nobody, so the error stays
    latent). Returns the signals the slot's VMM received."""
    vm, _ = host.slot(slot)
    k = host.kernel
    k.hw_ue(page_pfn + subpage, detect="scrub" if scrub else "latent")
    if not scrub and backing_pfn(host, slot) == page_pfn:
        vm.vmm.load(host.addr(slot, subpage))
    new = vm.vmm.signals[vm.seen :]
    vm.seen = len(vm.vmm.signals)
    return list(new)


def restart_vm(host: Host, slot: int) -> int:
    """The VMM restarts the VM after losing a whole hugepage: it punches the lost hugepage out
    of the memfd (stock: the hugepage is leaked; keep: dissolved) and the guest faults in a
    fresh one from the spare pool. Returns the new backing head pfn.
    SIMPLIFICATION: the rest of the VM's memory is kept, as QEMU's reset keeps guest RAM."""
    vm, index = host.slot(slot)
    hps = host.hugepage_bytes
    vm.vmm.fallocate(vm.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, index * hps, hps)
    access = vm.vmm.load(vm.addr + index * hps)
    if not access.ok:
        raise RuntimeError(f"restart: no spare hugepage left on the host ({access.signal})")
    vm.seen = len(vm.vmm.signals)
    return backing_pfn(host, slot)


def stranded_pages(host: Host) -> int:
    """Healthy 4 KiB pages in hugepages nobody can use (offlined, leaked, free-poisoned)."""
    return sum(
        v.nr_pages - len(v.bad | v.raw_hwp)
        for v in host.kernel.snapshot().folios
        if v.state in STRANDED_STATES
    )


def release_all(host: Host) -> None:
    """Every VMM exits: each memfd is released (E11): stock leaks, keep dissolves."""
    for vm in host.vms:
        if vm.vmm.alive:
            vm.vmm.exit()
