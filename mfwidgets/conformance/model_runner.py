"""Run a scenario on the model (a stock kernel: ``supports_keep_ue_mapped=False``) and return
the normalized results, in the same format as a parsed real-kernel transcript."""

from __future__ import annotations

import errno
from typing import Any

from ..model import constants as C
from ..model.errors import EHWPOISON
from ..model.kernel import Kernel
from .normalize import Context, StepResult, deltas, empty_step
from .scenario import HPS, PS, Scenario, validate

#: the guest's boot pools (hugepagesz=2M hugepages=16 hugepagesz=1G hugepages=2)
POOLS = {"2M": 16, "1G": 2}
FILL_BYTE = 0xA5
NODE = "/sys/devices/system/node/node0/memory_failure/"
KB = {"2M": 2048, "1G": 1048576}


def errname(e: int) -> str:
    if e == EHWPOISON:
        return "EHWPOISON"
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
            if st["op"] in ("load", "store"):
                off = st.get("hugepage", 0) * hps + st.get("subpage", 0) * PS + st.get("byte", 0)
                self.words.add(off & ~7)
            elif st["op"] == "pread":
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


def run_scenario(scenario: Scenario, version: str = "7.3") -> list[StepResult]:
    """The normalized results of ``scenario`` on a fresh stock model kernel."""
    validate(scenario)
    size = scenario.get("hugepagesize", "2M")
    hps = HPS[size]
    k = Kernel(POOLS, supports_keep_ue_mapped=False, seed=0, version=version)
    p = k.spawn("init", handle_sigbus=True)
    ctx = Context(size)
    content = _Content(scenario, hps)
    fd: int | None = None
    maplen = 0
    results: list[StepResult] = []
    before = counters(k)
    log = len(k.dmesg())
    for i, st in enumerate(scenario["steps"]):
        r = empty_step(st, i)
        op = st["op"]
        h, sub = st.get("hugepage", 0), st.get("subpage", 0)
        nsig = len(p.signals)
        base = ctx.base or 0
        child = None
        ret: Any = 0
        try:
            if op == "memfd_create":
                new = p.memfd_create("conformance", st.get("flags", C.MFD_HUGETLB))
                if fd is not None:
                    p.close(new)
                    ret = "EBUSY"
                else:
                    fd, ret = new, "fd"
            elif op == "ftruncate":
                assert fd is not None
                p.ftruncate(fd, st.get("hugepages", 1) * hps)
            elif op == "mmap":
                assert fd is not None
                maplen = st.get("hugepages", 1) * hps
                ctx.base = p.mmap(maplen, C.PROT_READ | C.PROT_WRITE, C.MAP_SHARED, fd)
            elif op == "fill":
                p.fill(base, maplen, FILL_BYTE)
                for w in sorted(content.words):
                    if w + 8 <= maplen:
                        p.store(base + w, (0x5A5A000000000000 ^ w).to_bytes(8, "little"))
                for n in range(maplen // hps):
                    pfn = p.virt_to_pfn(base + n * hps)
                    assert pfn is not None
                    ctx.heads[n] = pfn
            elif op == "madvise_hwpoison":
                p.madvise(base + h * hps + sub * PS, PS, C.MADV_HWPOISON)
            elif op == "corrupt_pfn":
                k.corrupt_pfn(ctx.heads[h] + sub)
            elif op == "unpoison_pfn":
                k.unpoison_pfn(ctx.heads[h] + sub)
            elif op in ("load", "store"):
                off = h * hps + sub * PS + st.get("byte", 0)
                child = p.fork()
                if op == "load":
                    acc = child.load(base + off, 1)
                    if acc.ok and acc.data is not None:
                        r["data"] = content.classify(acc.data, off)
                else:
                    byte = content.expected(off, 1)
                    acc = child.store(base + off, byte)
                    if acc.ok:
                        acc = child.load(base + off, 1)
                        assert acc.data is not None
                        r["data"] = content.classify(acc.data, off)
            elif op == "pread":
                assert fd is not None
                off = st.get("offset", 0)
                data = p.pread(fd, st.get("length", PS), off)
                ret = len(data)
                if data:
                    r["data"] = content.classify(data, off)
            elif op == "punch_hole":
                assert fd is not None
                mode = C.FALLOC_FL_PUNCH_HOLE | C.FALLOC_FL_KEEP_SIZE
                p.fallocate(fd, mode, h * hps, hps)
            elif op == "munmap":
                p.munmap(base, maplen)
            elif op == "close":
                assert fd is not None
                p.close(fd)
                fd = None
        except OSError as exc:
            ret = errname(exc.errno or 0)
            if op == "close":
                fd = None
        r["ret"] = ret
        sigs = list(p.signals[nsig:])
        if child is not None:
            sigs += child.signals
            if child.alive:
                child.exit()
        r["signals"] = [[s.si_code, s.si_addr - base, s.si_addr_lsb] for s in sigs]
        lines = k.dmesg()
        r["dmesg"] = [n for n in (ctx.line(x) for x in lines[log:]) if n is not None]
        log = len(lines)
        after = counters(k)
        r["counters"] = deltas(before, after)
        before = after
        results.append(r)
    return results


def run_all(scenarios: list[Scenario], version: str = "7.3") -> dict[str, list[StepResult]]:
    return {sc["name"]: run_scenario(sc, version) for sc in scenarios}
