"""The benchmark still runs and its numbers are consistent (a smoke test, not a timing)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_model.py"


def test_bench_model_quick_run_prints_consistent_numbers() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, check=True
    )
    out = done.stdout
    assert "every byte read back: True" in out
    rows = {
        m[0]: m for m in re.findall(r"^(\w+, \d+ GiB).*good\s+(\d+)\s+sigbus\s+(\d+)", out, re.M)
    }
    # 2,000 loads each; the model and the dense host saw the same draws on the same host size.
    for name, good, sigbus in rows.values():
        assert int(good) + int(sigbus) == 2000, name
    assert rows["model, 1 GiB"][1:] == rows["dense, 1 GiB"][1:]
    assert re.search(r"dense / model: time [\d.]+x, memory [\d.]+x", out)
