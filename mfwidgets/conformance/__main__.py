"""python -m mfwidgets.conformance --kernel 6.1 --out DIR (see the package docstring)."""

from __future__ import annotations

import argparse
import json
import lzma
import sys
from pathlib import Path

from . import harness, model_runner, normalize, report
from .scenario import SCENARIOS


def model_version(kernel: str) -> str:
    """The model version to compare with: the kernel's own if the model has it, else 7.3."""
    from ..model.kernel import VERSIONS

    return kernel if kernel in VERSIONS else "7.3"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m mfwidgets.conformance",
        description="Run the conformance scenarios on a stock Debian kernel under qemu and on "
        "the model; write a report.",
    )
    ap.add_argument("--kernel", choices=sorted(harness.KERNELS), default="6.1")
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--cache", type=Path, default=harness.DEFAULT_CACHE,
                    help="download/build cache (default %(default)s)")  # fmt: skip
    ap.add_argument(
        "--transcript",
        type=Path,
        help="parse this serial log (.log or .log.xz) instead of booting a kernel",
    )
    args = ap.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.transcript:
        raw = args.transcript.read_bytes()
        if args.transcript.suffix == ".xz":
            raw = lzma.decompress(raw)
        text = raw.decode("utf-8", "replace")
    else:
        text, t = harness.run_live(args.kernel, SCENARIOS, out, args.cache)
        print(
            f"download {t.download:.1f}s, build {t.build:.1f}s, boot+run {t.total:.1f}s",
            file=sys.stderr,
        )
    real = normalize.parse_transcript(text, SCENARIOS)
    if "@@DONE" not in text:
        print("error: the guest did not finish (no @@DONE in the transcript)", file=sys.stderr)
    recorded = {"kernel": args.kernel, **real, "scenario_defs": SCENARIOS}
    (out / f"{args.kernel}.json").write_text(json.dumps(recorded, indent=1) + "\n")
    version = model_version(args.kernel)
    model = model_runner.run_all(SCENARIOS, version)
    rows = report.build_rows(real["scenarios"], model)
    (out / f"report-{args.kernel}.md").write_text(
        report.markdown(args.kernel, real["release"], rows)
    )
    (out / f"report-{args.kernel}.html").write_text(
        report.to_html(args.kernel, real["release"], rows)
    )
    bad = [r for r in rows if not r["match"]]
    print(f"{len(rows) - len(bad)} of {len(rows)} observables match the model ({version})")
    return 0 if "@@DONE" in text else 1


if __name__ == "__main__":
    sys.exit(main())
