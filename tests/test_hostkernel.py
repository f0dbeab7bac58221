"""The host-kernel probe: exact values from a fake /proc and /sys, "unknown" for what cannot be
read, the memfd_create() verdicts, and a real run on this machine that changes nothing."""

from __future__ import annotations

import errno
import gzip
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mfwidgets import __main__ as launcher
from mfwidgets import hostkernel as hk

RELEASE = "6.12.117+deb13-amd64"
TREE = {
    "proc/sys/kernel/osrelease": f"{RELEASE}\n",
    f"boot/config-{RELEASE}": (
        "CONFIG_MEMORY_FAILURE=y\nCONFIG_HWPOISON_INJECT=m\nCONFIG_HUGETLBFS=y\n"
        "CONFIG_HUGETLB_PAGE=y\n"
    ),
    "proc/meminfo": (
        "MemTotal:       10208960 kB\nHardwareCorrupted:     8 kB\nHugePages_Total:      24\n"
        "HugePages_Free:       20\nHugePages_Rsvd:        2\nHugePages_Surp:        0\n"
        "Hugepagesize:       2048 kB\nHugetlb:         6340608 kB\n"
    ),
    "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages": "24\n",
    "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages": "20\n",
    "sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages": "2\n",
    "sys/kernel/mm/hugepages/hugepages-2048kB/surplus_hugepages": "0\n",
    "sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages": "6\n",
    "sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages": "5\n",
    "sys/kernel/mm/hugepages/hugepages-1048576kB/resv_hugepages": "0\n",
    "sys/kernel/mm/hugepages/hugepages-1048576kB/surplus_hugepages": "1\n",
    "proc/sys/vm/memory_failure_early_kill": "0\n",
    "proc/sys/vm/memory_failure_recovery": "1\n",
    "sys/devices/system/node/node0/memory_failure/total": "3\n",
    "sys/devices/system/node/node0/memory_failure/ignored": "0\n",
    "sys/devices/system/node/node0/memory_failure/failed": "1\n",
    "sys/devices/system/node/node0/memory_failure/delayed": "0\n",
    "sys/devices/system/node/node0/memory_failure/recovered": "2\n",
    "proc/mounts": "proc /proc proc rw 0 0\ndebugfs /sys/kernel/debug debugfs rw 0 0\n",
    "sys/kernel/debug/hwpoison/corrupt-pfn": "",
    "sys/module/hwpoison_inject/refcnt": "0\n",
}
MEMINFO_LINES = ("HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp")


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


class FakeMemfdCreate:
    """memfd_create() of a kernel with or without the series: real fds (of /dev/null), so the
    test can check the probe closed them."""

    def __init__(self, reject: Callable[[int], int | None]) -> None:
        self.reject = reject  # flags -> errno to fail with, or None to accept
        self.calls: list[tuple[str, int]] = []
        self.fds: list[int] = []

    def __call__(self, name: str, flags: int) -> int:
        self.calls.append((name, flags))
        err = self.reject(flags)
        if err is not None:
            raise OSError(err, os.strerror(err))
        self.fds.append(os.open(os.devnull, os.O_RDONLY))
        return self.fds[-1]


def stock_kernel() -> FakeMemfdCreate:
    return FakeMemfdCreate(lambda flags: errno.EINVAL if flags & 0x20 else None)


def keep_kernel() -> FakeMemfdCreate:
    return FakeMemfdCreate(lambda flags: None)


def verdict(host: hk.HostKernel, name: str) -> str:
    return dict(hk.verdicts(host))[name]


