"""Kernel conformance: the model checked against real Linux kernels, scenario by scenario.

The same scenarios (the format in ``scenario.py``, the built-in list in ``stock.py``: lists of
step dicts such as ``memfd_create``, ``mmap``, ``fill``, ``madvise_hwpoison``, ``corrupt_pfn``,
``mce_srar``, ``load`` in a forked child or in the long-lived peer process, ``pread``,
``read``/``lseek``...) run

- on a stock Debian kernel booted under qemu (TCG), by our own static guest program
  (``guest/probe.c``, PID 1 of the guest), which prints ``@@STEP``/``@@SIG``/``@@CNT``/``@@KMSG``
  lines to the serial console; and
- on the model (``model_runner.py``: ``mf.Kernel(supports_keep_ue_mapped=False)`` of the
  kernel's version, or 7.3 if the model has no such version).

Both sides are brought to one normalized result per step (``normalize.py``): return value or
errno name; each SIGBUS as ``[si_code, offset into the mapping, si_addr_lsb]`` (``"peer"``
added for the peer's); the data read (``pattern``/``zero``/``other``); counter deltas
(HugePages_*, HardwareCorrupted, per-size pool files, node memory_failure stats); kernel log
lines with pfns as ``PFN[hugepage+subpage]``, mapping addresses as ``MAP+0x...`` and pids as
``PID``.

Each kernel boots twice: ``main`` (every scenario but the machine checks; 10 GiB, 24 x 2M and
6 x 1G hugepages) and ``mce`` (an Intel CPU model, 2 GiB, 16 x 2M): there the guest prints
``@@MCE-INJECT`` with the guest-physical address of a page, and the harness, reading the serial
output as it comes, raises that machine check through the qemu monitor (``mce -b ...`` with the
register values of docs/kernel.md R4) and notes it in the transcript as ``@@HOST``.

Usage (as root, on a Debian 12 host)::

    python -m mfwidgets.conformance --kernel all --out DIR            # 6.1, 6.12 and 7.3
    python -m mfwidgets.conformance --kernel all --out DIR --record   # ...into recordings/
    python -m mfwidgets.conformance --kernel 6.12 --out DIR
    python -m mfwidgets.conformance --kernel 6.1 --out DIR --transcript DIR/6.1.serial.log
    python -m mfwidgets.conformance --recorded --out DIR              # no qemu: the recordings
    python -m mfwidgets.conformance --kernel 7.3+v3 --out DIR         # the keep series, built
    python -m mfwidgets.conformance --kernel 7.3+v3+standin --out DIR # ...with the stand-in

writes ``DIR/<kernel>.serial.log`` (raw transcript, every boot), ``DIR/<kernel>.json``
(normalized results and the scenarios run), ``DIR/<kernel>.timings.json`` and one
``DIR/report.md`` and ``.html`` for all the kernels run (scenario x step x observable x kernel:
match, or the real and model values side by side, with the reason if it is a known difference:
``known.py``). It takes 2 min 25 s to 3 min 49 s per kernel once downloaded, on 2 busy cores
(three boots each; 9 min 9 s for all three). The
exit status is 0 if the guest finished every boot; mismatches are reported, not fatal
(tests/conformance decides).

What it does on the host:

- ``apt-get install`` of qemu-system-x86, cpio, xz-utils, gcc, libc6-dev, only those missing;
- ``apt-get download`` of the newest stock kernel of the version (looked up with ``apt-cache``;
  ``harness.KERNELS``: ``linux-image-<abi>-unsigned`` for 6.1 and 6.12, ``linux-binary-<abi>``
  and ``linux-modules-<abi>`` for 7.3) into the cache (``--cache``, default
  ``/var/cache/mfwidgets-conformance``) and ``dpkg -x`` there: nothing from a kernel package is
  installed. Kernels of another Debian suite (6.12: trixie, 7.3: trixie-backports) use a private
  apt configuration in the cache whose sources reuse the archive URI already configured in
  ``/etc/apt/sources.list.d/*.sources``; ``/etc/apt`` is not touched;
- ``gcc -O1 -Wall -static`` of the guest program, an initramfs per boot (``/init``,
  ``/dev/console``, ``/hwpoison-inject.ko`` decompressed from the kernel package,
  ``/scenarios.txt``);
- ``qemu-system-x86_64 -accel tcg,thread=single -smp 2 -display none -serial stdio
  -monitor unix:...`` with the CPU, memory and command line of each boot
  (``qemu.BOOTS``, ``qemu.kernel_cmdline()``), one qemu at a time.

``7.3+v3`` and ``7.3+v3+standin`` are not Debian binaries: ``patched.py`` builds them from
Debian's ``linux-source-7.3`` with the project's port of the keep series (``v3/patches/``) and
``keep.py`` holds what they run (the series' selftest and the keep scenarios, keep and stock
memfds side by side); they are replayed on ``Kernel(supports_keep_ue_mapped=True)``. ``all``
means the stock kernels.

The guest program injects memory errors into the machine it runs on; it refuses to run unless it
is PID 1 or ``HWP_ORACLE_I_AM_A_GUEST`` is set, and the harness only ever runs it inside qemu.

Recorded transcripts ship with the package in ``recordings/`` (``<kernel>.json``, normalized,
and ``<kernel>.serial.log.xz``, raw), so notebooks can show them without a kernel at hand;
``tests/conformance/test_recorded.py`` replays them on the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RECORDINGS = Path(__file__).with_name("recordings")


def kernel_key(kernel: str) -> tuple[list[int], str]:
    """Sort key of a kernel name: its version, then what it carries ("7.3" < "7.3+v3")."""
    version, _, extra = kernel.partition("+")
    return [int(x) for x in version.split(".")], extra


def recorded_kernels(patched: bool = False) -> list[str]:
    """The stock kernels with a committed recording, oldest first ("6.1", "6.12", ...); with
    ``patched``, the kernels built with the keep series instead ("7.3+v3", ...)."""
    names = [p.stem for p in RECORDINGS.glob("*.json") if ("+" in p.stem) == patched]
    return sorted(names, key=kernel_key)


def scenarios_of(kernel: str) -> list[Any]:
    """The scenarios run on ``kernel``: the keep scenarios on a kernel built with the series."""
    from . import keep, known, stock

    return keep.SCENARIOS if kernel in known.PATCHED_KERNELS else stock.SCENARIOS


def load_recording(kernel: str) -> dict[str, Any]:
    """One kernel's recording: ``release``, ``scenario_defs`` and the normalized ``scenarios``."""
    path = RECORDINGS / f"{kernel}.json"
    if not path.exists():
        raise ValueError(f"no recording of kernel {kernel!r}; recorded: {recorded_kernels()}")
    data: dict[str, Any] = json.loads(path.read_text())
    return data
