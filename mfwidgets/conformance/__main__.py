"""python -m mfwidgets.conformance --kernel all --out DIR (see the package docstring)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from . import (
    RECORDINGS,
    harness,
    kernel_key,
    load_recording,
    model_runner,
    normalize,
    patched,
    recorded_kernels,
    scenarios_of,
)
from .known import model_version
from .report import Report, Rows, build_rows
from .scenario import boots


def _transcript(path: Path) -> str:
    raw = path.read_bytes()
    if path.suffix == ".xz":
        import lzma  # here, not at the top: Pyodide (the browser workbook) has no lzma built in

        raw = lzma.decompress(raw)
    return raw.decode("utf-8", "replace")


def record(kernel: str, text: str, rec: dict[str, Any], where: Path = RECORDINGS) -> None:
    """Write ``<kernel>.json`` and ``<kernel>.serial.log.xz`` into ``where``."""
    import lzma

    (where / f"{kernel}.json").write_text(json.dumps(rec, indent=1) + "\n")
    (where / f"{kernel}.serial.log.xz").write_bytes(lzma.compress(text.encode(), preset=9))


def run_kernel(kernel: str, args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    """The normalized recording of one kernel (booted, parsed from a transcript, or the
    committed one), and whether every boot of the guest finished."""
    if args.recorded:
        return load_recording(kernel), True
    if args.transcript:
        text = _transcript(args.transcript)
    else:
        text, t = harness.run_live(kernel, scenarios_of(kernel), args.out, args.cache)
        parts = ", ".join(f"{name} boot {s:.1f} s" for name, s in t.boots.items())
        print(
            f"{kernel}: fetch {t.download:.1f} s, build {t.build:.1f} s, {parts}, "
            f"total {t.total:.1f} s",
            file=sys.stderr,
        )
    scenarios = scenarios_of(kernel)
    finished = text.count("@@DONE") >= len(boots(scenarios))
    if not finished:
        print(f"error: {kernel}: the guest did not finish every boot (@@DONE)", file=sys.stderr)
    rec = {"kernel": kernel, **normalize.parse_transcript(text, scenarios)}
    rec["scenario_defs"] = scenarios
    (args.out / f"{kernel}.json").write_text(json.dumps(rec, indent=1) + "\n")
    if args.record:
        if finished:
            record(kernel, text, rec)
            print(f"{kernel}: recorded into {RECORDINGS}", file=sys.stderr)
        else:
            print(f"{kernel}: not recorded (the run did not finish)", file=sys.stderr)
    return rec, finished


def main(argv: list[str] | None = None) -> int:
    kernels = sorted([*harness.KERNELS, *patched.KERNELS], key=kernel_key)
    ap = argparse.ArgumentParser(
        prog="python -m mfwidgets.conformance",
        description="Run the conformance scenarios on stock Debian kernels, or on 7.3 built "
        "with the keep series (7.3+v3, 7.3+v3+standin), under qemu and on the model; write "
        "each kernel's transcript and results and one report.",
    )
    ap.add_argument(
        "--kernel",
        choices=[*kernels, "all"],
        default="all",
        help="all: the stock kernels (the patched ones are built only when named)",
    )
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--cache", type=Path, default=harness.DEFAULT_CACHE,
                    help="download/build cache (default %(default)s)")  # fmt: skip
    ap.add_argument(
        "--record",
        action="store_true",
        help=f"also write <kernel>.json and <kernel>.serial.log.xz into {RECORDINGS}",
    )
    source = ap.add_mutually_exclusive_group()
    source.add_argument(
        "--transcript",
        type=Path,
        help="parse this serial log (.log or .log.xz) of one kernel instead of booting it",
    )
    source.add_argument(
        "--recorded",
        action="store_true",
        help="no qemu: report on the committed recordings (all: every recorded kernel)",
    )
    args = ap.parse_args(argv)
    chosen = [args.kernel] if args.kernel != "all" else sorted(harness.KERNELS, key=kernel_key)
    if args.recorded and args.kernel == "all":
        chosen = recorded_kernels() + recorded_kernels(patched=True)
    if args.transcript and len(chosen) != 1:
        ap.error("--transcript needs one --kernel")
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    rows: Rows = []
    seen: dict[str, tuple[str | None, str]] = {}
    all_finished = True
    for kernel in chosen:
        rec, finished = run_kernel(kernel, args)
        all_finished &= finished
        version = model_version(kernel)
        keep = kernel in patched.KERNELS
        model = model_runner.run_all(rec["scenario_defs"], version, keep)
        rows += build_rows(rec["scenarios"], model, kernel)
        seen[kernel] = (rec["release"], version)
    report = Report(seen, rows)
    (args.out / "report.md").write_text(report.markdown())
    (args.out / "report.html").write_text(report.html())
    for line in report.summary():
        print(line)
    print(f"report: {args.out / 'report.md'} ({time.monotonic() - start:.0f} s in all)")
    return 0 if all_finished else 1


if __name__ == "__main__":
    sys.exit(main())