def test_probe_reads_the_exact_values_of_a_6_12_like_tree(tmp_path: Path) -> None:
    host = hk.probe(make_tree(tmp_path, TREE), stock_kernel())
    assert host == hk.HostKernel(
        release=RELEASE,
        config_source=f"/boot/config-{RELEASE}",
        config={
            "CONFIG_MEMORY_FAILURE": "y",
            "CONFIG_HWPOISON_INJECT": "m",
            "CONFIG_HUGETLBFS": "y",
        },
        pools=(
            hk.HugepagePool(
                2048,
                {
                    "nr_hugepages": 24,
                    "free_hugepages": 20,
                    "resv_hugepages": 2,
                    "surplus_hugepages": 0,
                },
            ),
            hk.HugepagePool(
                1048576,
                {
                    "nr_hugepages": 6,
                    "free_hugepages": 5,
                    "resv_hugepages": 0,
                    "surplus_hugepages": 1,
                },
            ),
        ),  # fmt: skip
        meminfo={
            "HugePages_Total": 24,
            "HugePages_Free": 20,
            "HugePages_Rsvd": 2,
            "HugePages_Surp": 0,
            "Hugepagesize": 2048,
            "Hugetlb": 6340608,
            "HardwareCorrupted": 8,
        },  # fmt: skip
        sysctls={"memory_failure_early_kill": 0, "memory_failure_recovery": 1},
        node_stats={0: {"total": 3, "ignored": 0, "failed": 1, "delayed": 0, "recovered": 2}},
        debugfs="/sys/kernel/debug",
        hwpoison_dir=True,
        hwpoison_module=True,
        memfd=(
            hk.MemfdProbe("MFD_HUGETLB", 0x5, True, None),
            hk.MemfdProbe("MFD_HUGETLB | MFD_MF_KEEP_UE_MAPPED", 0x25, False, "EINVAL"),
        ),
    )
    out = hk.report(host)
    assert "  2 MiB               24              20               2                  0" in out
    assert "  1 GiB                6               5               0                  1" in out
    assert "Hugepagesize 2048 kB, Hugetlb 6340608 kB, HardwareCorrupted 8 kB" in out
    assert (
        "  node0/memory_failure/         total 3, ignored 0, failed 1, delayed 0, recovered 2"
        in out
    )
    assert verdict(host, "memory failure") == (
        "built in; vm.memory_failure_recovery=1 (1: recover, 0: panic)"
    )
    assert verdict(host, "node stats") == "present: node0 total 3"
    assert verdict(host, "hugetlb memfd") == (
        "yes: memfd_create(MFD_HUGETLB) works; the pools hold 30 hugepages"
    )


def test_a_kernel_without_node_stats_says_so(tmp_path: Path) -> None:
    files = {k: v for k, v in TREE.items() if "/memory_failure/" not in k}
    host = hk.probe(make_tree(tmp_path, files), stock_kernel())
    assert host.node_stats == {}
    assert "  node*/memory_failure/         not present" in hk.report(host)
    assert (
        verdict(host, "node stats") == "absent: older kernels lack them (6.1 does, 6.12 has them)"
    )


def test_a_kernel_without_memory_failure_explains_every_capability(tmp_path: Path) -> None:
    files = {k: v for k, v in TREE.items() if "memory_failure" not in k and "hwpoison" not in k}
    files[f"boot/config-{RELEASE}"] = "CONFIG_HUGETLBFS=y\n"  # unmet deps: options left out
    host = hk.probe(make_tree(tmp_path, files), stock_kernel())
    assert host.config["CONFIG_MEMORY_FAILURE"] == "not set"
    assert verdict(host, "memory failure").startswith("not built in (CONFIG_MEMORY_FAILURE")
    assert verdict(host, "node stats") == "absent, as expected without CONFIG_MEMORY_FAILURE"
    assert "EINVAL" in verdict(host, "error injection")


def test_keep_flag_einval_on_a_stock_kernel(tmp_path: Path) -> None:
    fake = stock_kernel()
    host = hk.probe(make_tree(tmp_path, TREE), fake)
    assert fake.calls == [("probe", 0x5), ("probe", 0x25)]
    assert host.memfd[1] == hk.MemfdProbe(
        "MFD_HUGETLB | MFD_MF_KEEP_UE_MAPPED", 0x25, False, "EINVAL"
    )
    assert verdict(host, "keep-UE-mapped") == (
        "not supported by this kernel (EINVAL): the workbook's model shows what it would do"
    )
    assert 'memfd_create("probe", MFD_HUGETLB | MFD_MF_KEEP_UE_MAPPED) EINVAL' in hk.report(host)


def test_keep_flag_accepted_by_a_kernel_with_the_series_and_every_fd_closed(
    tmp_path: Path,
) -> None:
    fake = keep_kernel()
    host = hk.probe(make_tree(tmp_path, TREE), fake)
    assert [p.accepted for p in host.memfd] == [True, True]
    assert verdict(host, "keep-UE-mapped").startswith("accepted: this kernel knows flag 0x20")
    assert len(fake.fds) == 2
    for fd in fake.fds:  # closed at once: never sized or mapped
        with pytest.raises(OSError) as info:
            os.fstat(fd)
        assert info.value.errno == errno.EBADF


def test_keep_verdict_is_inconclusive_when_hugetlb_memfds_fail(tmp_path: Path) -> None:
    host = hk.probe(make_tree(tmp_path, TREE), FakeMemfdCreate(lambda flags: errno.ENOENT))
    assert [p.error for p in host.memfd] == ["ENOENT", "ENOENT"]
    assert verdict(host, "hugetlb memfd") == "no: memfd_create(MFD_HUGETLB) fails with ENOENT"
    assert verdict(host, "keep-UE-mapped") == (
        "cannot tell: MFD_HUGETLB alone already fails (ENOENT)"
    )


