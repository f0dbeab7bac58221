"""The static site: ``python -m mfwidgets lite --out DIR [--pyodide URL|DIR|TARBALL]``.

It writes a JupyterLite site (jupyterlite-core, the Pyodide kernel) that runs the whole workbook
in the browser with no server behind it:

- the notebooks and the reference pages they link to (``notebooks/``, ``docs/``);
- the project's own wheel and every package it needs, preloaded into the kernel from the site's
  Pyodide lock (no ``%pip`` cell; ``disablePyPIFallback``, so nothing is fetched from PyPI);
- JupyterLab's widgets extension and jupyter_bokeh's, from this environment;
- Pyodide itself under ``static/pyodide`` (``pyodide.py``: every file verified), so the kernel
  starts offline; the kernel finds it by a relative URL, so the site works under any sub-path.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import pyodide

#: JupyterLab extensions the site carries (the Pyodide kernel's own, widgets, bokeh).
EXTENSIONS = (
    "@jupyterlite/pyodide-kernel-extension",
    "@jupyter-widgets/jupyterlab-manager",
    "@bokeh/jupyter_bokeh",
)
#: Pure-Python packages from PyPI (at this environment's versions) that the kernel preloads:
#: the project's dependencies that are not official Pyodide packages, or whose official entry
#: drags in more (bokeh's brings pandas).
PYPI_WHEELS = ("bokeh", "jinja2", "narwhals", "xyzservices", "ipywidgets", "comm", "jupyter_bokeh")
#: Packages with optional C speed-ups and no wasm wheel on PyPI: their pure-Python part, taken
#: from a platform wheel (the extension modules left out).
SPEEDUP_PACKAGES = ("markupsafe", "pyyaml")
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
SITE_MARKER = "jupyter-lite.json"


def checkout_root() -> Path:
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").exists() or not (root / "notebooks").is_dir():
        raise RuntimeError("python -m mfwidgets lite builds from a checkout of the project")
    return root


def project_wheel(root: Path, dest: Path) -> Path:
    """The project's own wheel, built from the checkout."""
    subprocess.run(
        [
            *pyodide.pip_command(),
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(dest),
            str(root),
        ],
        check=True,
    )
    return next(dest.glob("mfwidgets-*.whl"))


def dependency_wheels(cache: Path) -> list[Path]:
    """Pure-Python wheels of the kernel's extra packages, at this environment's versions, from
    the cache or PyPI."""
    where = cache / "wheels"
    out = []
    for dist in PYPI_WHEELS:
        version = md.version(dist)
        out.append(_cached(where, dist, version) or _download(where, dist, version))
    for dist in SPEEDUP_PACKAGES:
        version = md.version(dist)
        wheel = _cached(where, dist, version)
        if wheel is None:
            platform = cache / "platform-wheels"
            pyodide.pip_download(
                f"{dist}=={version}",
                platform,
                "--only-binary",
                ":all:",
                "--platform",
                "manylinux2014_x86_64",
                "--python-version",
                "3.12",
            )
            found = [p for p in platform.glob("*.whl") if _matches(p.name, dist, version)]
            wheel = pyodide.pure_wheel_from_platform_wheel(found[0], where)
        out.append(wheel)
    return out


def _matches(filename: str, dist: str, version: str) -> bool:
    name, _, rest = filename.partition(f"-{version}")
    return pyodide.canonical(name) == pyodide.canonical(dist) and rest[:1] in ("-", ".")


def _cached(where: Path, dist: str, version: str) -> Path | None:
    if not where.is_dir():
        return None
    found = [p for p in where.glob("*-py3-none-any.whl") if _matches(p.name, dist, version)]
    return found[0] if found else None


def _download(where: Path, dist: str, version: str) -> Path:
    pyodide.pip_download(
        f"{dist}=={version}",
        where,
        "--only-binary",
        ":all:",
        "--platform",
        "any",
        "--python-version",
        "3.12",
        "--implementation",
        "py",
    )
    wheel = _cached(where, dist, version)
    if wheel is None:
        raise RuntimeError(f"PyPI has no pure-Python wheel of {dist} {version}")
    return wheel


