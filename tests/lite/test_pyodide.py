"""The site's Pyodide: every file verified against the official lock, the lock trimmed to what
the workbook needs, and the --pyodide forms (directory, tarball, URL). No network: a small fake
release stands in for the official one."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from mfwidgets.lite import pyodide

FILES = {"numpy-2.0.2-wasm.whl": b"numpy bytes", "packaging-24.2-py3-none-any.whl": b"pkg"}


def _lock(files: dict[str, bytes]) -> dict[str, object]:
    return {
        "info": {"version": pyodide.VERSION},
        "packages": {
            "numpy": {
                "name": "numpy",
                "file_name": "numpy-2.0.2-wasm.whl",
                "sha256": hashlib.sha256(files["numpy-2.0.2-wasm.whl"]).hexdigest(),
                "depends": [],
            },
            "packaging": {
                "name": "packaging",
                "file_name": "packaging-24.2-py3-none-any.whl",
                "sha256": hashlib.sha256(files["packaging-24.2-py3-none-any.whl"]).hexdigest(),
                "depends": [],
            },
            "pandas": {
                "name": "pandas",
                "file_name": "pandas.whl",
                "sha256": "0" * 64,
                "depends": ["numpy"],
            },
            "bokeh": {
                "name": "bokeh",
                "file_name": "bokeh-3.6.0.whl",
                "sha256": "1" * 64,
                "depends": ["numpy", "pandas"],
            },
        },
    }


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """A fake npm release: core runtime files and the official lock."""
    d = tmp_path / "release"
    d.mkdir()
    for name in pyodide.CORE_FILES:
        (d / name).write_bytes(name.encode())
    (d / pyodide.LOCK).write_text(json.dumps(_lock(FILES)))
    return d


def _wheel(where: Path, name: str, version: str, requires: list[str]) -> Path:
    path = where / f"{name}-{version}-py3-none-any.whl"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}/__init__.py", "")
        zf.writestr(f"{name}-{version}.dist-info/METADATA", meta)
    return path


def _source_dir(tmp_path: Path, files: dict[str, bytes]) -> Path:
    d = tmp_path / "source"
    d.mkdir()
    for name, data in files.items():
        (d / name).write_bytes(data)
    return d


def test_assemble_verifies_and_trims(tmp_path: Path, release: Path) -> None:
    src = pyodide.Source.directory(_source_dir(tmp_path, FILES))
    bokeh = _wheel(
        tmp_path, "bokeh", "3.9.2", ["numpy>=1.16", 'tornado; sys_platform != "emscripten"']
    )
    dest = tmp_path / "site"
    lock = pyodide.assemble(dest, release, src, ["bokeh"], [bokeh])
    # The PyPI bokeh replaces the official entry, so pandas (and its file) stays out.
    assert sorted(lock["packages"]) == ["bokeh", "numpy"]
    assert lock["packages"]["bokeh"]["depends"] == ["numpy"]
    assert lock["packages"]["bokeh"]["sha256"] == hashlib.sha256(bokeh.read_bytes()).hexdigest()
    assert (dest / "numpy-2.0.2-wasm.whl").read_bytes() == b"numpy bytes"
    assert not (dest / "pandas.whl").exists()
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        [*pyodide.CORE_FILES, pyodide.LOCK, "numpy-2.0.2-wasm.whl", bokeh.name]
    )
    assert json.loads((dest / pyodide.LOCK).read_text()) == lock


def test_a_tampered_file_is_refused(tmp_path: Path, release: Path) -> None:
    src = pyodide.Source.directory(
        _source_dir(tmp_path, {**FILES, "numpy-2.0.2-wasm.whl": b"evil"})
    )
    with pytest.raises(
        pyodide.VerificationError, match=r"numpy-2\.0\.2-wasm\.whl: sha256 .* refusing"
    ):
        pyodide.assemble(tmp_path / "site", release, src, ["numpy"], [])


def test_a_file_missing_from_the_source_is_an_error(tmp_path: Path, release: Path) -> None:
    src = pyodide.Source.directory(_source_dir(tmp_path, {}))
    with pytest.raises(FileNotFoundError, match="numpy-2.0.2-wasm.whl"):
        pyodide.assemble(tmp_path / "site", release, src, ["numpy"], [])


def test_a_lock_of_another_release_is_refused(tmp_path: Path, release: Path) -> None:
    lock = json.loads((release / pyodide.LOCK).read_text())
    lock["info"]["version"] = "0.26.0"
    (release / pyodide.LOCK).write_text(json.dumps(lock))
    with pytest.raises(pyodide.VerificationError, match="0.26.0"):
        pyodide.read_lock(release)


def test_trim_keeps_the_closure_only() -> None:
    lock = _lock(FILES)
    assert sorted(pyodide.trim(lock, ["bokeh"], {})["packages"]) == ["bokeh", "numpy", "pandas"]
    with pytest.raises(KeyError, match="scipy"):
        pyodide.trim(lock, ["scipy"], {})


def _tarball(tmp_path: Path, files: dict[str, bytes]) -> Path:
    path = tmp_path / "pyodide-0.27.7.tar.bz2"
    with tarfile.open(path, "w:bz2") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"pyodide/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_pyodide_tarball_form(tmp_path: Path, release: Path) -> None:
    src = pyodide.Source.parse(str(_tarball(tmp_path, FILES)), tmp_path / "cache")
    lock = pyodide.assemble(tmp_path / "site", release, src, ["numpy"], [])
    assert sorted(lock["packages"]) == ["numpy"]


def test_pyodide_directory_form(tmp_path: Path) -> None:
    src = pyodide.Source.parse(str(_source_dir(tmp_path, FILES)), tmp_path / "cache")
    assert src.read("numpy-2.0.2-wasm.whl") == b"numpy bytes"


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_pyodide_url_form_downloads_then_verifies(
    tmp_path: Path, release: Path, http_dir: tuple[str, Path]
) -> None:
    url, root = http_dir
    tarball = _tarball(tmp_path, {**FILES, "numpy-2.0.2-wasm.whl": b"evil"})
    (root / tarball.name).write_bytes(tarball.read_bytes())
    src = pyodide.Source.parse(f"{url}/{tarball.name}", tmp_path / "cache")
    assert (tmp_path / "cache" / "download" / tarball.name).exists()
    with pytest.raises(pyodide.VerificationError):
        pyodide.assemble(tmp_path / "site", release, src, ["numpy"], [])


def test_pyodide_spec_that_is_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="--pyodide"):
        pyodide.Source.parse(str(tmp_path / "nope"), tmp_path / "cache")


def test_pure_wheel_from_platform_wheel(tmp_path: Path) -> None:
    platform = tmp_path / "markupsafe-3.0.3-cp312-cp312-manylinux_2_17_x86_64.whl"
    info = "markupsafe-3.0.3.dist-info"
    with zipfile.ZipFile(platform, "w") as zf:
        zf.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: MarkupSafe\nVersion: 3.0.3\n")
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nTag: cp312-cp312-manylinux_2_17_x86_64\n")
        zf.writestr(f"{info}/RECORD", "stale\n")
        zf.writestr("markupsafe/__init__.py", "x = 1\n")
        zf.writestr("markupsafe/_speedups.cpython-312-x86_64-linux-gnu.so", b"\x7fELF")
    wheel = pyodide.pure_wheel_from_platform_wheel(platform, tmp_path / "out")
    assert wheel.name == "markupsafe-3.0.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert "markupsafe/__init__.py" in names
        assert not any(n.endswith(".so") for n in names)
        assert "Tag: py3-none-any" in zf.read(f"{info}/WHEEL").decode()
        record = zf.read(f"{info}/RECORD").decode()
    digest = hashlib.sha256(b"x = 1\n").digest()
    b64 = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert f"markupsafe/__init__.py,sha256={b64},6" in record.splitlines()
    assert "stale" not in record
    entry = pyodide.wheel_entry(wheel, [])
    assert entry["imports"] == ["markupsafe"] and entry["name"] == "MarkupSafe"
