"""The kernel this machine runs: what it offers for memory-failure recovery in HugeTLB memfds,
found by a read-only probe, so a student can set the real machine beside the model.

Mirrors: the files the kernel exports for this story (/proc/meminfo, /proc/sys/vm/memory_failure_*,
/sys/kernel/mm/hugepages/hugepages-<kB>kB/*, /sys/devices/system/node/node<N>/memory_failure/*,
debugfs hwpoison/), the kernel config, and the flag check of memfd_create() (sanitize_flags() in
mm/memfd.c).

The probe has no side effects: it only reads files and stats paths, never writes, mounts or loads
a module, and the two probe memfds are closed at once, never sized or mapped, so no hugepage is
ever allocated or reserved.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno  # the host's own values: this module reads the real machine, not the model
import gzip
import os
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path

from .model.constants import MFD_CLOEXEC, MFD_HUGETLB, MFD_MF_KEEP_UE_MAPPED

UNKNOWN = "unknown"
SECTIONS = ("Kernel", "Hugepage pools", "Memory-failure support", "memfd_create probes", "Verdict")
CONFIG_OPTIONS = ("CONFIG_MEMORY_FAILURE", "CONFIG_HWPOISON_INJECT", "CONFIG_HUGETLBFS")
POOL_FILES = ("nr_hugepages", "free_hugepages", "resv_hugepages", "surplus_hugepages")
MEMINFO_KEYS = (
    "HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp", "Hugepagesize",
    "Hugetlb", "HardwareCorrupted",
)  # fmt: skip
SYSCTLS = ("memory_failure_early_kill", "memory_failure_recovery")
NODE_STATS = ("total", "ignored", "failed", "delayed", "recovered")
# The two probes, (label, flags). MFD_HUGETLB is 0x4 and MFD_MF_KEEP_UE_MAPPED 0x20, the kernel's
# values (os has no constant for the proposed flag; the model's constants carry both).
# PROPOSED: 0x20 is the unmerged MFD_MF_KEEP_UE_MAPPED series; a kernel without it says EINVAL.
# MFD_CLOEXEC, os.memfd_create's own default, so no child process can inherit a probe fd.
MEMFD_PROBES = (
    ("MFD_HUGETLB", MFD_CLOEXEC | MFD_HUGETLB),
    ("MFD_HUGETLB | MFD_MF_KEEP_UE_MAPPED", MFD_CLOEXEC | MFD_HUGETLB | MFD_MF_KEEP_UE_MAPPED),
)

MemfdCreate = Callable[[str, int], int]
_OS_MEMFD_CREATE: MemfdCreate | None = getattr(os, "memfd_create", None)  # Linux only


@dataclasses.dataclass(frozen=True)
class HugepagePool:
    """One hugepage size's sysfs counters; None where a file could not be read."""

    kb: int
    counters: Mapping[str, int | None]  # keyed by POOL_FILES


@dataclasses.dataclass(frozen=True)
class MemfdProbe:
    """One memfd_create() call: accepted, or the errno name it failed with."""

    label: str
    flags: int
    accepted: bool | None  # None: this platform has no memfd_create
    error: str | None  # "EINVAL", ...; None when accepted


@dataclasses.dataclass(frozen=True)
class HostKernel:
    """What the probe found. Every value that could not be read is None (shown "unknown")."""

    release: str | None
    config_source: str | None  # the config file read, None if neither was readable
    config: Mapping[str, str]  # "y", "m", "not set", or "unknown"
    pools: tuple[HugepagePool, ...]
    meminfo: Mapping[str, int | None]  # kB for sizes, counts for HugePages_*
    sysctls: Mapping[str, int | None]
    node_stats: Mapping[int, Mapping[str, int | None]]  # empty: no node has memory_failure/
    debugfs: str | None  # the mount point, "" when not mounted, None when unknown
    hwpoison_dir: bool | None  # <debugfs>/hwpoison/ (corrupt-pfn, unpoison-pfn) visible
    hwpoison_module: bool | None  # /sys/module/hwpoison_inject: the module is loaded
    memfd: tuple[MemfdProbe, ...]


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def _read_int(path: Path) -> int | None:
    text = _read(path)
    try:
        return None if text is None else int(text.strip())
    except ValueError:
        return None


def _exists(path: Path) -> bool | None:
    """Whether a path exists; None when the answer is hidden (no permission)."""
    try:
        path.stat()
    except FileNotFoundError:
        return False
    except OSError:
        return None
    return True


def _config(root: Path, release: str | None) -> tuple[str | None, dict[str, str]]:
    candidates = [root / "boot" / f"config-{release}"] if release else []
    candidates.append(root / "proc" / "config.gz")
    for path in candidates:
        try:
            raw = path.read_bytes()
            text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode()
        except (OSError, EOFError, zlib.error, UnicodeDecodeError):
            continue
        found: dict[str, str] = {}
        for line in text.splitlines():
            if line.startswith("# CONFIG_") and line.endswith(" is not set"):
                found[line[2:].split()[0]] = "not set"
            elif line.startswith("CONFIG_") and "=" in line:
                name, value = line.split("=", 1)
                found[name] = value
        # An option whose dependencies are unmet is left out of the file: it is not set either.
        return str(Path("/") / path.relative_to(root)), {
            o: found.get(o, "not set") for o in CONFIG_OPTIONS
        }
    return None, dict.fromkeys(CONFIG_OPTIONS, UNKNOWN)


