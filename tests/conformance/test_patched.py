"""The patched kernels' recipe (conformance/patched.py and conformance/v3/): provenance of the
patch files, the required options, and that switching kernels rewrites only changed files."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from mfwidgets.conformance import patched

SERIES = patched.KERNELS["7.3+v3"]


def test_each_patch_of_the_series_names_its_origin() -> None:
    for i, name in enumerate(SERIES, 1):
        text = (patched.PATCHES / name).read_text()
        head = text.split("\ndiff --git", 1)[0]
        assert re.search(rf"^Message-ID: <20260203192352\.2674184-{i + 1}-jiaqiyan@google\.com>$",
                         head, re.M)  # fmt: skip
        assert "From: Jiaqi Yan <jiaqiyan@google.com>" in head
        assert "License: GPL-2.0" in head
        assert "Port onto 7.3.4 (mfwidgets):" in head
        assert f"[PATCH v3 {i}/3]" in head


def test_the_stand_in_is_never_the_prerequisite() -> None:
    standin = patched.KERNELS["7.3+v3+standin"]
    assert standin[: len(SERIES)] == SERIES and len(standin) == len(SERIES) + 1
    text = (patched.PATCHES / standin[-1]).read_text()
    assert "STAND-IN" in standin[-1]
    assert "This is NOT the prerequisite series" in text
    assert "Message-ID" not in text  # it was never posted


def test_required_options_come_from_the_fragment() -> None:
    req = patched.required_options()
    assert req["CONFIG_HWPOISON_INJECT"] == "y"
    assert req["CONFIG_CONTIG_ALLOC"] == "y"
    assert req["CONFIG_MODULES"] == "n"
    assert req["CONFIG_ACPI"] == "n"


def test_check_config_names_each_missing_option(tmp_path: Path) -> None:
    req = patched.required_options()
    good = "\n".join(f"{k}=y" if v == "y" else f"# {k} is not set" for k, v in req.items())
    config = tmp_path / ".config"
    config.write_text(good + "\n")
    patched.check_config(config)
    config.write_text(good.replace("CONFIG_HWPOISON_INJECT=y", "CONFIG_HWPOISON_INJECT=m")
                      + "\nCONFIG_MODULES=y\n")  # fmt: skip
    with pytest.raises(patched.RequiredOptionMissing) as err:
        patched.check_config(config)
    assert "CONFIG_HWPOISON_INJECT=y (have m)" in str(err.value)
    assert "CONFIG_MODULES=n (have y)" in str(err.value)


def test_each_kernel_has_its_own_stamp() -> None:
    a = patched.stamp_of("7.3+v3", "linux-source-7.3_7.3.4-1~bpo13+1_all.deb")
    b = patched.stamp_of("7.3+v3+standin", "linux-source-7.3_7.3.4-1~bpo13+1_all.deb")
    c = patched.stamp_of("7.3+v3", "linux-source-7.3_7.3.5-1~bpo13+1_all.deb")
    assert len({a, b, c}) == 3


def _diff(tree: Path, name: str, old: str, new: str) -> Path:
    """A git patch turning line ``old`` of ``name`` into ``new``."""
    (tree / name).write_text(new + "\n")
    text = subprocess.run(["git", "-C", str(tree), "diff"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    (tree / name).write_text(old + "\n")
    patch = tree.parent / f"{name}.patch"
    patch.write_text("From: someone\nSubject: a header git apply skips\n\n" + text)
    return patch


def test_prepare_tree_rewrites_only_the_files_that_differ(tmp_path: Path) -> None:
    tree = tmp_path / "src"
    tree.mkdir()
    for name in ("a.c", "b.c", "c.c"):
        (tree / name).write_text(f"{name}\n")
    patched._git(tree, "init", "-q")
    patched._git(tree, "add", "-A")
    patched._git(tree, "commit", "-q", "-m", "Debian linux-source-7.3 1")
    base = patched._git(tree, "rev-parse", "HEAD").strip()
    pa = _diff(tree, "a.c", "a.c", "a.c patched")
    pb = _diff(tree, "b.c", "b.c", "b.c patched")
    old = 1_000_000_000
    for name in ("a.c", "b.c", "c.c"):
        os.utime(tree / name, (old, old))

    patched.prepare_tree(tree, base, [pa, pb])
    assert (tree / "a.c").read_text() == "a.c patched\n"
    assert (tree / "b.c").read_text() == "b.c patched\n"
    assert (tree / "c.c").stat().st_mtime == old  # untouched: not rebuilt
    os.utime(tree / "a.c", (old, old))

    patched.prepare_tree(tree, base, [pa])  # the other kernel: only b.c changes back
    assert (tree / "b.c").read_text() == "b.c\n"
    assert (tree / "a.c").stat().st_mtime == old
    assert (tree / "c.c").stat().st_mtime == old


def test_the_replay_knows_the_same_patched_kernels_as_the_build() -> None:
    from mfwidgets.conformance import known, patched

    assert set(known.PATCHED_KERNELS) == set(patched.KERNELS)
