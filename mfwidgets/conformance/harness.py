"""The live harness: fetch a stock Debian kernel, build the guest, boot it under qemu (TCG), run
the scenarios (``qemu.py``), and keep the serial transcript.

Nothing from the kernel packages is installed on the host: they are fetched with
``apt-get download`` into a cache directory and unpacked there with ``dpkg -x``. Host tools
(qemu-system-x86, cpio, xz-utils, gcc, libc6-dev) are installed with apt-get only if missing.
The guest program refuses to run outside a guest; this module only ever runs it inside qemu.
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import qemu
from .scenario import Scenario, boots, to_guest_text

GUEST_SOURCE = Path(__file__).with_name("guest") / "probe.c"
DEFAULT_CACHE = Path("/var/cache/mfwidgets-conformance")
HOST_TOOLS = {
    "qemu-system-x86_64": "qemu-system-x86",
    "cpio": "cpio",
    "xz": "xz-utils",
    "gcc": "gcc",
}
LIBC_A = "/usr/lib/x86_64-linux-gnu/libc.a"
MODULE_DIRS = ("lib/modules/*", "usr/lib/modules/*")


def _literal(name: str) -> str:
    """A package-name fragment as a POSIX extended regex (apt-cache's dialect)."""
    return re.sub(r"([.+])", r"\\\1", name)


@dataclasses.dataclass(frozen=True)
class KernelSource:
    """Where a stock Debian kernel comes from: its suite, a regex of its ABI name (as in
    ``uname -r``) and its package names with ``{abi}`` in them. The first package has the
    vmlinuz; one of them has mm/hwpoison-inject.ko."""

    suite: str
    abi: str
    packages: tuple[str, ...]

    def regex(self, i: int = 0) -> str:
        """The apt-cache regex of package ``i``."""
        head, _, tail = self.packages[i].partition("{abi}")
        return f"^{_literal(head)}({self.abi}){_literal(tail)}$"


#: kernel version -> where to fetch it (the newest ABI matching is taken)
KERNELS: dict[str, KernelSource] = {
    "6.1": KernelSource("bookworm", r"6\.1\.0-[0-9]+-amd64", ("linux-image-{abi}-unsigned",)),
    "6.12": KernelSource("trixie", r"6\.12\.[0-9]+\+deb13-amd64", ("linux-image-{abi}-unsigned",)),
    "7.3": KernelSource(
        "trixie-backports",
        r"7\.3\.[0-9]+\+deb13-amd64",
        ("linux-binary-{abi}", "linux-modules-{abi}"),
    ),
}


#: boots of one kind tried before the transcript is taken as it is (a TCG race can kill one)
BOOT_ATTEMPTS = 6


@dataclasses.dataclass
class Timings:
    """Seconds: fetching the kernel, building the guest, and each boot (boot and run)."""

    download: float = 0.0
    build: float = 0.0
    boots: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def total(self) -> float:
        return self.download + self.build + sum(self.boots.values())


def _run(
    cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, cwd=cwd, env=env)


def ensure_host_tools() -> None:
    """apt-get install the host tools that are missing (never a kernel package)."""
    missing = sorted({pkg for tool, pkg in HOST_TOOLS.items() if shutil.which(tool) is None})
    if not os.path.exists(LIBC_A):
        missing.append("libc6-dev")
    if missing:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        _run(["apt-get", "update"], env=env)  # a fresh machine may have no package lists
        _run(["apt-get", "install", "-y", "--no-install-recommends", *missing], env=env)


def _private_apt(cache: Path, suite: str) -> list[str]:
    """apt options for a private configuration of another Debian suite. The archive URI is the
    one already configured on this machine (read at run time; never written to the repo)."""
    uri = None
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for line in Path(path).read_text().splitlines():
            m = re.match(r"URIs:\s*(\S+)", line)
            if m and not m.group(1).rstrip("/").endswith("-security"):
                uri = m.group(1)
                break
        if uri:
            break
    if uri is None:
        raise RuntimeError("no Debian archive URI in /etc/apt/sources.list.d/*.sources")
    root = cache / f"apt-{suite}"
    for sub in ("lists/partial", "cache/archives/partial"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    sources = root / "sources.list"
    sources.write_text(
        f"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {uri} {suite} main\n"
    )
    opts = [
        "-o", f"Dir::Etc::SourceList={sources}",
        "-o", "Dir::Etc::SourceParts=/nonexistent",
        "-o", f"Dir::State::Lists={root / 'lists'}",
        "-o", f"Dir::Cache={root / 'cache'}",
    ]  # fmt: skip
    _run(["apt-get", *opts, "update"])
    return opts


def _apt_names(opts: list[str], regex: str) -> list[str]:
    out = _run(["apt-cache", *opts, "search", "--names-only", regex]).stdout
    return [line.split(" ")[0] for line in out.split("\n") if line.strip()]


def _unpack(pkg: str, opts: list[str], cache: Path) -> Path:
    """apt-get download ``pkg`` into the cache (once) and dpkg -x it there; its tree."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    if not list(debs.glob(f"{pkg}_*.deb")):
        _run(["apt-get", *opts, "download", pkg], cwd=debs)
    deb = sorted(debs.glob(f"{pkg}_*.deb"))[-1]
    tree = cache / f"kern-{deb.stem}"
    if not tree.exists():
        tmp = tree.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        _run(["dpkg", "-x", str(deb), str(tmp)])
        tmp.rename(tree)
    return tree


def _find(trees: list[Path], *patterns: str) -> list[Path]:
    return [p for tree in trees for pattern in patterns for p in sorted(tree.glob(pattern))]


def fetch_kernel(version: str, cache: Path) -> tuple[Path, Path]:
    """apt-get download the packages of the newest stock kernel of ``version`` and unpack
    them. Returns (vmlinuz, hwpoison-inject module)."""
    src = KERNELS[version]
    opts = [] if src.suite == "bookworm" else _private_apt(cache, src.suite)
    regex = src.regex(0)
    names = _apt_names(opts, regex)
    if not names and src.suite == "bookworm":
        _run(["apt-get", "update"])  # stale or missing lists: look again once
        names = _apt_names(opts, regex)
    abis = sorted(
        {m.group(1) for n in names if (m := re.match(regex, n))},
        key=lambda abi: [int(x) for x in re.findall(r"\d+", abi)],
    )
    if not abis:
        raise RuntimeError(f"no package matches {regex} in {src.suite}")
    pkgs = [name.format(abi=abis[-1]) for name in src.packages]
    for i, pkg in enumerate(pkgs[1:], 1):
        if pkg not in _apt_names(opts, src.regex(i)):
            raise RuntimeError(f"{pkgs[0]} has no {pkg} in {src.suite}")
    trees = [_unpack(pkg, opts, cache) for pkg in pkgs]
    images = _find(
        trees[:1], "boot/vmlinuz-*", "lib/modules/*/vmlinuz", "usr/lib/modules/*/vmlinuz"
    )
    mods = _find(trees, *(d + "/kernel/mm/hwpoison-inject.ko*" for d in MODULE_DIRS))
    if not images or not mods:
        raise RuntimeError(f"{', '.join(pkgs)}: no vmlinuz or no hwpoison-inject module")
    return images[-1], mods[-1]


def build_guest(work: Path) -> Path:
    out = work / "init"
    _run(["gcc", "-O1", "-Wall", "-static", "-o", str(out), str(GUEST_SOURCE)])
    return out


def build_initramfs(
    work: Path,
    init: Path,
    module: Path | None,
    scenarios: list[Scenario],
    extra: dict[str, Path] | None = None,
) -> Path:
    """The guest's initramfs: /init, /dev/console, /scenarios.txt, the hwpoison-inject module
    (None: the kernel has it built in) and ``extra`` (path in the guest -> host file)."""
    root = work / "ir"
    shutil.rmtree(root, ignore_errors=True)
    (root / "dev").mkdir(parents=True)
    shutil.copy(init, root / "init")
    ko = root / "hwpoison-inject.ko"
    if module is None:
        pass
    elif module.suffix == ".xz":
        ko.write_bytes(lzma.decompress(module.read_bytes()))
    else:
        shutil.copy(module, ko)
    for name, src in (extra or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, root / name)
    if "bin/busybox" in (extra or {}):  # the selftest's popen("cat ...") needs sh and cat
        for applet in ("sh", "cat"):
            os.symlink("busybox", root / "bin" / applet)
    (root / "scenarios.txt").write_text(to_guest_text(scenarios))
    os.mknod(root / "dev" / "console", 0o600 | 0o020000, os.makedev(5, 1))
    files = subprocess.run(["find", "."], cwd=root, check=True, capture_output=True).stdout
    archive = subprocess.run(
        ["cpio", "-o", "-H", "newc", "--owner=0:0", "--quiet"],
        cwd=root, input=files, check=True, capture_output=True,
    ).stdout  # fmt: skip
    out = work / "initramfs.cpio.gz"
    out.write_bytes(gzip.compress(archive, 9))
    return out


def run_live(
    version: str, scenarios: list[Scenario], out: Path, cache: Path = DEFAULT_CACHE
) -> tuple[str, Timings]:
    """Fetch, build, boot once per boot the scenarios need (``main``; ``mce``, ``mce2`` for
    the machine checks); returns the transcript, every boot's one after the other (also written to
    ``out/<version>.serial.log``), and the timings."""
    t = Timings()
    out.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    ensure_host_tools()
    module: Path | None = None
    extra: dict[str, Path] = {}
    if version in KERNELS:
        vmlinuz, module = fetch_kernel(version, cache)
    else:
        from . import patched  # it builds on this module

        built = patched.build(version, cache)
        busybox = Path(shutil.which("busybox") or "/bin/busybox")
        vmlinuz, extra = built.bzimage, {"hugetlb-mfr": built.selftest, "bin/busybox": busybox}
    t1 = time.monotonic()
    work = cache / f"work-{version}"
    work.mkdir(exist_ok=True)
    init = build_guest(work)
    t.download, t.build = t1 - t0, time.monotonic() - t1
    transcript = ""
    for name, group in boots(scenarios).items():
        t2 = time.monotonic()
        (work / name).mkdir(exist_ok=True)
        initramfs = build_initramfs(work / name, init, module, group, extra)
        part = out / f"{version}.{name}.serial.log"
        for attempt in range(1, BOOT_ATTEMPTS + 1):
            text = qemu.boot(vmlinuz, initramfs, part, name)
            if "@@DONE" in text or attempt == BOOT_ATTEMPTS:
                break
            # Under TCG a boot now and then dies of a race that is not what a scenario asks:
            # an int3 oops while the kernel patches its own code, or a machine check that lands
            # while the loading CPU is in the kernel (a panic, not the user-mode SRAR asked
            # for). Keep the transcript aside and boot again.
            failed = out / f"{version}.{name}.failed-{attempt}.serial.log"
            part.rename(failed)
            print(f"{version} {name} boot did not finish ({failed}); booting again",
                  file=sys.stderr)  # fmt: skip
        transcript += text
        part.unlink()
        t.boots[name] = time.monotonic() - t2
    (out / f"{version}.serial.log").write_text(transcript)
    (out / f"{version}.timings.json").write_text(json.dumps(dataclasses.asdict(t)) + "\n")
    return transcript, t