def _meminfo(root: Path) -> dict[str, int | None]:
    values: dict[str, int | None] = dict.fromkeys(MEMINFO_KEYS)
    for line in (_read(root / "proc" / "meminfo") or "").splitlines():
        key, _, rest = line.partition(":")
        if key in values and rest.split():
            with contextlib.suppress(ValueError):  # a garbled line stays unknown
                values[key] = int(rest.split()[0])
    return values


def _pools(root: Path) -> tuple[HugepagePool, ...]:
    pools = []
    for d in root.glob("sys/kernel/mm/hugepages/hugepages-*kB"):
        kb = d.name.removeprefix("hugepages-").removesuffix("kB")
        if kb.isdigit():
            pools.append(HugepagePool(int(kb), {f: _read_int(d / f) for f in POOL_FILES}))
    return tuple(sorted(pools, key=lambda p: p.kb))


def _node_stats(root: Path) -> dict[int, Mapping[str, int | None]]:
    stats: dict[int, Mapping[str, int | None]] = {}
    for d in root.glob("sys/devices/system/node/node*/memory_failure"):
        node = d.parent.name.removeprefix("node")
        if node.isdigit():
            stats[int(node)] = {s: _read_int(d / s) for s in NODE_STATS}
    return dict(sorted(stats.items()))


def _debugfs(root: Path) -> str | None:
    mounts = _read(root / "proc" / "mounts")
    if mounts is None:
        return None
    points = [f[1] for f in (line.split() for line in mounts.splitlines()) if f[2:3] == ["debugfs"]]
    return points[0] if points else ""


def _hwpoison_dir(root: Path, debugfs: str | None) -> bool | None:
    if not debugfs:  # not mounted: nothing visible; None: /proc/mounts unreadable
        return None if debugfs is None else False
    return _exists(root / debugfs.lstrip("/") / "hwpoison")


def _memfd_probe(label: str, flags: int, memfd_create: MemfdCreate | None) -> MemfdProbe:
    """Create and close at once a memfd: size 0, never mapped, so no hugepage is touched."""
    if memfd_create is None:
        return MemfdProbe(label, flags, None, None)
    try:
        fd = memfd_create("probe", flags)
    except OSError as e:
        return MemfdProbe(label, flags, False, errno.errorcode.get(e.errno or 0, str(e.errno)))
    os.close(fd)
    return MemfdProbe(label, flags, True, None)


def probe(
    root: Path = Path("/"),
    memfd_create: MemfdCreate | None = _OS_MEMFD_CREATE,
) -> HostKernel:
    """Look at the kernel under ``root`` (read-only) and try the two memfd_create() calls.

    Returns: a HostKernel; a missing or unreadable file gives None ("unknown"), never an error.
    """
    release = (_read(root / "proc" / "sys" / "kernel" / "osrelease") or "").strip() or None
    config_source, config = _config(root, release)
    debugfs = _debugfs(root)
    return HostKernel(
        release=release,
        config_source=config_source,
        config=config,
        pools=_pools(root),
        meminfo=_meminfo(root),
        sysctls={s: _read_int(root / "proc" / "sys" / "vm" / s) for s in SYSCTLS},
        node_stats=_node_stats(root),
        debugfs=debugfs,
        hwpoison_dir=_hwpoison_dir(root, debugfs),
        hwpoison_module=_exists(root / "sys" / "module" / "hwpoison_inject"),
        memfd=tuple(_memfd_probe(label, flags, memfd_create) for label, flags in MEMFD_PROBES),
    )


_YES_NO = {True: "{}", False: "not {}", None: UNKNOWN}  # .format("visible") -> "not visible"


def _v(value: object, unit: str = "") -> str:
    return UNKNOWN if value is None else f"{value}{unit}"


def _size(kb: int) -> str:
    for unit, shift in (("GiB", 20), ("MiB", 10)):
        if kb >= 1 << shift and kb % (1 << shift) == 0:
            return f"{kb >> shift} {unit}"
    return f"{kb} KiB"


def _memory_failure_built(host: HostKernel) -> bool | None:
    """CONFIG_MEMORY_FAILURE, from the config, else from its sysctls (only it creates them)."""
    option = host.config["CONFIG_MEMORY_FAILURE"]
    if option != UNKNOWN:
        return option == "y"
    return True if host.sysctls["memory_failure_recovery"] is not None else None


