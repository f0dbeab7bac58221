"""Size rules of the package: no module over 400 lines, no function over 60 lines except one
that mirrors a kernel function of the same shape (listed here with the function it mirrors)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mfwidgets"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
MAX_KERNEL_LINES = 300  # model/kernel.py: the state holder, behind which the nouns live

#: functions kept whole because they mirror a kernel function of the same shape
MIRRORED = {
    ("model/process.py", "mmap"): "do_mmap()",
    ("model/memory_failure.py", "memory_failure"): "memory_failure() in mm/memory-failure.c",
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _module_lines() -> dict[str, int]:
    return {_name(p): len(p.read_text().splitlines()) for p in _modules()}


def _function_lines() -> dict[tuple[str, str], int]:
    out = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno is not None
                out[(_name(path), node.name)] = node.end_lineno - node.lineno + 1
    return out


def test_no_module_over_400_lines() -> None:
    long = {m: n for m, n in _module_lines().items() if n > MAX_MODULE_LINES}
    assert not long, long


def test_the_kernel_object_is_a_facade() -> None:
    assert _module_lines()["model/kernel.py"] < MAX_KERNEL_LINES


def test_no_function_over_60_lines_unless_it_mirrors_the_kernel() -> None:
    long = {f: n for f, n in _function_lines().items() if n > MAX_FUNCTION_LINES}
    assert set(long) == set(MIRRORED), long


def test_mirrored_functions_name_their_kernel_function() -> None:
    for (module, _), kernel_function in MIRRORED.items():
        assert f"Mirrors {kernel_function}" in (PACKAGE / module).read_text()
