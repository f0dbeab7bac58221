"""A live run: a real Debian kernel boots under qemu, runs the scenarios (every boot: the main
one and the two machine-check ones), and says exactly what its committed recording says (which
test_recorded.py holds against the model).

It needs root, the Debian package archive and qemu (the harness installs qemu and fetches the
kernel by itself), so it runs in CI and where MFW_LIVE_KERNEL=1 is set; elsewhere it skips.
6.1 is the kernel: the smallest download (70 MB) from the machine's own suite; 1 to 3 minutes
on 2 cores once downloaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mfwidgets.conformance import RECORDINGS

DATA = RECORDINGS
LIVE = bool(os.environ.get("CI") or os.environ.get("MFW_LIVE_KERNEL"))


@pytest.mark.slow
@pytest.mark.skipif(not LIVE, reason="boots a real kernel: set MFW_LIVE_KERNEL=1 (CI does)")
@pytest.mark.parametrize("kernel", ["6.1"])
def test_live_kernel_repeats_its_recording(kernel: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mfwidgets.conformance", "--kernel", kernel, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    live = json.loads((tmp_path / f"{kernel}.json").read_text())
    recorded = json.loads((DATA / f"{kernel}.json").read_text())
    assert live["scenario_defs"] == recorded["scenario_defs"]
    assert live["scenarios"] == recorded["scenarios"]
    assert (tmp_path / "report.html").exists()
    assert live["scenarios"].keys() == {sc["name"] for sc in live["scenario_defs"]}
