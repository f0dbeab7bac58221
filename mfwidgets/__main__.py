"""The workbook launcher: ``python -m mfwidgets`` (or the ``mfwidgets`` command).

    mfwidgets [lab] [--dir DIR] [--port N] [--no-browser]   copy the workbook, open JupyterLab
    mfwidgets voila [--dir DIR] [--port N] [--no-browser]   the dashboard, no code visible
    mfwidgets copy-notebooks DEST                            copy the workbook only
    mfwidgets doctor                                         check the widget and bokeh extensions
    mfwidgets doctor --kernel                                what this machine's Linux kernel offers
    mfwidgets grade DIR --out grades.csv                     re-check a class's exercise submissions
    mfwidgets key STUDENT_ID [...]                           those students' right answers
    mfwidgets lite --out DIR [--pyodide URL|DIR|TARBALL]     static in-browser site (docs/lite.md)

The workbook is DIR/notebooks/ plus the reference pages the notebooks link to, DIR/docs/.
Copying never overwrites a file that is already there, so a student's edits survive. Any
further options of lab and voila go to JupyterLab or Voila. JupyterLab and Voila are extras
(mfwidgets[lab], mfwidgets[dashboard]): the package also installs where they cannot.
``doctor --kernel`` only reads (/proc, /sys, the kernel config) and tries memfd_create() with and
without the proposed MFD_MF_KEEP_UE_MAPPED, closing each fd at once: it changes nothing, and exits
0 whenever it ran, since an unsupported feature is information, not an error.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT_DIR = "mfwidgets-workbook"
FIRST_NOTEBOOK = "notebooks/00_index.ipynb"
DASHBOARD = "notebooks/dashboard.ipynb"
#: The reference pages the notebooks link to (../docs/...); the wheel ships them in _docs/.
DOCS = (
    "kernel.md",
    "api.md",
    "GLOSSARY.md",
    "DESIGN.md",
    "summary.md",
    "figures/error-path.svg",
)
EXTENSIONS = ("@jupyter-widgets/jupyterlab-manager", "@bokeh/jupyter_bokeh")
#: What each server command needs: (module, what it is, the extra that installs it).
SERVERS = {
    "lab": ("jupyterlab", "JupyterLab", "lab"),
    "voila": ("voila", "Voila", "dashboard"),
}


def _source(wheel_dir: str, checkout_dir: str, pattern: str) -> Path:
    """A directory shipped in the wheel, or the checkout's own (an editable install does not
    see the wheel's copy)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / wheel_dir, here.parent / checkout_dir):
        if any(candidate.glob(pattern)):
            return candidate
    raise FileNotFoundError(f"the mfwidgets {checkout_dir} are missing from this installation")


def notebooks_source() -> Path:
    return _source("_notebooks", "notebooks", "*.ipynb")


def docs_source() -> Path:
    return _source("_docs", "docs", "*.md")


def copy_notebooks(dest: Path) -> tuple[list[str], list[str]]:
    """Copy the workbook to ``dest``: every notebook (and its helper files) to notebooks/, the
    reference pages to docs/, so the notebooks' relative links work. Existing files are kept.
    Returns (copied, kept) paths relative to ``dest``."""
    notebooks, docs = notebooks_source(), docs_source()
    skip = {".ipynb_checkpoints", "__pycache__"}
    files = [
        (path, (Path("notebooks") / path.relative_to(notebooks)).as_posix())
        for path in sorted(notebooks.rglob("*"))
        if path.is_file() and not skip & set(path.parts)
    ]
    files += [(docs / name, f"docs/{name}") for name in DOCS]
    copied, kept = [], []
    for path, rel in files:
        target = dest / rel
        if target.exists():
            kept.append(rel)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        copied.append(rel)
    return copied, kept


def missing_server(command: str) -> str | None:
    """One line saying how to install what ``command`` needs, or None if it is installed."""
    module, name, extra = SERVERS[command]
    if importlib.util.find_spec(module) is not None:
        return None
    return f"mfwidgets: {name} is not installed here; install it: pip install 'mfwidgets[{extra}]'"


def installed_extensions() -> set[str]:
    """Prebuilt JupyterLab extensions found in this environment's data directories."""
    from jupyter_core.paths import jupyter_path

    found = set()
    for root in jupyter_path("labextensions"):
        for name in EXTENSIONS:
            if (Path(root) / name / "package.json").exists():
                found.add(name)
    return found


def doctor(platform: str = sys.platform) -> int:
    """Print versions and check the extensions the widgets need; 0 if all is well."""
    import importlib.metadata as md

    print(f"python {sys.version.split()[0]} at {sys.executable}")
    for dist in ("mfwidgets", "numpy", "bokeh", "ipywidgets", "jupyter_bokeh", "jupyterlab"):
        try:
            print(f"{dist:14} {md.version(dist)}")
        except md.PackageNotFoundError:
            print(f"{dist:14} not installed")
    if platform == "emscripten":
        # The static site (python -m mfwidgets lite) runs this kernel in the browser and ships
        # the widget and bokeh extensions with it: there is nothing to install.
        print(
            "This is the browser workbook (JupyterLite, Pyodide): the site brings the widgets, "
            "the plots and their extensions, so there is nothing to install."
        )
        print("All good: the widgets and plots can render.")
        return 0
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


