"""The scenario format, the normalizer, the model runner, the host side of the harness (no
qemu) and the guest program's build and safety guard."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mfwidgets.conformance import harness, keep, model_runner, normalize, qemu, scenario, stock
from mfwidgets.conformance.harness import GUEST_SOURCE, LIBC_A

S = scenario._s


def test_scenarios_are_valid_json_data() -> None:
    for sc in stock.SCENARIOS:
        scenario.validate(sc)
        assert json.loads(json.dumps(sc)) == sc
    text = scenario.to_guest_text(stock.SCENARIOS)
    assert text.startswith("scenario A\nhugepagesize 2097152\nmemfd_create flags=4\n")
    assert "madvise_hwpoison hugepage=0 subpage=3\n" in text
    assert "scenario A_1G\nhugepagesize 1073741824\nmemfd_create flags=2013265924\n" in text
    assert "load hugepage=0 subpage=3 byte=17 peer=1\n" in text
    names = [sc["name"] for sc in stock.SCENARIOS]
    assert names[-5:] == ["P", "H_AO", "H_AR", "T_AR", "T_AR_1G"]  # P: last of its boot
    assert list(scenario.boots(stock.SCENARIOS)) == ["main", "mce", "mce2"]


def test_every_op_is_run_somewhere_and_documented() -> None:
    used = {st["op"] for sc in stock.SCENARIOS + keep.SCENARIOS for st in sc["steps"]}
    assert used == set(scenario.OPS) - {"counters"}
    doc = scenario.__doc__ or ""
    for op in scenario.OPS:
        assert f"\n{op} " in doc or f", {op}" in doc or f"\n{op}," in doc, op


def test_keep_scenarios_run_keep_and_stock_side_by_side_in_one_boot() -> None:
    flags = {
        sc["name"]: sc["steps"][0]["flags"]
        for sc in keep.SCENARIOS
        if sc["steps"][0]["op"] == "memfd_create"
    }
    for base in ("K", "K_1G", "C", "C_1G"):
        assert flags[base] == flags[f"{base}_stock"] | scenario.MFD_MF_KEEP_UE_MAPPED
    assert list(scenario.boots(keep.SCENARIOS)) == ["keep", "keep_mce"]
    for sc in keep.SCENARIOS:
        scenario.validate(sc)
    selftests = [sc["steps"][0] for sc in keep.SCENARIOS if sc["name"].startswith("SELFTEST")]
    assert [st["pages"] for st in selftests] == [8, 1]


def test_both_page_sizes_where_real_kernel_md_has_them() -> None:
    sizes: dict[str, set[str]] = {}
    for sc in stock.SCENARIOS:
        sizes.setdefault(sc["name"].split("_1G")[0], set()).add(sc.get("hugepagesize", "2M"))
    for name in ("A", "B", "F", "M", "Z"):
        assert sizes[name] == {"2M", "1G"}, name
    probes = {st["flags"] & (0x3F << 26) for st in stock.PROBES["steps"]}
    assert probes == {0, scenario.MFD_HUGE_2MB, scenario.MFD_HUGE_1GB}
    assert {st["kb"] for st in stock.SCENARIO_P["steps"]} == set(scenario.KB.values())


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "x y", "steps": []},
        {"name": "X", "steps": [{"op": "reboot"}]},
        {"name": "X", "steps": [{"op": "load", "pfn": 3}]},
        {"name": "X", "steps": [{"op": "load", "hugepage": -1}]},
        {"name": "X", "steps": [{"op": "close"}, {"op": "close", "id": "close#0"}]},
        {"name": "X", "steps": [{"op": "load", "peer": 1}]},
        {"name": "X", "steps": [{"op": "exit"}]},
        {"name": "X", "steps": [{"op": "fork"}, {"op": "fork"}]},
        {"name": "X", "steps": [{"op": "fork"}, {"op": "exit"}, {"op": "mmap", "peer": 1}]},
        {"name": "X", "steps": [{"op": "fork"}, {"op": "load", "peer": 2}]},
        {"name": "X", "steps": [{"op": "lseek", "whence": 2}]},
        {"name": "X", "steps": [{"op": "touch_free", "kb": 4}]},
        {"name": "X", "steps": [{"op": "mce_srao"}]},
        {"name": "X", "boot": "kvm", "steps": []},
    ],
)
def test_validate_rejects(bad: scenario.Scenario) -> None:
    with pytest.raises(ValueError):
        scenario.validate(bad)


@pytest.mark.parametrize(
    "bad,message",
    [
        ({"name": "X", "steps": [{"op": "mmap", "hugepages": 10**12}]},
         "X step 0: hugepages must be at most 64"),
        ({"name": "X", "steps": [{"op": "pread", "offset": 0, "length": 1 << 40}]},
         "X step 0: length must be at most 1073741824"),
        ({"name": "X", "steps": [{"op": "nr_hugepages", "kb": 2048, "count": 10**9}]},
         "X step 0: count must be at most 65536"),
        ({"name": "X", "steps": [{"op": "close"}] * 1025}, "X: steps must be a list of at most"),
        ({"name": "X"}, "X: steps must be a list"),
        ({"name": "X", "steps": {"op": "close"}}, "X: steps must be a list"),
        ({"name": "X", "steps": ["close"]}, "X step 0: a step must be a JSON object"),
        ({"name": "X", "steps": [{"hugepage": 1}]}, "X step 0: unknown op None"),
        ({"name": "X", "steps": [{"op": ["load"]}]}, "X step 0: unknown op ['load']"),
        ({"name": "X", "steps": [{"op": "close", "id": 7}]}, "X step 0: id must be a string"),
        (["not", "a", "scenario"], "a scenario must be a JSON object, not list"),
    ],
)  # fmt: skip
def test_validate_names_the_step_and_field_and_bounds_every_count(
    bad: scenario.Scenario, message: str
) -> None:
    """Malformed or unbounded scenario data is a ValueError naming the step and the field,
    never a KeyError or AttributeError, and never a request for unbounded memory."""
    with pytest.raises(ValueError) as info:
        scenario.validate(bad)
    assert str(info.value).startswith(message)


def test_normalize_line() -> None:
    ctx = normalize.Context("2M")
    ctx.heads = {0: 0x102A00, 1: 0x102800}
    ctx.add_map(0x7F026DA00000, 2 << 21)
    assert ctx.line("clocksource: tsc unstable") is None
    assert (
        ctx.line(
            "Injecting memory failure for pfn 0x102a03 at process virtual address 0x7f026da03000"
        )
        == "Injecting memory failure for pfn PFN[0+3] at process virtual address MAP+0x3000"
    )
    assert (
        ctx.line("MCE: Killing init:88 due to hardware memory corruption fault at 7f026db007ff")
        == "MCE: Killing init:PID due to hardware memory corruption fault at MAP+0x1007ff"
    )
    assert ctx.line("Unpoison: Software-unpoisoned page 0x102805") == (
        "Unpoison: Software-unpoisoned page PFN[1+5]"
    )
    assert ctx.line("mce: Uncorrected hardware memory error in user-access at 102a03000") == (
        "mce: Uncorrected hardware memory error in user-access at PADDR[0+3]"
    )
    assert ctx.line("mce: Uncorrected hardware memory error in user-access at 5000") == (
        "mce: Uncorrected hardware memory error in user-access at PADDR"
    )
    assert ctx.line("mce: [Hardware Error]: TSC 304a6915a ADDR 2203000 MISC 8c ") is None
    assert ctx.line("mce: [Hardware Error]: Machine check events logged") == normalize.MCE_LOGGED
    # a second mapping (a peer's, or a fresh mmap) at another address: offsets into it
    ctx.add_map(0x7F0000000000, 2 << 21)
    assert ctx.line("MCE: Killing x:1 due to hardware memory corruption fault at 7f0000003011") == (
        "MCE: Killing x:PID due to hardware memory corruption fault at MAP+0x3011"
    )
    assert ctx.pagemap(0) == "none"
    assert ctx.pagemap(0x102A07) == "PFN[0+7]"
    assert ctx.pagemap(0x4000) == "new"


TRANSCRIPT = """\
noise @@BEGIN 6.12.117+deb13-amd64 #1 SMP
@@SCENARIO T
@@CNT -1 HugePages_Free=16 HardwareCorrupted=0
@@STEP 0 memfd_probe ret=5
@@CNT 0 HugePages_Free=16 HardwareCorrupted=0
@@MAP 1 0x7f0000200000 0x400000
@@STEP 1 mmap ret=0
@@CNT 1 HugePages_Free=16 HardwareCorrupted=0
@@HEAD 0 0x1000
@@HEAD 1 0x1400
@@STEP 2 fill ret=0
@@CNT 2 HugePages_Free=14 HardwareCorrupted=0
@@STEP 3 fork ret=0
@@MAP 4 0x7f0000800000 0x400000 who=peer
@@STEP 4 mmap ret=0
@@CNT 4 HugePages_Free=14 HardwareCorrupted=0
@@STEP 5 madvise_hwpoison ret=0
@@SIG 5 code=4 off=0x3000 lsb=21
@@SIG 5 code=5 off=0x3000 lsb=21 who=peer
@@SIG 5 code=4 off=0xfffffffffffff000 lsb=21
@@KMSG 5 Memory failure: 0x1003: recovery action for huge page: Recovered
@@KMSG 5 Memory failure: 0x1003: Sending SIGBUS to init:140 due to hardware memory corruption
@@KMSG 5 mce: [Hardware Error]: Machine check events logged
@@KMSG 5 Disabling lock debugging due to kernel taint
@@HOST 5 mce -b 0 2 0xbd000000000000c0 0x5 0x1003000 0x8c
@@CNT 5 HugePages_Free=14 HardwareCorrupted=4
@@STEP 6 pagemap ret=5120
@@STEP 7 lseek ret=2093056
@@STEP 8 read err=EIO
@@END T status=0
@@DONE
"""


def test_parse_transcript_new_observables() -> None:
    defs = [
        {
            "name": "T",
            "steps": [
                S("memfd_probe", flags=4),
                S("mmap", hugepages=2),
                S("fill"),
                S("fork"),
                S("mmap", hugepages=2, peer=1),
                S("madvise_hwpoison", hugepage=0, subpage=3),
                S("pagemap", hugepage=1, subpage=0),
                S("lseek", offset=0x1FF000),
                S("read", length=8192),
                S("counters"),
            ],
        }
    ]
    got = normalize.parse_transcript(TRANSCRIPT, defs)
    assert got["release"] == "6.12.117+deb13-amd64"
    steps = got["scenarios"]["T"]
    assert [s["ret"] for s in steps] == ["fd", 0, 0, 0, 0, 0, "PFN[1+0]", 0x1FF000, "EIO", None]
    madv = steps[5]
    assert madv["signals"] == [[4, -0x1000, 21], [4, 0x3000, 21], [5, 0x3000, 21, "peer"]]
    assert madv["dmesg"] == [
        "mce: [Hardware Error]: Machine check events logged",
        "Memory failure: PFN[0+3]: recovery action for huge page: Recovered",
        "Memory failure: PFN[0+3]: Sending SIGBUS to init:PID due to hardware memory corruption",
    ]
    assert madv["counters"] == {"HardwareCorrupted": 4}
    assert steps[2]["counters"] == {"HugePages_Free": -2}
    assert steps[3]["counters"] == {}  # no @@CNT 3 line: no deltas, not invented ones


def test_model_runner_a_scenario() -> None:
    res = model_runner.run_scenario(stock.SCENARIO_A)
    by_id = {r["id"]: r for r in res}
    assert by_id["madv"]["signals"] == [[4, 0x3000, 21]]
    assert by_id["pagemap_poisoned"]["ret"] == "none"
    assert by_id["pagemap_other"]["ret"] == "PFN[1+0]"
    assert by_id["load_poisoned"]["signals"] == [[4, 0x3011, 21]]
    assert by_id["load_other_hugepage"]["data"] == "pattern"
    assert by_id["forked_load_poisoned"]["signals"] == [[4, 0x3011, 21, "peer"]]
    assert by_id["forked_load_other"]["data"] == "pattern"
    assert by_id["pread_whole_hugepage"]["ret"] == 3 * 4096
    assert by_id["pwrite"]["ret"] == "EINVAL"
    assert by_id["remap_load_poisoned"]["signals"] == [[4, 0x3011, 21]]
    assert res[-1]["op"] == "close"
    assert res[-1]["counters"] == {"2M.free": 1, "HugePages_Free": 1}


def test_model_runner_peer_signals_are_offsets_into_its_own_mapping() -> None:
    res = {r["id"]: r for r in model_runner.run_scenario(stock.scenario_b("1G"))}
    assert res["madv"]["signals"] == [[4, 0x3000, 30], [5, 0x3000, 30, "peer"]]
    old = {r["id"]: r for r in model_runner.run_scenario(stock.scenario_b("2M"), "6.1")}
    assert old["madv"]["signals"] == [[5, 0, 21], [5, 0, 21, "peer"]]


def test_model_runner_read_position_and_machine_checks() -> None:
    r = {x["id"]: x for x in model_runner.run_scenario(stock.SCENARIO_R)}
    assert r["read_into_poisoned_head"]["ret"] == "EIO"
    assert r["pos_after_eio"]["ret"] == 0x1FF000
    assert (r["read_short"]["ret"], r["read_short"]["data"]) == (0x2000, "pattern")
    assert r["pos_after_short"]["ret"] == 0x405000
    h = {x["id"]: x for x in model_runner.run_scenario(stock.SCENARIO_H_AO)}
    assert h["srao"]["signals"] == [[5, 0x3000, 21]]
    assert h["late_load_poisoned"]["signals"] == [[4, 0x3011, 21, "peer"]]
    h = {x["id"]: x for x in model_runner.run_scenario(stock.SCENARIO_H_AR)}
    assert h["srar"]["signals"] == [[4, 0x3000, 21]]
    assert h["srar"]["dmesg"][0] == normalize.MCE_LOGGED
    assert h["srar"]["dmesg"][1].startswith("mce: Uncorrected hardware memory error")


def test_model_runner_runs_a_boot_on_one_kernel() -> None:
    """As the guest: pool counters carry over, so P finds the pages leaked before it."""
    main = scenario.boots(stock.SCENARIOS)["main"]
    p = model_runner.run_all(main)["P"]
    alone = model_runner.run_scenario(stock.SCENARIO_P)
    assert p[2]["counters"]["2M.surplus"] == 6  # A, B, F, T and R's two leaked hugepages
    assert "2M.surplus" not in alone[2]["counters"]
    assert p[0]["ret"] < alone[0]["ret"] == scenario.BOOT_POOLS["main"]["2M"]


def test_model_runner_refuses_unmodelled_version() -> None:
    with pytest.raises(ValueError):
        model_runner.run_scenario(stock.SCENARIO_Z, "5.10")


def test_kernel_sources_and_boots() -> None:
    src = harness.KERNELS["7.3"]
    assert src.suite == "trixie-backports"
    assert src.regex(0) == r"^linux-binary-(7\.3\.[0-9]+\+deb13-amd64)$"
    assert src.regex(1) == r"^linux-modules-(7\.3\.[0-9]+\+deb13-amd64)$"
    assert harness.KERNELS["6.1"].regex() == r"^linux-image-(6\.1\.0-[0-9]+-amd64)-unsigned$"
    assert qemu.kernel_cmdline("main") == (
        "console=ttyS0 panic=-1 hugepagesz=2M hugepages=24 hugepagesz=1G hugepages=6"
    )
    assert qemu.kernel_cmdline("mce").endswith("hugepages=16 nohz_full=1 irqaffinity=0 isolcpus=1")
    assert qemu.BOOTS["mce"].cpu == "Skylake-Server"


def test_mce_command_has_the_register_values_of_real_kernel_md() -> None:
    srao = qemu.mce_command("x@@MCE-INJECT 7 srao cpu=0 addr=0x1c03000\r")
    assert srao == "mce -b 0 2 0xbd000000000000c0 0x5 0x1c03000 0x8c"
    srar = qemu.mce_command("@@MCE-INJECT 6 srar cpu=1 addr=0x2203000")
    assert srar == "mce -b 1 2 0xbd80000000000134 0x7 0x2203000 0x8c"
    assert qemu.mce_command("@@STEP 6 mce_srar ret=0") is None


FAKE_QEMU = """\
import socket, sys
path = next(a for a in sys.argv if a.startswith("unix:"))[5:].split(",")[0]
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(1)
print("booting\\n@@BEGIN fake\\n@@MCE-INJECT 3 srar cpu=1 addr=0x2203000", flush=True)
conn, _ = srv.accept()
conn.sendall(b"QEMU 7.2 monitor - type 'help'\\r\\n(qemu) ")
line = b""
while not line.endswith(b"\\n"):
    line += conn.recv(1)