def extension_dirs() -> list[Path]:
    from jupyter_core.paths import jupyter_path

    found = []
    for name in EXTENSIONS:
        dirs = [Path(r) / name for r in jupyter_path("labextensions")]
        hit = [d for d in dirs if (d / "package.json").exists()]
        if not hit:
            raise RuntimeError(f"the JupyterLab extension {name} is not installed here")
        found.append(hit[0])
    return found


def site_config(packages: list[str], expose_app: bool) -> dict[str, Any]:
    """jupyter-lite.json: the kernel preloads ``packages`` from the local Pyodide and never
    falls back to PyPI."""
    data: dict[str, Any] = {
        "appName": "mfwidgets workbook",
        "litePluginSettings": {
            KERNEL_PLUGIN: {
                "pyodideUrl": "./static/pyodide/pyodide.js",
                "disablePyPIFallback": True,
                "loadPyodideOptions": {"packages": packages},
            }
        },
    }
    if expose_app:
        data["exposeAppInBrowser"] = True  # lets browser tests reach the app (test builds)
    return {"jupyter-lite-schema-version": 0, "jupyter-config-data": data}


def build(
    out: Path,
    pyodide_source: str | None = None,
    cache: Path | None = None,
    expose_app: bool = False,
    log: Any = print,
) -> Path:
    """Write the static site into ``out`` (replaced if it holds an earlier site)."""
    cache = cache or pyodide.cache_dir()
    root = checkout_root()
    out = out.resolve()
    if out.exists() and any(out.iterdir()) and not (out / SITE_MARKER).exists():
        raise FileExistsError(f"{out} is not empty and holds no earlier site: not replacing it")
    with tempfile.TemporaryDirectory(prefix="mfwidgets-lite-") as tmp:
        stage = Path(tmp)
        log("building the project wheel")
        wheels = [project_wheel(root, stage / "dist"), *dependency_wheels(cache)]
        log("fetching Pyodide and checking every file against the official lock")
        release = pyodide.npm_release(cache)
        source = pyodide.Source.parse(pyodide_source, cache)
        roots = ["mfwidgets", *pyodide.KERNEL_PACKAGES]
        lock = pyodide.assemble(
            stage / "lite" / "static" / "pyodide", release, source, [*roots, pyodide.LOADER], wheels
        )
        log(f"Pyodide {pyodide.VERSION}: {len(lock['packages'])} packages from {source.what}")
        files = stage / "files"
        shutil.copytree(root / "notebooks", files / "notebooks", ignore=_no_checkpoints)
        (files / "docs").mkdir()
        for page in sorted((root / "docs").glob("*.md")):
            shutil.copyfile(page, files / "docs" / page.name)
        lite = stage / "lite"
        (lite / SITE_MARKER).write_text(json.dumps(site_config(roots, expose_app), indent=1))
        config = {
            "LiteBuildConfig": {
                "apps": ["lab"],
                "contents": [str(files)],
                "federated_extensions": [str(d) for d in extension_dirs()],
                "ignore_sys_prefix": ["federated_extensions"],
                "no_sourcemaps": True,
                "output_dir": str(stage / "site"),
            }
        }
        (lite / "jupyter_lite_config.json").write_text(json.dumps(config, indent=1))
        log("jupyter lite build")
        subprocess.run(
            [sys.executable, "-m", "jupyter", "lite", "build", "--lite-dir", str(lite)],
            check=True,
            cwd=lite,
            stdout=subprocess.DEVNULL,
        )
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(stage / "site", out)
    log(f"site written to {out}")
    return out


def _no_checkpoints(_dir: str, names: list[str]) -> list[str]:
    return [n for n in names if n.startswith(".")]