def verdicts(host: HostKernel) -> list[tuple[str, str]]:
    """One (capability, sentence) per capability, in the order the workbook teaches them."""
    hugetlb, keep = host.memfd
    built = _memory_failure_built(host)
    nr = sum(p.counters["nr_hugepages"] or 0 for p in host.pools)
    if hugetlb.accepted is None:
        memfd = "unknown: this Python has no os.memfd_create"
    elif not hugetlb.accepted:
        memfd = f"no: memfd_create(MFD_HUGETLB) fails with {hugetlb.error}"
    elif nr:
        memfd = f"yes: memfd_create(MFD_HUGETLB) works; the pools hold {nr} hugepages"
    else:
        memfd = "yes, but the pools are empty: mmap gets ENOMEM until nr_hugepages is raised"
    recovery = host.sysctls["memory_failure_recovery"]
    if built is None:
        mf = "probably not built in: no readable config, no vm.memory_failure_recovery"
    elif not built:
        mf = "not built in (CONFIG_MEMORY_FAILURE is not set): the model shows what it does"
    elif recovery == 0:
        mf = "built in, but vm.memory_failure_recovery=0: an uncorrected error panics"
    else:
        mf = f"built in; vm.memory_failure_recovery={_v(recovery)} (1: recover, 0: panic)"
    if host.node_stats:
        stats = "present: " + ", ".join(
            f"node{n} total {_v(s['total'])}" for n, s in host.node_stats.items()
        )
    elif built is False:
        stats = "absent, as expected without CONFIG_MEMORY_FAILURE"
    else:
        stats = "absent: older kernels lack them (6.1 does, 6.12 has them)"
    seen = _YES_NO[host.hwpoison_dir].format("visible")
    if built is False:
        inject = "none: without CONFIG_MEMORY_FAILURE, madvise(MADV_HWPOISON) gives EINVAL"
    elif built is None:
        inject = f"unknown: MADV_HWPOISON needs CONFIG_MEMORY_FAILURE; debugfs hwpoison/ {seen}"
    else:
        inject = f"madvise(MADV_HWPOISON) as root; debugfs hwpoison/ {seen} (use a test machine)"
    if keep.accepted is None:
        kept = "unknown: this Python has no os.memfd_create"
    elif keep.accepted:
        kept = "accepted: this kernel knows flag 0x20, as the proposed series does"
    elif not hugetlb.accepted:
        kept = f"cannot tell: MFD_HUGETLB alone already fails ({hugetlb.error})"
    else:
        kept = f"not supported by this kernel ({keep.error}): the workbook's model shows what it"
        kept += " would do"
    return [
        ("hugetlb memfd", memfd),
        ("memory failure", mf),
        ("node stats", stats),
        ("error injection", inject),
        ("keep-UE-mapped", kept),
    ]


def report(host: HostKernel) -> str:
    """The student-readable report: one section per SECTIONS entry, values or "unknown"."""
    kernel, pools, mf, memfd, verdict = SECTIONS
    row = "  {:29} {}".format
    lines = [kernel, row("release", _v(host.release)), row("config", _v(host.config_source))]
    lines += [row(option, value) for option, value in host.config.items()]
    lines += ["", pools, "  size      " + "  ".join(POOL_FILES)]
    for pool in host.pools:
        cells = "  ".join(f"{_v(pool.counters[f]):>{len(f)}}" for f in POOL_FILES)
        lines.append(f"  {_size(pool.kb):8}  {cells}")
    if not host.pools:
        lines.append("  (no /sys/kernel/mm/hugepages/hugepages-*kB)")
    m = {k: _v(v, "" if k.startswith("HugePages_") else " kB") for k, v in host.meminfo.items()}
    lines.append("  /proc/meminfo: " + ", ".join(f"{k} {m[k]}" for k in MEMINFO_KEYS[:4]))
    lines.append("                 " + ", ".join(f"{k} {m[k]}" for k in MEMINFO_KEYS[4:]))
    lines += ["", mf, *(row(f"vm.{s}", _v(host.sysctls[s])) for s in SYSCTLS)]
    for node, stats in host.node_stats.items():
        values = ", ".join(f"{s} {_v(v)}" for s, v in stats.items())
        lines.append(row(f"node{node}/memory_failure/", values))
    if not host.node_stats:
        lines.append(row("node*/memory_failure/", "not present"))
    mounted = {None: UNKNOWN, "": "not mounted"}.get(host.debugfs, f"mounted at {host.debugfs}")
    lines.append(row("debugfs", mounted))
    lines.append(row("debugfs hwpoison/", _YES_NO[host.hwpoison_dir].format("visible")))
    module = _YES_NO[host.hwpoison_module].format("loaded")
    if host.config["CONFIG_HWPOISON_INJECT"] == "y":  # built in: no /sys/module entry needed
        module = "built in"
    lines.append(row("hwpoison_inject module", module))
    lines += ["", f"{memfd} (with MFD_CLOEXEC; each fd closed at once, never sized or mapped)"]
    for p in host.memfd:
        result = _YES_NO[p.accepted].format("accepted") if p.accepted is not False else p.error
        call = f'memfd_create("probe", {p.label})'
        lines.append(f"  {call:58} {result}")
    lines += ["", verdict, *(f"  {name + ':':17} {text}" for name, text in verdicts(host))]
    return "\n".join(lines)
