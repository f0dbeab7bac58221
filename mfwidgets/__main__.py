"""The workbook launcher: ``python -m mfwidgets`` (or the ``mfwidgets`` command).

    mfwidgets [lab] [--dir DIR] [--port N] [--no-browser]   copy the notebooks, open JupyterLab
    mfwidgets voila [--port N] [--no-browser]               the dashboard, no code visible
    mfwidgets copy-notebooks DEST                            copy the notebooks only
    mfwidgets doctor                                         check the widget and bokeh extensions
    mfwidgets doctor --kernel                                what this machine's Linux kernel offers

Copying never overwrites a notebook that is already there, so a student's edits survive.
``doctor --kernel`` only reads (/proc, /sys, the kernel config) and tries memfd_create() with and
without the proposed MFD_MF_KEEP_UE_MAPPED, closing each fd at once: it changes nothing, and exits
0 whenever it ran, since an unsupported feature is information, not an error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT_DIR = "mfwidgets-workbook"
FIRST_NOTEBOOK = "00_index.ipynb"
DASHBOARD = "dashboard.ipynb"
EXTENSIONS = ("@jupyter-widgets/jupyterlab-manager", "@bokeh/jupyter_bokeh")


def notebooks_source() -> Path:
    """The notebooks shipped in the wheel, or the checkout's notebooks/ (an editable install
    does not see the wheel's copy)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_notebooks", here.parent / "notebooks"):
        if any(candidate.glob("*.ipynb")):
            return candidate
    raise FileNotFoundError("the mfwidgets notebooks are missing from this installation")


def copy_notebooks(dest: Path) -> tuple[list[str], list[str]]:
    """Copy every notebook (and its helper files) to ``dest``; existing files are kept.
    Returns (copied, kept) file names."""
    source = notebooks_source()
    dest.mkdir(parents=True, exist_ok=True)
    copied, kept = [], []
    for path in sorted(source.rglob("*")):
        if path.is_dir() or ".ipynb_checkpoints" in path.parts or "__pycache__" in path.parts:
            continue
        target = dest / path.relative_to(source)
        if target.exists():
            kept.append(str(target.relative_to(dest)))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        copied.append(str(target.relative_to(dest)))
    return copied, kept


def installed_extensions() -> set[str]:
    """Prebuilt JupyterLab extensions found in this environment's data directories."""
    from jupyter_core.paths import jupyter_path

    found = set()
    for root in jupyter_path("labextensions"):
        for name in EXTENSIONS:
            if (Path(root) / name / "package.json").exists():
                found.add(name)
    return found


def doctor() -> int:
    """Print versions and check the extensions the widgets need; 0 if all is well."""
    import importlib.metadata as md

    print(f"python {sys.version.split()[0]} at {sys.executable}")
    for dist in ("mfwidgets", "numpy", "bokeh", "ipywidgets", "jupyter_bokeh", "jupyterlab"):
        try:
            print(f"{dist:14} {md.version(dist)}")
        except md.PackageNotFoundError:
            print(f"{dist:14} not installed")
    try:
        found = installed_extensions()
    except ImportError:
        print("jupyter_core is not installed: install mfwidgets[lab] to open the workbook")
        return 1
    missing = [name for name in EXTENSIONS if name not in found]
    for name in EXTENSIONS:
        print(f"extension {name}: {'ok' if name in found else 'MISSING'}")
    if missing:
        print(
            "Widgets will show 'Error displaying widget'. Reinstall in the environment that "
            "runs JupyterLab: pip install 'mfwidgets[lab]'"
        )
        return 1
    print("All good: the widgets and plots can render.")
    return 0


def kernel_doctor(platform: str = sys.platform) -> int:
    """Print what the running kernel offers (a read-only probe); 0 whenever the probe ran."""
    if not platform.startswith("linux"):
        print(
            f"doctor --kernel looks at a Linux kernel, and this is {platform}. The workbook's "
            "model runs anywhere: it shows what Linux would do."
        )
        return 0
    from . import hostkernel

    print(hostkernel.report(hostkernel.probe()))
    return 0


def show_versions() -> bool:
    """The notebook health check: versions, and whether widgets and plots can render here."""
    return doctor() == 0


def _server_args(args: argparse.Namespace) -> list[str]:
    extra = [] if args.port is None else [f"--port={args.port}"]
    if args.no_browser:
        extra.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        extra.append("--allow-root")  # Jupyter refuses to run as root otherwise
    return extra


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mfwidgets", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    for name in ("lab", "voila"):
        p = sub.add_parser(name)
        p.add_argument("--dir", default=DEFAULT_DIR, help="where the notebooks are copied")
        p.add_argument("--port", type=int)
        p.add_argument("--no-browser", action="store_true")
    copy = sub.add_parser("copy-notebooks")
    copy.add_argument("dest")
    doc = sub.add_parser("doctor")
    doc.add_argument(
        "--kernel", action="store_true", help="probe this machine's kernel (read-only) instead"
    )
    args = parser.parse_args(argv)
    command = args.command or "lab"
    if command == "doctor":
        return kernel_doctor() if args.kernel else doctor()
    if command == "copy-notebooks":
        copied, kept = copy_notebooks(Path(args.dest))
        print(f"copied {len(copied)} files to {args.dest}; kept {len(kept)} already there")
        return 0
    if args.command is None:  # bare "mfwidgets": the defaults of "lab"
        args = parser.parse_args(["lab"])
    dest = Path(args.dir)
    copied, kept = copy_notebooks(dest)
    print(f"workbook in {dest.resolve()} ({len(copied)} copied, {len(kept)} kept as they were)")
    if command == "voila":
        cmd = [sys.executable, "-m", "voila", str(dest / DASHBOARD), *_server_args(args)]
    else:
        cmd = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            f"--ServerApp.root_dir={dest}",
            str(dest / FIRST_NOTEBOOK),
            *_server_args(args),
        ]
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
