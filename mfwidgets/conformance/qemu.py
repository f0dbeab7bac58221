"""One boot of a guest under qemu (TCG): the machine and command line of each boot, the serial
console read as it comes, and the machine checks raised through the qemu monitor when the guest
asks for them (``@@MCE-INJECT``)."""

from __future__ import annotations

import dataclasses
import os
import re
import select
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .scenario import BOOT_POOLS


@dataclasses.dataclass(frozen=True)
class BootSpec:
    """How qemu runs one boot: CPU model, memory, extra kernel command line, vCPUs."""

    cpu: str
    memory: str
    append: str = ""
    smp: int = 2


#: main: every scenario but the machine checks (10G: room for the six 1 GiB pages);
#: mce, and mce2 (5G: room for two 1 GiB pages): an Intel CPU model (MCG_SER_P, so the guest
#: handles SRAO/SRAR), CPU 1 kept quiet for the loading child (docs/kernel.md R2; isolcpus=1
#: also keeps the scheduler's load balancing off it, where an SRAR would land in the kernel
#: and panic it).
BOOTS = {
    "main": BootSpec("max", "10G"),
    "mce": BootSpec("Skylake-Server", "2G", "nohz_full=1 irqaffinity=0 isolcpus=1"),
    "mce2": BootSpec("Skylake-Server", "5G", "nohz_full=1 irqaffinity=0 isolcpus=1"),
    # the kernels built with the keep series (patched.py): without ACPI the guest brings up
    # one CPU only, so qemu gets one (a broadcast machine check would find the other CPU
    # with MCE off and triple-fault); no_timer_check: on a loaded host the IO-APIC timer
    # check can fail and panic the boot
    "keep": BootSpec("max", "10G", "no_timer_check default_hugepagesz=2M", smp=1),
    "keep_mce": BootSpec("Skylake-Server", "2G", "no_timer_check default_hugepagesz=2M", smp=1),
}
#: docs/kernel.md R4: (MCi_STATUS, MCG_STATUS, MCi_MISC) of each machine check
MCE_EVENTS = {
    "srao": (0xBD000000000000C0, 0x5, 0x8C),  # VAL|UC|EN|MISCV|ADDRV|S, memory scrub
    "srar": (0xBD80000000000134, 0x7, 0x8C),  # ... |AR, data load; MCG: RIPV|EIPV|MCIP
}
#: the bank the event is raised in; not bank 1, which qemu's broadcast (-b) fills on the other
#: CPUs (an event on top of that one would be an overflow, which the guest kernel panics on)
MCE_BANK = 2
#: seconds qemu may run on after the guest's @@DONE
DONE_GRACE = 5.0


class _Monitor:
    """The qemu human monitor on a unix socket: one command at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def command(self, line: str, timeout: float = 20) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self.path))
            self._until_prompt(sock)
            sock.sendall(line.encode() + b"\n")
            reply = self._until_prompt(sock)
        # the monitor echoes the line with terminal control codes; keep what it said after it
        text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]|[\x00-\x08\x0b-\x1f]", "", reply)
        return text.rsplit(line, 1)[-1].replace("(qemu)", "").strip()

    @staticmethod
    def _until_prompt(sock: socket.socket) -> str:
        data = b""
        while not data.rstrip().endswith(b"(qemu)"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode("utf-8", "replace")


def mce_command(line: str) -> str | None:
    """The monitor command for a guest's ``@@MCE-INJECT <step> <kind> cpu=<c> addr=<a>``."""
    m = re.search(r"@@MCE-INJECT (\d+) (srao|srar) cpu=(\d+) addr=(0x[0-9a-f]+)", line)
    if m is None:
        return None
    status, mcg_status, misc = MCE_EVENTS[m.group(2)]
    cpu, addr = int(m.group(3)), int(m.group(4), 16)
    return f"mce -b {cpu} {MCE_BANK} {status:#x} {mcg_status:#x} {addr:#x} {misc:#x}"


def kernel_cmdline(boot: str) -> str:
    """The guest kernel's command line for ``boot`` (its pools: scenario.BOOT_POOLS)."""
    pools = [f"hugepagesz={size} hugepages={n}" for size, n in BOOT_POOLS[boot].items() if n]
    return " ".join(["console=ttyS0 panic=-1", *pools, BOOTS[boot].append]).strip()


def boot(
    vmlinuz: Path,
    initramfs: Path,
    log: Path,
    boot: str = "main",
    timeout: float = 600,
    qemu: str = "qemu-system-x86_64",
) -> str:
    """Boot the guest under qemu (TCG); return the serial transcript (also written to
    ``log``). The transcript is read as it comes: for each ``@@MCE-INJECT`` line of the guest
    the machine check is raised through the qemu monitor, and an ``@@HOST <step> <command>``
    line recording it is added to the transcript."""
    spec = BOOTS[boot]
    with tempfile.TemporaryDirectory() as tmp:
        monitor = _Monitor(Path(tmp) / "monitor")
        cmd = [
            # one thread for both vCPUs: with a thread each, TCG now and then lets the guest
            # kernel see its own code half patched (an int3 oops while booting)
            qemu, "-accel", "tcg,thread=single", "-cpu", spec.cpu,
            "-m", spec.memory, "-smp", str(spec.smp), "-display", "none", "-serial", "stdio",
            "-monitor", f"unix:{monitor.path},server=on,wait=off", "-no-reboot",
            "-kernel", str(vmlinuz), "-initrd", str(initramfs), "-append", kernel_cmdline(boot),
        ]  # fmt: skip
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        pending = b""
        with open(log, "wb") as fh:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    proc.kill()
                    break
                ready, _, _ = select.select([proc.stdout], [], [], min(left, 1.0))
                chunk = os.read(proc.stdout.fileno(), 1 << 16) if ready else None
                if chunk == b"":
                    break
                pending += chunk or b""
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    fh.write(raw + b"\n")
                    if b"@@DONE" in raw:
                        # a kernel without ACPI cannot power off: it halts and qemu stays;
                        # a few seconds for the last lines, then qemu is stopped
                        deadline = min(deadline, time.monotonic() + DONE_GRACE)
                    command = mce_command(raw.decode("utf-8", "replace"))
                    if command is not None:
                        step = raw.split(b"@@MCE-INJECT ")[1].split()[0].decode()
                        said = monitor.command(command)
                        note = f" (monitor: {said})" if said else ""
                        fh.write(f"@@HOST {step} {command}{note}\n".encode())
                fh.flush()
            fh.write(pending)
        proc.wait()
    return log.read_bytes().decode("utf-8", "replace")
