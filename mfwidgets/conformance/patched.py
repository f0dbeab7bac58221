"""The patched kernels: Debian's 7.3.4 source with the project's port of the keep series.

Kernels (``KERNELS``):

- ``7.3+v3``: patches 0001-0003 of ``v3/patches/``, the series as posted (ported onto 7.3.4);
- ``7.3+v3+standin``: the same plus 0004, the project's own STAND-IN for the series'
  prerequisite (which was not found in full): it keeps the poisoned raw pages of a dissolved
  kept hugepage off the free lists. It is not the prerequisite.

``build(kernel, cache)``:

1. ``apt-get download linux-source-7.3`` (trixie-backports, through the harness's private apt
   configuration in the cache) and ``dpkg -x`` it, once;
2. the source tree ``<cache>/v3/linux-source-7.3``: the tarball unpacked once into a git
   repository whose first commit is the pristine source; the patches are applied to a
   scratch index (``git apply --cached``) and only the files that differ from the working
   tree are checked out, so switching kernels rebuilds only what changed;
3. ``make tinyconfig`` plus ``v3/kernel.config`` in a scratch directory; every option of the
   fragment is checked in the result (``RequiredOptionMissing`` otherwise); the build
   directory's ``.config`` is replaced only if it differs;
4. ``make bzImage`` in ``<cache>/v3/build`` (incremental) and the selftest ``hugetlb-mfr``,
   static, against the patched uapi headers;
5. ``bzImage-<kernel>`` and ``hugetlb-mfr-<kernel>`` with a ``.stamp``: the sha256 of every
   input (source package, patches, fragment, this file). With the stamp current nothing runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from . import harness

HERE = Path(__file__).with_name("v3")
PATCHES = HERE / "patches"
FRAGMENT = HERE / "kernel.config"
SOURCE_PACKAGE = "linux-source-7.3"
SUITE = "trixie-backports"
#: kernel -> the patch files applied, in order
KERNELS: dict[str, tuple[str, ...]] = {
    "7.3+v3": (
        "0001-mm-memfd-hugetlb-introduce-memfd-based-userspace-MFR.patch",
        "0002-selftests-mm-test-userspace-MFR-for-HugeTLB-hugepage.patch",
        "0003-Documentation-add-documentation-for-MFD_MF_KEEP_UE_M.patch",
    ),
}
KERNELS["7.3+v3+standin"] = (
    *KERNELS["7.3+v3"],
    "0004-STAND-IN-keep-poisoned-raw-pages-of-a-dissolved-huge.patch",
)
BUILD_TOOLS = {
    "make": "make",
    "flex": "flex",
    "bison": "bison",
    "bc": "bc",
    "busybox": "busybox-static",
}
BUILD_FILES = {
    "/usr/include/libelf.h": "libelf-dev",
    "/usr/include/openssl/ssl.h": "libssl-dev",
    "/usr/lib/x86_64-linux-gnu/libnuma.a": "libnuma-dev",
}
GIT_ID = ["-c", "user.name=mfwidgets", "-c", "user.email=mfwidgets@localhost"]
SELFTEST = "tools/testing/selftests"


class RequiredOptionMissing(RuntimeError):
    """The configured kernel lacks an option of ``v3/kernel.config``."""


@dataclasses.dataclass
class Built:
    bzimage: Path
    selftest: Path
    seconds: float
    cached: bool


def _run(cmd: list[str], cwd: Path | None = None, **kw: object) -> str:
    res = subprocess.run(cmd, cwd=cwd, check=True, text=True, capture_output=True, **kw)  # type: ignore[call-overload]
    return str(res.stdout)


def ensure_build_tools() -> None:
    """apt-get install what building the kernel and the selftest needs, if missing."""
    harness.ensure_host_tools()
    missing = {pkg for tool, pkg in BUILD_TOOLS.items() if shutil.which(tool) is None}
    missing |= {pkg for path, pkg in BUILD_FILES.items() if not os.path.exists(path)}
    if missing:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update"], check=True, capture_output=True, env=env)
        cmd = ["apt-get", "install", "-y", "--no-install-recommends", *sorted(missing)]
        subprocess.run(cmd, check=True, capture_output=True, env=env)


def fetch_source(cache: Path) -> tuple[Path, str]:
    """The source tarball and the package's version, downloaded and unpacked once."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    if not list(debs.glob(f"{SOURCE_PACKAGE}_*.deb")):
        opts = harness._private_apt(cache, SUITE)
        _run(["apt-get", *opts, "download", SOURCE_PACKAGE], cwd=debs)
    deb = sorted(debs.glob(f"{SOURCE_PACKAGE}_*.deb"))[-1]
    version = deb.stem.split("_")[1]
    pkg = cache / "v3" / "pkg"
    tarball = pkg / "usr" / "src" / f"{SOURCE_PACKAGE}.tar.xz"
    stamp = pkg / ".deb"
    if not tarball.exists() or not stamp.exists() or stamp.read_text() != deb.name:
        shutil.rmtree(pkg, ignore_errors=True)
        _run(["dpkg", "-x", str(deb), str(pkg)])
        stamp.write_text(deb.name)
    return tarball, version