def show_versions(platform: str = sys.platform) -> bool:
    """The notebook health check: versions, and whether widgets and plots can render here."""
    return doctor(platform) == 0


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def server_command(
    command: str, dest: Path, args: argparse.Namespace, rest: list[str]
) -> list[str]:
    """The command line that serves the workbook in ``dest``: JupyterLab on 00_index, or Voila
    on the dashboard."""
    extra = [] if args.port is None else [f"--port={args.port}"]
    if args.no_browser:
        extra.append("--no-browser")
    if command == "voila":
        # Voila has no root check and rejects --allow-root: a root learner needs nothing more.
        return [sys.executable, "-m", "voila", str(dest / DASHBOARD), *extra, *rest]
    if _is_root():
        extra.append("--allow-root")  # JupyterLab refuses to run as root otherwise
    return [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        f"--ServerApp.root_dir={dest}",
        str(dest / FIRST_NOTEBOOK),
        *extra,
        *rest,
    ]


def _parser() -> tuple[argparse.ArgumentParser, set[str]]:
    """The command line, and the names of its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="mfwidgets", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    for name in ("lab", "voila"):
        p = sub.add_parser(name)
        p.add_argument("--dir", default=DEFAULT_DIR, help="where the workbook is copied")
        p.add_argument("--port", type=int)
        p.add_argument("--no-browser", action="store_true")
    copy = sub.add_parser("copy-notebooks")
    copy.add_argument("dest")
    doc = sub.add_parser("doctor")
    doc.add_argument(
        "--kernel", action="store_true", help="probe this machine's kernel (read-only) instead"
    )
    grade = sub.add_parser("grade", help="re-check every submission-*.json of a class")
    grade.add_argument("dir", help="the directory of submission files")
    grade.add_argument("--out", default="grades.csv", help="the CSV to write (default grades.csv)")
    key = sub.add_parser("key", help="the instructor's key: each student's right answers")
    key.add_argument("student_ids", nargs="+")
    lite = sub.add_parser("lite", help="build the static JupyterLite site (docs/lite.md)")
    lite.add_argument("--out", required=True, help="where the site is written")
    lite.add_argument(
        "--pyodide",
        help="the official Pyodide release: URL, tarball or directory (default: the stand-in "
        "carrier from PyPI); every file is checked against the official lock",
    )
    return parser, set(sub.choices)


def _doctor(args: argparse.Namespace) -> int:
    return kernel_doctor() if args.kernel else doctor()


def _grade(args: argparse.Namespace) -> int:
    from . import grading

    try:
        return grading.main(args.dir, args.out)
    except NotADirectoryError as why:
        print(f"mfwidgets grade: {why}", file=sys.stderr)
        return 2


def _key(args: argparse.Namespace) -> int:
    from .exercises import answer_key

    print(answer_key(args.student_ids))
    return 0


def _lite(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("jupyterlite_core") is None:
        print("building the site needs: pip install 'mfwidgets[lite]'", file=sys.stderr)
        return 1
    from .lite import build

    build.build(Path(args.out), args.pyodide)
    return 0


def _copy_notebooks(args: argparse.Namespace) -> int:
    copied, kept = copy_notebooks(Path(args.dest))
    print(f"copied {len(copied)} files to {args.dest}; kept {len(kept)} already there")
    return 0


#: the sub-commands that start no server
COMMANDS = {
    "doctor": _doctor,
    "grade": _grade,
    "key": _key,
    "lite": _lite,
    "copy-notebooks": _copy_notebooks,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser, choices = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*choices, "-h", "--help"):
        argv.insert(0, "lab")  # bare "mfwidgets [options]" is "mfwidgets lab [options]"
    args, rest = parser.parse_known_args(argv)
    command = args.command
    if rest and command not in SERVERS:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if command in COMMANDS:
        return COMMANDS[command](args)
    problem = missing_server(command)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    dest = Path(args.dir).resolve()
    copied, kept = copy_notebooks(dest)
    print(f"workbook in {dest} ({len(copied)} copied, {len(kept)} kept as they were)")
    return launch(server_command(command, dest, args, rest))


def launch(cmd: list[str]) -> int:
    """Run the server in place of this process where the system can, so that Ctrl-C and a
    kill reach the server itself and leave no launcher behind."""
    sys.stdout.flush()
    if os.name == "posix":
        os.execv(cmd[0], cmd)
    import subprocess  # here, not at the top: the browser (Pyodide) workbook imports this module

    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
