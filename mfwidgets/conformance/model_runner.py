"""Run scenarios on the model (a stock kernel: ``supports_keep_ue_mapped=False``) and return
the normalized results, in the same format as a parsed real-kernel transcript.

As in the guest, the scenarios of one boot run one after the other on one kernel with that
boot's pools (``scenario.BOOT_POOLS``), each in a new process named ``init``; the peer is a fork
of it; loads and stores run in a child forked for each. A real machine check is the model's
hardware-error API: ``Kernel.hw_ue(pfn, detect="scrub")`` for SRAO, and a latent error that the
child's load consumes for SRAR.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..model import constants as C
from ..model import errno
from ..model.kernel import Kernel
from ..model.process import Process
from ..model.trace import EventKind
from .normalize import Context, StepResult, actor, deltas, dmesg_order, empty_step
from .scenario import BOOT_POOLS, HPS, KB, PS, Scenario, Step, boot_of, boots, validate
from .selftest import selftest_output

FILL_BYTE = 0xA5
NODE = "/sys/devices/system/node/node0/memory_failure/"
SIZE_OF_KB = {kb: size for size, kb in KB.items()}
SIGBUS = 7

Maps = list[tuple[int, int]]


def errname(e: int) -> str:
    return errno.errorcode.get(e, f"E{e}")


def counters(k: Kernel) -> dict[str, int]:
    out = {
        key: value
        for key, value in k.meminfo().items()
        if key.startswith("HugePages_") or key == "HardwareCorrupted"
    }
    for size, kb in KB.items():
        for field in ("nr", "free", "resv", "surplus"):
            path = f"/sys/kernel/mm/hugepages/hugepages-{kb}kB/{field}_hugepages"
            out[f"{size}.{field}"] = int(k.cat(path))
    for field in ("total", "ignored", "failed", "delayed", "recovered"):
        if k.behaviour.node_mf_stats:  # as the guest: only the files the kernel has
            out[f"mf.{field}"] = int(k.cat(NODE + field))
    return out


class _Content:
    """What the fill wrote, as the model holds it: ``FILL_BYTE`` everywhere and the pattern
    word ``0x5A5A000000000000 ^ off`` at the 8-byte words the scenario looks at."""

    def __init__(self, scenario: Scenario, hps: int) -> None:
        self.words: set[int] = set()
        for st in scenario["steps"]:
            if st["op"] in ("load", "store", "mce_srar"):
                off = st.get("hugepage", 0) * hps + st.get("subpage", 0) * PS + st.get("byte", 0)
                self.words.add(off & ~7)
            elif st["op"] in ("pread", "pwrite"):
                self.words.add(st.get("offset", 0) & ~7)

    def expected(self, off: int, n: int) -> bytes:
        out = bytearray([FILL_BYTE]) * n
        for w in self.words:
            lo, hi = max(off, w), min(off + n, w + 8)
            if lo < hi:
                word = (0x5A5A000000000000 ^ w).to_bytes(8, "little")
                out[lo - off : hi - off] = word[lo - w : hi - w]
        return bytes(out)

    def classify(self, data: bytes, off: int) -> str:
        if data == self.expected(off, len(data)):
            return "pattern"
        return "zero" if not any(data) else "other"


def map_off(addr: int, maps: Maps, base: int) -> int:
    """si_addr as an offset into the newest of ``maps`` that holds it (as the guest)."""
    for start, length in reversed(maps):
        if start <= addr < start + length:
            return addr - start
    return addr - base


class _Run:
    """One scenario on kernel ``k``: the scenario process, its peer, and what the steps need."""

    def __init__(self, k: Kernel, scenario: Scenario) -> None:
        size = scenario.get("hugepagesize", "2M")
        self.k = k
        self.hps = HPS[size]
        self.p = k.spawn("init", handle_sigbus=True)
        self.peer: Process | None = None
        self.ctx = Context(size)
        self.content = _Content(scenario, self.hps)
        self.fd: int | None = None
        self.maps: Maps = []  # the scenario process's mappings, oldest first
        self.peer_maps: Maps = []
        self.base = self.maplen = 0  # the newest mapping (kept after munmap, as the guest)
        self.peer_base = self.peer_len = 0
        # signals of children this step: (process, its mappings, its base)
        self.children: list[tuple[Process, Maps, int]] = []

    # -- helpers --
    def off(self, st: Step) -> int:
        h, sub, byte = (int(st.get(key, 0)) for key in ("hugepage", "subpage", "byte"))
        return h * self.hps + sub * PS + byte

    def pfn(self, st: Step) -> int:
        return self.ctx.heads[int(st.get("hugepage", 0))] + int(st.get("subpage", 0))

    def memfd(self) -> int:
        if self.fd is None:
            raise OSError(errno.EBADF, "no memfd open")
        return self.fd

    def child(self) -> Process:
        c = self.p.fork()
        self.children.append((c, list(self.maps), self.base))
        return c

    def access(self, proc: Process, addr: int, off: int, store: bool, r: StepResult) -> None:
        acc = proc.store(addr, self.content.expected(off, 1)) if store else proc.load(addr, 1)
        if acc.ok and store:
            acc = proc.load(addr, 1)
        if acc.ok and acc.data is not None:
            r["data"] = self.content.classify(acc.data, off)

    # -- the steps: each returns the step's ret (raises OSError for an errno) --
    def memfd_create(self, st: Step, r: StepResult) -> Any:
        new = self.p.memfd_create("conformance", st.get("flags", C.MFD_HUGETLB))
        if self.fd is not None:
            self.p.close(new)
            return "EBUSY"
        self.fd = new
        return "fd"

    def memfd_probe(self, st: Step, r: StepResult) -> Any:
        self.p.close(self.p.memfd_create("probe", st.get("flags", C.MFD_HUGETLB)))
        return "fd"

    def ftruncate(self, st: Step, r: StepResult) -> Any:
        self.p.ftruncate(self.memfd(), st.get("hugepages", 1) * self.hps)
        return 0

    def mmap(self, st: Step, r: StepResult) -> Any:
        length = st.get("hugepages", 1) * self.hps
        proc = self.peer if st.get("peer") else self.p
        assert proc is not None
        offset = st.get("pgoff", 0) * self.hps
        addr = proc.mmap(length, C.PROT_READ | C.PROT_WRITE, C.MAP_SHARED, self.memfd(), offset)
        self.ctx.add_map(addr, length, actor(st))
        if proc is self.peer:
            self.peer_maps.append((addr, length))
            self.peer_base, self.peer_len = addr, length
        else:
            self.maps.append((addr, length))
            self.base, self.maplen = addr, length
        return 0

    def munmap(self, st: Step, r: StepResult) -> Any:
        if st.get("peer"):
            assert self.peer is not None
            self.peer.munmap(self.peer_base, self.peer_len)
            self.peer_maps.pop()
        else:
            self.p.munmap(self.base, self.maplen)
            self.maps.pop()
            if self.maps:  # the guest goes back to the mapping before
                self.base, self.maplen = self.maps[-1]
        return 0

    def fill(self, st: Step, r: StepResult) -> Any:
        p, base = self.p, self.base
        p.fill(base, self.maplen, FILL_BYTE)
        for w in sorted(self.content.words):
            if w + 8 <= self.maplen:
                p.store(base + w, (0x5A5A000000000000 ^ w).to_bytes(8, "little"))
        for n in range(self.maplen // self.hps):
            pfn = p.virt_to_pfn(base + n * self.hps)
            assert pfn is not None
            self.ctx.heads[n] = pfn
        return 0

    def pagemap(self, st: Step, r: StepResult) -> Any:
        return self.ctx.pagemap(self.p.virt_to_pfn(self.base + self.off(st)) or 0)

    def madvise_hwpoison(self, st: Step, r: StepResult) -> Any:
        return self.p.madvise(self.base + self.off(st), PS, C.MADV_HWPOISON)

    def madvise_soft_offline(self, st: Step, r: StepResult) -> Any:
        return self.p.madvise(self.base + self.off(st), PS, C.MADV_SOFT_OFFLINE)

    def corrupt_pfn(self, st: Step, r: StepResult) -> Any:
        return self.k.corrupt_pfn(self.pfn(st))

    def unpoison_pfn(self, st: Step, r: StepResult) -> Any:
        return self.k.unpoison_pfn(self.pfn(st))

    def mce_srao(self, st: Step, r: StepResult) -> Any:
        self.k.hw_ue(self.pfn(st), detect="scrub")
        return 0

    def mce_srar(self, st: Step, r: StepResult) -> Any:
        self.k.hw_ue(self.pfn(st), detect="latent")
        acc = self.child().load(self.base + self.off(st), 1)
        return 0 if acc.signal is not None else "ETIMEDOUT"  # the guest's loop never ends

    def load(self, st: Step, r: StepResult, store: bool = False) -> Any:
        off = self.off(st)
        if st.get("peer"):
            assert self.peer is not None
            self.access(self.peer, self.peer_base + off, off, store, r)
        else:
            self.access(self.child(), self.base + off, off, store, r)
        return 0

    def store(self, st: Step, r: StepResult) -> Any:
        return self.load(st, r, store=True)

    def pread(self, st: Step, r: StepResult) -> Any:
        off = st.get("offset", 0)
        data = self.p.pread(self.memfd(), st.get("length", PS), off)
        if data:
            r["data"] = self.content.classify(data, off)
        return len(data)

    def pwrite(self, st: Step, r: StepResult) -> Any:
        off = st.get("offset", 0)
        return self.p.pwrite(self.memfd(), self.content.expected(off, st.get("length", 8)), off)

    def read(self, st: Step, r: StepResult) -> Any:
        pos = self.p.lseek(self.memfd(), 0, C.SEEK_CUR)
        data = self.p.read(self.memfd(), st.get("length", PS))
        if data:
            r["data"] = self.content.classify(data, pos)
        return len(data)

    def lseek(self, st: Step, r: StepResult) -> Any:
        return self.p.lseek(self.memfd(), st.get("offset", 0), st.get("whence", C.SEEK_SET))

    def punch_hole(self, st: Step, r: StepResult) -> Any:
        mode = C.FALLOC_FL_PUNCH_HOLE | C.FALLOC_FL_KEEP_SIZE
        self.p.fallocate(self.memfd(), mode, st.get("hugepage", 0) * self.hps, self.hps)
        return 0

    def close(self, st: Step, r: StepResult) -> Any:
        fd, self.fd = self.memfd(), None
        self.p.close(fd)
        return 0

    def fork(self, st: Step, r: StepResult) -> Any:
        self.peer = self.p.fork()
        self.peer_maps = list(self.maps)
        self.peer_base, self.peer_len = self.base, self.maplen
        return 0

    def exit(self, st: Step, r: StepResult) -> Any:
        assert self.peer is not None
        self.peer.exit()
        return 0

    def prctl_mce_kill(self, st: Step, r: StepResult) -> Any:
        proc = self.peer if st.get("peer") else self.p
        assert proc is not None
        proc.prctl_mce_kill("early" if st.get("policy", 1) else "late")
        return 0

    def touch_free(self, st: Step, r: StepResult) -> Any:
        kb = st.get("kb", KB["2M"])
        size = 1024 * kb
        n = int(self.k.cat(f"/sys/kernel/mm/hugepages/hugepages-{kb}kB/free_hugepages"))
        c = self.p.fork()
        maps: Maps = []
        self.children.append((c, maps, 0))
        fd = c.memfd_create("touch", C.MFD_HUGETLB | ((size.bit_length() - 1) << C.MFD_HUGE_SHIFT))
        c.ftruncate(fd, n * size)
        done = 0
        if n:
            addr = c.mmap(n * size, C.PROT_READ | C.PROT_WRITE, C.MAP_SHARED, fd)
            maps.append((addr, n * size))
            while done < n and c.store(addr + done * size, b"\x01").ok:
                done += 1
        return done

    def nr_hugepages(self, st: Step, r: StepResult) -> Any:
        self.k.set_nr_hugepages(SIZE_OF_KB[st.get("kb", KB["2M"])], st.get("count", 0))
        return 0

    def counters(self, st: Step, r: StepResult) -> Any:
        return 0

    def selftest(self, st: Step, r: StepResult) -> Any:
        """The series' selftest (hugetlb-mfr.c) step by step on the model, printing what it
        prints (addresses as MAP+offset, as normalize.selftest_output() writes the guest's)."""
        r["data"] = selftest_output(self.k, self.hps, st.get("pages", 1))
        return 0

    def anon_find(self, st: Step, r: StepResult) -> Any:
        """The model never hands a poisoned raw page to a new process: a dissolved hugepage's
        poisoned pages stay isolated (what the series' prerequisite does)."""
        return 0

    def anon_hwpoison(self, st: Step, r: StepResult) -> Any:
        """Ordinary (non-hugetlb) memory is not in the model."""
        return "not modelled"

    # -- one step --
    def signals(self, st: Step, nsig: int, npeer: int) -> list[list[Any]]:
        sigs: list[list[Any]] = []

        def add(proc: Process, start: int, maps: Maps, base: int, tag: list[str]) -> None:
            for s in proc.signals[start:]:
                if s.si_signo == SIGBUS:
                    # SI_KERNEL ("Memory error not recovered") has no address, as in the guest
                    off = (
                        None if s.si_code == C.BusCode.SI_KERNEL else map_off(s.si_addr, maps, base)
                    )
                    sigs.append([s.si_code, off, s.si_addr_lsb, *tag])

        add(self.p, nsig, self.maps, self.base, [])
        for child, maps, base in self.children:
            add(child, 0, maps, base, [])
            if child.alive:
                child.exit()
        if self.peer is not None:
            add(self.peer, npeer, self.peer_maps, self.peer_base, ["peer"])
        return sorted(sigs)

    def step(self, i: int, st: Step) -> StepResult:
        r = empty_step(st, i)
        op = st["op"]
        nsig = len(self.p.signals)
        npeer = 0 if self.peer is None else len(self.peer.signals)
        self.children = []
        run: Callable[[Step, StepResult], Any] = getattr(self, op)
        try:
            r["ret"] = run(st, r)
        except OSError as exc:
            r["ret"] = errname(exc.errno or 0)
            if op == "close":
                self.fd = None
        r["signals"] = self.signals(st, nsig, npeer)
        if op == "exit":
            self.peer = None
        return r

    def finish(self) -> None:
        """The end of the scenario process (and of its peer)."""
        for proc in (self.peer, self.p):
            if proc is not None and proc.alive:
                proc.exit()


#: offsets the selftest poisons in the first hugepage (hugetlb-mfr.c offsets_2m, offsets_1g)


def new_kernel(boot: str, version: str, keep: bool = False) -> Kernel:
    """A model kernel with the pools of ``boot``; ``keep``: it carries the keep series."""
    return Kernel(BOOT_POOLS[boot], supports_keep_ue_mapped=keep, seed=0, version=version)


def run_scenario(
    scenario: Scenario, version: str = "7.3", kernel: Kernel | None = None, keep: bool = False
) -> list[StepResult]:
    """The normalized results of ``scenario`` on ``kernel`` (default: a fresh model kernel
    with the pools of the scenario's boot, with the keep series if ``keep``)."""
    validate(scenario)
    k = kernel if kernel is not None else new_kernel(boot_of(scenario), version, keep)
    run = _Run(k, scenario)
    results: list[StepResult] = []
    before = counters(k)
    for i, st in enumerate(scenario["steps"]):
        seq = k.seq
        r = run.step(i, st)
        lines = [e.text for e in k.trace.since(seq) if e.kind is EventKind.PRINTK and e.text]
        normal = (run.ctx.line(line, actor(st)) for line in lines)
        r["dmesg"] = dmesg_order([n for n in normal if n is not None])
        after = counters(k)
        r["counters"] = deltas(before, after)
        before = after
        results.append(r)
    run.finish()
    return results


def run_all(
    scenarios: list[Scenario], version: str = "7.3", keep: bool = False
) -> dict[str, list[StepResult]]:
    """Every scenario, boot by boot: one kernel per boot, the scenarios in order on it."""
    out: dict[str, list[StepResult]] = {}
    for boot, group in boots(scenarios).items():
        k = new_kernel(boot, version, keep)
        for sc in group:
            out[sc["name"]] = run_scenario(sc, version, k)
    return out