def _git(tree: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return _run(["git", *GIT_ID, "-C", str(tree), *args], env=env)


def pristine_commit(tree: Path, tarball: Path, version: str) -> str:
    """The commit of the unpacked, unpatched source (made once)."""
    subject = f"Debian {SOURCE_PACKAGE} {version}"
    if (tree / ".git").exists():
        found = _git(tree, "log", "--format=%H", "--fixed-strings", f"--grep={subject}")
        if found.split():
            return found.split()[-1]
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    _run(["tar", "-xf", str(tarball), "--strip-components=1", "-C", str(tree)])
    _git(tree, "init", "-q")
    _git(tree, "add", "-A")
    _git(tree, "commit", "-q", "-m", subject)
    return _git(tree, "rev-parse", "HEAD").strip()


def prepare_tree(tree: Path, base: str, patches: list[Path]) -> None:
    """Make the working tree = ``base`` + ``patches``, rewriting only the files that differ
    (their mtimes drive the incremental build)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GIT_INDEX_FILE=str(Path(tmp) / "index"))
        _git(tree, "read-tree", base, env=env)
        for patch in patches:
            _git(tree, "apply", "--cached", str(patch), env=env)
        target = _git(tree, "write-tree", env=env).strip()
    _git(tree, "read-tree", target)
    changed = [f for f in _git(tree, "diff", "--name-only", "-z").split("\0") if f]
    if changed:
        _git(tree, "checkout-index", "-f", "--", *changed)


def required_options() -> dict[str, str]:
    """Each option of the fragment: ``y`` or ``n`` (``# CONFIG_X is not set``)."""
    out = {}
    for line in FRAGMENT.read_text().splitlines():
        if line.startswith("CONFIG_"):
            key, _, value = line.partition("=")
            out[key] = value
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            out[line[2:].split()[0]] = "n"
    return out


def check_config(config: Path) -> None:
    have: dict[str, str] = {}
    for line in config.read_text().splitlines():
        if line.startswith("CONFIG_"):
            key, _, value = line.partition("=")
            have[key] = value
    wrong = [
        f"{key}={want} (have {have.get(key, 'n')})"
        for key, want in required_options().items()
        if have.get(key, "n") != want
    ]
    if wrong:
        raise RequiredOptionMissing(f"{config}: " + ", ".join(wrong))


def configure(tree: Path, build: Path) -> None:
    """tinyconfig + the fragment, checked; into ``build/.config`` only if it changed."""
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        _run(["make", "-s", "-C", str(tree), f"O={scratch}", "tinyconfig"])
        merge = tree / "scripts" / "kconfig" / "merge_config.sh"
        _run([str(merge), "-m", "-O", str(scratch), str(scratch / ".config"), str(FRAGMENT)])
        _run(["make", "-s", "-C", str(tree), f"O={scratch}", "olddefconfig"])
        config = scratch / ".config"
        check_config(config)
        old = build / ".config"
        if not old.exists() or old.read_bytes() != config.read_bytes():
            build.mkdir(parents=True, exist_ok=True)
            shutil.copy(config, old)


def build_selftest(tree: Path, build: Path, out: Path) -> None:
    """The series' selftest, static, against the patched uapi headers of the build."""
    _run(["make", "-s", "-C", str(tree), f"O={build}", "headers"])  # into <build>/usr/include
    mm = tree / SELFTEST / "mm"
    _run(
        [
            "gcc", "-O2", "-static", "-isystem", str(build / "usr" / "include"),
            "-I", str(tree / SELFTEST), "-I", str(mm), "-I", str(tree / "tools" / "include"),
            "-o", str(out), str(mm / "hugetlb-mfr.c"), str(mm / "vm_util.c"),
            "-lnuma", "-lpthread",
        ]
    )  # fmt: skip


def stamp_of(kernel: str, deb: str) -> str:
    h = hashlib.sha256(deb.encode())
    for path in (*(PATCHES / name for name in KERNELS[kernel]), FRAGMENT, Path(__file__)):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def build(kernel: str, cache: Path = harness.DEFAULT_CACHE) -> Built:
    """The bzImage and selftest of ``kernel``, built if their stamp is not current."""
    t0 = time.monotonic()
    root = cache / "v3"
    root.mkdir(parents=True, exist_ok=True)
    bzimage, selftest = root / f"bzImage-{kernel}", root / f"hugetlb-mfr-{kernel}"
    stamp_file = root / f"bzImage-{kernel}.stamp"
    debs = sorted((cache / "debs").glob(f"{SOURCE_PACKAGE}_*.deb"))
    current = bool(debs) and bzimage.exists() and selftest.exists() and stamp_file.exists()
    if current and stamp_file.read_text().strip() == stamp_of(kernel, debs[-1].name):
        return Built(bzimage, selftest, time.monotonic() - t0, cached=True)
    ensure_build_tools()
    tarball, version = fetch_source(cache)
    tree, out = root / SOURCE_PACKAGE, root / "build"
    base = pristine_commit(tree, tarball, version)
    prepare_tree(tree, base, [PATCHES / name for name in KERNELS[kernel]])
    configure(tree, out)
    jobs = str(os.cpu_count() or 1)
    _run(["make", "-s", "-C", str(tree), f"O={out}", f"-j{jobs}", "bzImage"])
    check_config(out / ".config")
    shutil.copy(out / "arch" / "x86" / "boot" / "bzImage", bzimage)
    build_selftest(tree, out, selftest)
    deb = sorted((cache / "debs").glob(f"{SOURCE_PACKAGE}_*.deb"))[-1].name
    stamp_file.write_text(stamp_of(kernel, deb) + "\n")
    return Built(bzimage, selftest, time.monotonic() - t0, cached=False)
