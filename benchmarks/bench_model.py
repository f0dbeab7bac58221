"""Benchmark: the model at cloud-host scale, against a naive dense representation.

A host with N x 1 GiB hugepages in one memfd (default 1536: 1.5 TiB), every page filled,
E hardware errors reported by the scrubber (memory_failure() runs for each), then L random
8-byte loads verified. Prints wall time per phase and peak memory (max RSS of a fresh process
per variant, minus the RSS of the same interpreter after imports).

The dense representation (one real buffer per hugepage, one flag per 4 KiB subpage) is what
the model would cost without sparse contents; it cannot hold 1.5 TiB, so both run side by
side on a smaller host (default 4 GiB) and the ratio is taken there.

Then three costs that must not follow the size of the request or of the session:
``load_many`` on the big host with many errors against the same loads with none (the ratio
is printed), the memory of a long session's trace and log, and the time a refused huge
request takes to be answered.

    .venv/bin/python benchmarks/bench_model.py               # full run
    .venv/bin/python benchmarks/bench_model.py --quick       # seconds, for a smoke test
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mfwidgets import Kernel, Process

GIB = 1 << 30
PAGE = 4096
FILL = 0x5A


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _guest(nr: int, seed: int = 0) -> tuple[Kernel, Process, int]:
    """A keep-policy host of ``nr`` filled 1 GiB pages in one memfd: (kernel, vmm, addr)."""
    import mfwidgets as mf

    k = mf.Kernel(hugepages={"1G": nr}, supports_keep_ue_mapped=True, seed=seed)
    p = k.spawn("vmm", handle_sigbus=True)
    fd = p.memfd_create("guest", mf.MFD_HUGETLB | mf.MFD_HUGE_1GB | mf.MFD_MF_KEEP_UE_MAPPED)
    p.ftruncate(fd, nr * GIB)
    addr = p.mmap(nr * GIB, mf.PROT_READ | mf.PROT_WRITE, mf.MAP_SHARED, fd)
    p.fill(addr, nr * GIB, FILL)
    return k, p, addr


def _scrub(
    k: Kernel, p: Process, addr: int, nr: int, errors: int, rng: np.random.Generator
) -> None:
    """``errors`` hardware errors on distinct random 4 KiB pages, reported by the scrubber
    (the same draws as DenseHost's, from the same ``rng``)."""
    pfns = [p.virt_to_pfn(addr + i * GIB) or 0 for i in range(nr)]
    for page in rng.choice(nr * (GIB // PAGE), size=errors, replace=False):
        folio, sub = divmod(int(page), GIB // PAGE)
        k.hw_ue(pfns[folio] + sub, detect="scrub")


def run_model(nr: int, errors: int, loads: int, seed: int) -> dict[str, float]:
    base = _rss_mib()
    t = {}
    t0 = time.perf_counter()
    k, p, addr = _guest(nr, seed)
    t["fill"] = time.perf_counter() - t0

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    _scrub(k, p, addr, nr, errors, rng)
    t["inject"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    offsets = rng.integers(0, nr * GIB // 8, size=loads) * 8
    good = bad = 0
    for off in offsets:
        if p.verify(addr + int(off), 8, FILL).ok:
            good += 1
        else:
            bad += 1
    t["loads"] = time.perf_counter() - t0
    t["good"], t["sigbus"] = good, bad
    t["peak_mib"] = _rss_mib() - base
    return t


def run_load_many(nr: int, errors: int, loads: int, seed: int) -> dict[str, float]:
    """``load_many`` of ``loads`` random 8-byte loads, with ``errors`` scrubbed hardware errors
    on the host and with none (the same loads)."""

    k, p, addr = _guest(1)  # warm up numpy's first calls outside the timing
    k.hw_ue(p.virt_to_pfn(addr) or 0)
    p.load_many(addr + np.arange(100) * PAGE, 8)
    out: dict[str, float] = {}
    for name, n_err in (("clean", 0), ("errors", errors)):
        k, p, addr = _guest(nr, seed)
        _scrub(k, p, addr, nr, n_err, np.random.default_rng(seed))
        offsets = np.random.default_rng(seed + 1).integers(0, nr * GIB // 8, size=loads) * 8
        t0 = time.perf_counter()
        batch = p.load_many(addr + offsets, 8)
        out[f"{name}_us"] = (time.perf_counter() - t0) / loads * 1e6
        out[f"{name}_sigbus"] = len(batch.faults)
    return out


def run_log_memory(events: int) -> dict[str, float]:
    """Memory a long session's trace and log take: a latent error on a kept hugepage, loaded
    again and again (each load: a machine check, memory_failure(), a SIGBUS, log lines),
    until ``events`` events were logged."""
    k, p, addr = _guest(1)
    pfn = p.virt_to_pfn(addr)
    assert pfn is not None
    k.hw_ue(pfn + 7)
    base = _rss_mib()
    first = k.seq
    while k.seq - first < events:
        p.load(addr + 7 * PAGE)
    return {
        "events": k.seq - first,
        "grow_mib": _rss_mib() - base,
        "kept": len(k.trace),
        "log_lines": len(k.dmesg()),
    }


def run_refusals() -> dict[str, float]:
    """The slowest answer (µs) among the refused huge requests of tests/model/test_errors.py
    (each timed once, on a small host)."""
    import errno

    import mfwidgets as mf

    rw = mf.PROT_READ | mf.PROT_WRITE
    calls = {
        "mmap private 2^50": lambda p, fd: p.mmap(1 << 50, rw, mf.MAP_PRIVATE, fd),
        "mmap shared 2^50": lambda p, fd: p.mmap(1 << 50, rw, mf.MAP_SHARED, fd),
        "fallocate 0, 2^50": lambda p, fd: p.fallocate(fd, 0, 0, 1 << 50),
        "fallocate 2^83": lambda p, fd: p.fallocate(fd, 0, 1 << 83, mf.SZ_2M),
        "munmap 0, 2^64": lambda p, fd: p.munmap(0, 2**64),
        "lseek 1.5": lambda p, fd: p.lseek(fd, 1.5),
        "pread 0.5": lambda p, fd: p.pread(fd, 4, 0.5),
        "sysctl True": lambda p, fd: p.kernel.sysctl("vm.memory_failure_early_kill", True),
    }
    worst: dict[str, float] = {}
    for name, call in calls.items():
        k = mf.Kernel({"2M": 8})
        p = k.spawn("p")
        fd = p.memfd_create("m", mf.MFD_HUGETLB)
        p.ftruncate(fd, 2 * mf.SZ_2M)
        t0 = time.perf_counter()
        try:
            call(p, fd)
        except OSError as e:
            assert e.errno in (errno.ENOMEM, errno.ENOSPC, errno.EFBIG, errno.EINVAL), e
        except TypeError:
            pass
        worst[name] = (time.perf_counter() - t0) * 1e6
    return worst


class DenseHost:
    """The naive representation: every byte of every hugepage held in memory."""

    def __init__(self, nr: int) -> None:
        self.data = [np.zeros(GIB, dtype=np.uint8) for _ in range(nr)]
        self.poison = np.zeros(nr * (GIB // PAGE), dtype=bool)

    def fill(self, byte: int) -> None:
        for buf in self.data:
            buf.fill(byte)

    def verify(self, off: int, n: int, byte: int) -> bool:
        if self.poison[off // PAGE]:
            return False
        folio, rest = divmod(off, GIB)
        return bool((self.data[folio][rest : rest + n] == byte).all())


def run_dense(nr: int, errors: int, loads: int, seed: int) -> dict[str, float]:
    base = _rss_mib()
    t = {}
    t0 = time.perf_counter()
    host = DenseHost(nr)
    host.fill(FILL)
    t["fill"] = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    host.poison[rng.choice(nr * (GIB // PAGE), size=errors, replace=False)] = True
    t["inject"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    offsets = rng.integers(0, nr * GIB // 8, size=loads) * 8
    good = sum(host.verify(int(off), 8, FILL) for off in offsets)
    t["loads"] = time.perf_counter() - t0
    t["good"], t["sigbus"] = good, loads - good
    t["peak_mib"] = _rss_mib() - base
    return t


def run_selftest_scale() -> dict[str, float]:
    """The 4 x 1 GiB selftest scenario: fill and verify 4 GiB byte for byte."""
    import mfwidgets as mf

    base = _rss_mib()
    t0 = time.perf_counter()
    k = mf.Kernel(hugepages={"1G": 4})
    p = k.spawn("hugetlb-mfr", handle_sigbus=True)
    fd = p.memfd_create("mfr", mf.MFD_HUGETLB | mf.MFD_HUGE_1GB | mf.MFD_MF_KEEP_UE_MAPPED)
    p.ftruncate(fd, 4 * GIB)
    addr = p.mmap(4 * GIB, mf.PROT_READ | mf.PROT_WRITE, mf.MAP_SHARED, fd)
    p.fill(addr, 4 * GIB, 0xAB)
    for sub in (0, 1, 3, 7, 100, 511, 4096, 262143):
        p.madvise(addr + sub * PAGE, PAGE, mf.MADV_HWPOISON)
    ok = p.verify(addr, 4 * GIB, 0xAB).ok
    return {"seconds": time.perf_counter() - t0, "ok": ok, "peak_mib": _rss_mib() - base}


VARIANTS = {"model": run_model, "dense": run_dense, "load_many": run_load_many}


def child(args: argparse.Namespace) -> None:
    if args.variant == "selftest":
        out = run_selftest_scale()
    elif args.variant == "log":
        out = run_log_memory(args.loads)
    elif args.variant == "refusals":
        out = run_refusals()
    else:
        out = VARIANTS[args.variant](args.hugepages, args.errors, args.loads, args.seed)
    print(json.dumps(out))


def spawn(variant: str, nr: int, errors: int, loads: int, seed: int) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", variant, "--hugepages", str(nr)]
    cmd += ["--errors", str(errors), "--loads", str(loads), "--seed", str(seed)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def report(name: str, r: dict[str, float]) -> None:
    print(
        f"{name:<28} fill {r['fill']:8.3f} s  inject {r['inject']:8.3f} s  "
        f"loads {r['loads']:8.3f} s  good {int(r['good']):>8}  sigbus {int(r['sigbus']):>5}  "
        f"peak {r['peak_mib']:8.1f} MiB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--hugepages", type=int, default=1536, help="1 GiB pages of the big host")
    ap.add_argument("--small", type=int, default=4, help="1 GiB pages of the side-by-side host")
    ap.add_argument("--errors", type=int, default=10_000)
    ap.add_argument("--loads", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-errors", type=int, default=100_000, help="errors for load_many")
    ap.add_argument("--batch-loads", type=int, default=200_000, help="loads for load_many")
    ap.add_argument("--events", type=int, default=300_000, help="events for the log memory")
    ap.add_argument("--quick", action="store_true", help="a tiny run (smoke test)")
    ap.add_argument("--child", dest="variant", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.variant:
        child(args)
        return
    if args.quick:
        args.hugepages, args.small, args.errors, args.loads = 8, 1, 100, 2_000
        args.batch_errors, args.batch_loads, args.events = 100, 2_000, 3_000

    st = spawn("selftest", 4, 0, 0, args.seed)
    print(
        "4 x 1 GiB selftest scenario: fill + 8 injections + verify 4 GiB: "
        f"{st['seconds']:.3f} s, peak {st['peak_mib']:.1f} MiB, "
        f"every byte read back: {bool(st['ok'])}"
    )
    big = spawn("model", args.hugepages, args.errors, args.loads, args.seed)
    report(f"model, {args.hugepages} GiB", big)
    small_loads = min(args.loads, 100_000)
    small_errors = min(args.errors, args.small * 1000)
    model = spawn("model", args.small, small_errors, small_loads, args.seed)
    dense = spawn("dense", args.small, small_errors, small_loads, args.seed)
    report(f"model, {args.small} GiB", model)
    report(f"dense, {args.small} GiB", dense)
    t_model = model["fill"] + model["inject"] + model["loads"]
    t_dense = dense["fill"] + dense["inject"] + dense["loads"]
    print(
        f"on {args.small} GiB, dense / model: time {t_dense / t_model:.2f}x, "
        f"memory {dense['peak_mib'] / max(model['peak_mib'], 0.1):.1f}x; "
        f"dense at {args.hugepages} GiB would need {args.hugepages * 1024:,} MiB"
    )
    lm = spawn("load_many", args.hugepages, args.batch_errors, args.batch_loads, args.seed)
    print(
        f"load_many on {args.hugepages} GiB, {args.batch_loads:,} loads: "
        f"{lm['clean_us']:.2f} us/load with no error, {lm['errors_us']:.2f} us/load with "
        f"{args.batch_errors:,} errors ({int(lm['errors_sigbus'])} SIGBUS): "
        f"ratio {lm['errors_us'] / lm['clean_us']:.1f}x"
    )
    log = spawn("log", 1, 0, args.events, args.seed)
    print(
        f"{int(log['events']):,} logged events: the process grew {log['grow_mib']:.1f} MiB "
        f"(trace keeps {int(log['kept']):,} events, dmesg {int(log['log_lines']):,} lines)"
    )
    worst = spawn("refusals", 0, 0, 0, args.seed)
    slowest = max(worst, key=lambda name: worst[name])
    print(
        f"refused huge requests: slowest answer {worst[slowest]:.0f} us ({slowest}); "
        + ", ".join(f"{name} {us:.0f}" for name, us in worst.items())
    )


if __name__ == "__main__":
    main()