def test_missing_files_give_unknown_not_a_crash(tmp_path: Path) -> None:
    host = hk.probe(tmp_path, memfd_create=None)  # an empty root, no memfd_create
    assert host.release is None and host.config_source is None
    assert set(host.config.values()) == {"unknown"}
    assert host.pools == () and host.node_stats == {}
    assert set(host.meminfo.values()) == {None} and set(host.sysctls.values()) == {None}
    assert (host.debugfs, host.hwpoison_dir, host.hwpoison_module) == (None, None, False)
    assert [p.accepted for p in host.memfd] == [None, None]
    out = hk.report(host)
    assert [s for s in hk.SECTIONS if not any(ln.startswith(s) for ln in out.splitlines())] == []
    assert "  release                       unknown" in out
    assert "HardwareCorrupted unknown" in out
    assert verdict(host, "keep-UE-mapped") == "unknown: this Python has no os.memfd_create"


def test_unreadable_or_garbled_files_give_unknown(tmp_path: Path) -> None:
    root = make_tree(tmp_path, TREE)
    nr = root / "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
    nr.unlink()
    nr.mkdir()  # reading it fails with an OSError, as a file without permission would
    (root / "sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages").write_text("lots\n")
    (root / "proc/meminfo").write_text("HugePages_Total: many\nHardwareCorrupted:\n")
    (root / f"boot/config-{RELEASE}").unlink()
    (root / "proc/config.gz").write_bytes(b"not gzip")
    host = hk.probe(root, stock_kernel())
    assert host.pools[0].counters["nr_hugepages"] is None
    assert host.pools[1].counters["free_hugepages"] is None
    assert host.meminfo["HugePages_Total"] is None and host.meminfo["HardwareCorrupted"] is None
    assert host.config_source is None and set(host.config.values()) == {"unknown"}
    assert "  2 MiB          unknown" in hk.report(host)


def test_proc_config_gz_is_read_when_boot_has_no_config(tmp_path: Path) -> None:
    files = {k: v for k, v in TREE.items() if not k.startswith("boot/")}
    root = make_tree(tmp_path, files)
    text = "# CONFIG_MEMORY_FAILURE is not set\nCONFIG_HUGETLBFS=y\n"
    (root / "proc/config.gz").write_bytes(gzip.compress(text.encode()))
    host = hk.probe(root, stock_kernel())
    assert host.config_source == "/proc/config.gz"
    assert host.config == {
        "CONFIG_MEMORY_FAILURE": "not set",
        "CONFIG_HWPOISON_INJECT": "not set",
        "CONFIG_HUGETLBFS": "y",
    }


def test_probe_writes_nothing_to_the_tree(tmp_path: Path) -> None:
    root = make_tree(tmp_path, TREE)

    def state() -> dict[str, tuple[bytes, int]]:
        return {
            str(p): (p.read_bytes() if p.is_file() else b"", p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))
        }

    before = state()
    hk.probe(root, stock_kernel())
    assert state() == before


def test_kernel_doctor_is_friendly_off_linux(capsys: pytest.CaptureFixture[str]) -> None:
    assert launcher.kernel_doctor("darwin") == 0
    assert "looks at a Linux kernel, and this is darwin" in capsys.readouterr().out


def run_kernel_doctor() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mfwidgets", "doctor", "--kernel"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def pool_counters() -> list[str]:
    """What a probe must never change: the meminfo pool and poison lines, and sysfs pools."""
    lines = [
        line
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith((*MEMINFO_LINES, "HardwareCorrupted"))
    ]
    for d in sorted(Path("/sys/kernel/mm/hugepages").glob("hugepages-*kB")):
        lines += [f"{d.name}/{f}: {(d / f).read_text().strip()}" for f in hk.POOL_FILES]
    return lines


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="probes a Linux kernel")
def test_doctor_kernel_runs_here_and_prints_every_section() -> None:
    proc = run_kernel_doctor()
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [s for s in hk.SECTIONS if not any(line.startswith(s) for line in lines)] == []
    for name in ("hugetlb memfd:", "memory failure:", "node stats:", "keep-UE-mapped:"):
        assert any(line.startswith(f"  {name}") for line in lines), name


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="probes a Linux kernel")
def test_doctor_kernel_changes_no_pool_or_poison_counter() -> None:
    before = pool_counters()
    assert [line for line in before if line.startswith(MEMINFO_LINES)], "no HugePages_* lines"
    assert run_kernel_doctor().returncode == 0
    assert pool_counters() == before
