"""Benchmark: the model at cloud-host scale, against a naive dense representation.

A host with N x 1 GiB hugepages in one memfd (default 1536: 1.5 TiB), every page filled,
E hardware errors reported by the scrubber (memory_failure() runs for each), then L random
8-byte loads verified. Prints wall time per phase and peak memory (max RSS of a fresh process
per variant, minus the RSS of the same interpreter after imports).

The dense representation (one real buffer per hugepage, one flag per 4 KiB subpage) is what
the model would cost without sparse contents; it cannot hold 1.5 TiB, so both run side by
side on a smaller host (default 4 GiB) and the ratio is taken there.

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

import numpy as np

GIB = 1 << 30
PAGE = 4096
FILL = 0x5A


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_model(nr: int, errors: int, loads: int, seed: int) -> dict[str, float]:
    import mfwidgets as mf

    base = _rss_mib()
    t = {}
    t0 = time.perf_counter()
    k = mf.Kernel(hugepages={"1G": nr}, supports_keep_ue_mapped=True, seed=seed)
    p = k.spawn("vmm", handle_sigbus=True)
    fd = p.memfd_create("guest", mf.MFD_HUGETLB | mf.MFD_HUGE_1GB | mf.MFD_MF_KEEP_UE_MAPPED)
    p.ftruncate(fd, nr * GIB)
    addr = p.mmap(nr * GIB, mf.PROT_READ | mf.PROT_WRITE, mf.MAP_SHARED, fd)
    p.fill(addr, nr * GIB, FILL)
    t["fill"] = time.perf_counter() - t0

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    pfns = [p.virt_to_pfn(addr + int(i) * GIB) for i in range(nr)]
    victims = rng.choice(nr * (GIB // PAGE), size=errors, replace=False)
    for page in victims:
        folio, sub = divmod(int(page), GIB // PAGE)
        k.hw_ue(pfns[folio] + sub, detect="scrub")
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


VARIANTS = {"model": run_model, "dense": run_dense}


def child(args: argparse.Namespace) -> None:
    if args.variant == "selftest":
        out = run_selftest_scale()
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
    ap.add_argument("--quick", action="store_true", help="a tiny run (smoke test)")
    ap.add_argument("--child", dest="variant", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.variant:
        child(args)
        return
    if args.quick:
        args.hugepages, args.small, args.errors, args.loads = 8, 1, 100, 2_000

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


if __name__ == "__main__":
    main()