conn.sendall(b"\\x1b[D" + line.strip() + b"\\r\\nMCE injection failed\\r\\n(qemu) ")
print("@@GOT " + line.decode().strip(), flush=True)
print("@@DONE", end="", flush=True)
"""


def test_boot_raises_the_machine_check_the_guest_asks_for(tmp_path: Path) -> None:
    """The host side of a machine check: the serial output is read as it comes, the command
    goes to the monitor socket, and the transcript records what was sent and what it said."""
    fake = tmp_path / "fake-qemu"
    fake.write_text(f"#!{sys.executable}\n" + FAKE_QEMU)
    fake.chmod(0o755)
    log = tmp_path / "serial.log"
    text = qemu.boot(Path("vmlinuz"), Path("initrd"), log, "mce", timeout=30, qemu=str(fake))
    command = "mce -b 1 2 0xbd80000000000134 0x7 0x2203000 0x8c"
    assert text == log.read_text()
    assert (
        textwrap.dedent(f"""\
        @@MCE-INJECT 3 srar cpu=1 addr=0x2203000
        @@HOST 3 {command} (monitor: MCE injection failed)
        @@GOT {command}
        @@DONE""")
        in text
    )


@pytest.mark.skipif(
    shutil.which("gcc") is None or not os.path.exists(LIBC_A), reason="needs gcc and libc6-dev"
)
def test_guest_builds_clean_and_refuses_to_run_on_the_host(tmp_path: Path) -> None:
    out = tmp_path / "init"
    proc = subprocess.run(
        ["gcc", "-O1", "-Wall", "-Werror", "-static", "-o", str(out), str(GUEST_SOURCE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    env = {k: v for k, v in os.environ.items() if k != "HWP_ORACLE_I_AM_A_GUEST"}
    run = subprocess.run(
        [str(out)], capture_output=True, text=True, env=env, timeout=30, check=False
    )
    assert run.returncode == 2
    assert "refusing to run" in run.stderr
    assert "@@" not in run.stdout


def test_views_describe_a_peer_signal() -> None:
    """The workbook's words for the normalized signal forms, the peer's included."""
    from mfwidgets.conformance import views

    assert views.describe("madvise_hwpoison", "signals", [[4, 0x3000, 21], [5, 0, 21, "peer"]]) == [
        "SIGBUS BUS_MCEERR_AR at MAP+0x3000, lsb 21",
        "SIGBUS BUS_MCEERR_AO at MAP+0x0, lsb 21 (to the peer process)",
    ]
