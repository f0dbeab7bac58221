"""The keep series' selftest (``hugetlb-mfr <size> <pages>``) run on the model: the lines it
prints, to compare with what it printed on a kernel built with the series (keep.py's
``selftest`` steps).

Mirrors: the series' tools/testing/selftests/mm/hugetlb-mfr.c, line for line of its output.
"""

from __future__ import annotations

from ..model import constants as C
from ..model.kernel import Kernel
from ..model.siginfo import SigInfo
from .scenario import HPS, PS

SIGBUS = 7

SELFTEST_OFFSETS = {
    HPS["2M"]: (0x020000, 0x041000, 0x07F000, 0x120000, 0x13F000, 0x141000, 0x17F000, 0x18F000),
    HPS["1G"]: (
        0x200000, 0x3FF000, 0x801000, 0x2000000, 0x3FFF000, 0x4001000, 0x7FFF000, 0x8011000,
    ),
}  # fmt: skip
SELFTEST_FILL = 0xAB


def selftest_output(k: Kernel, hps: int, pages: int) -> list[str]:
    """What ``hugetlb-mfr <size> <pages>`` prints, run on the model (a process of its own;
    each MADV_HWPOISON from a thread of it: here the process itself)."""
    lines = ["TAP version 13", "1..1"]
    fails = 0

    def msg(text: str) -> None:
        lines.append(f"# {text}")

    def fail(text: str) -> None:
        nonlocal fails
        fails += 1
        lines.append(f"not ok {fails} {text}")

    kb = hps // 1024
    path = f"/sys/kernel/mm/hugepages/hugepages-{kb}kB/nr_hugepages"
    p = k.spawn("hugetlb-mfr", handle_sigbus=True)
    flags = C.MFD_HUGETLB | C.MFD_MF_KEEP_UE_MAPPED | ((hps.bit_length() - 1) << C.MFD_HUGE_SHIFT)
    fd = p.memfd_create("hugetlb_tmp", flags)
    msg("Created hugetlb_tmp file")
    msg(f"hugepagesize={hps:#x}")
    before = int(k.cat(path))
    msg(f"NR hugepages before MADV_HWPOISON is {before}")
    length = 4 * hps
    p.ftruncate(fd, length)
    msg(f"Allocated {length:#x} bytes to HugeTLB file")
    base = p.mmap(length, C.PROT_READ | C.PROT_WRITE, C.MAP_SHARED, fd)
    msg("Created HugeTLB mapping: MAP+0x0")
    p.fill(base, length, SELFTEST_FILL)
    msg("Memset every byte to 0xab")
    msg("Setup SIGBUS handler successfully")
    for off in SELFTEST_OFFSETS[hps][:pages]:
        msg(f"MADV_HWPOISON hwpoison_addr=MAP+{off:#x}, len={PS}")
        n = len(p.signals)
        p.madvise(base + off, PS, C.MADV_HWPOISON)
        msg(f"Created thread to hwpoison and access hwpoison_addr=MAP+{off:#x}")
        got = [s for s in p.signals[n:] if s.si_signo == SIGBUS]
        for text in _sigbus_failures(got, base, off):
            fail(text)
        msg("Received expected and correct SIGBUS")
    if not p.verify(base, length, SELFTEST_FILL).ok:
        fail("Memory content corrupted")
    msg("Memory content all valid")
    after = int(k.cat(path))
    msg(f"NR hugepages after MADV_HWPOISON is {after}")
    if after != before:
        fail(f"NR hugepages reduced by {before - after} after MADV_HWPOISON")
    p.ftruncate(fd, 0)
    p.munmap(base, length)
    p.close(fd)
    after = int(k.cat(path))
    msg(f"NR hugepages after closure is {after}")
    if before != after + 1:
        fail("NR hugepages is not reduced after memfd closure")
    lines.append(f"ok {fails + 1} All done")
    lines.append(f"# Totals: pass:1 fail:{fails} xfail:0 xpass:0 skip:0 error:0")
    p.exit()
    return lines


def _sigbus_failures(got: list[SigInfo], base: int, off: int) -> list[str]:
    """The selftest's checks of the SIGBUSes one MADV_HWPOISON at MAP+``off`` delivered."""
    fails = []
    if not got:
        fails.append("Didn't get a SIGBUS")
    elif got[-1].si_code not in (C.BUS_MCEERR_AO, C.BUS_MCEERR_AR):
        fails.append("Didn't get a BUS_MCEERR_A(R|O)")
    if got and got[-1].si_addr != base + off:
        fails.append(f"Incorrect address: got=MAP+{got[-1].si_addr - base:#x}, "
                     f"expected=MAP+{off:#x}")  # fmt: skip
    if got and got[-1].si_addr_lsb != 12:
        fails.append(f"Incorrect address LSB: got={got[-1].si_addr_lsb}, expected=12")
    return fails
