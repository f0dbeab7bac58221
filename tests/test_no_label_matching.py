"""Nothing outside the renderers decides what happened by reading display labels or log text.

The model's trace records carry enums (EventKind, MFMsg, MFResult, InjectSource, Signal,
VmFault); code compares those. A log line, an event's ``text``, a button's description or a
label is for people to read: when code matched on them, a changed wording silently changed
behaviour. This test greps the package for those comparisons.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mfwidgets"

#: Files whose job is to read kernel text: the conformance suite compares a real kernel's log
#: with the model's, and hostkernel parses /proc and /boot/config of the machine it runs on.
READERS_OF_REAL_TEXT = ("conformance/", "hostkernel.py")

PATTERNS = {
    "event or widget text compared": re.compile(
        r"\.text\s*(==|!=)\s*[\"']|\.text\.(startswith|endswith)\(|[\"']\s+(not\s+)?in\s+\w+\.text\b"
    ),
    "a button's description read as an action": re.compile(
        r"Action\([^)]*\.description|\.description\s*(==|!=|in\b)"
    ),
    "an enum's display value compared": re.compile(r"\.(kind|signal|source)\.value\s*(==|!=)"),
    "memory_failure() type or result compared with a string": re.compile(
        r"\.mf_(type|result)\s*(==|!=)\s*[\"']"
    ),
    "a label compared": re.compile(r"\.label\(?\)?\s*(==|!=)\s*[\"']"),
    "the kernel log searched": re.compile(r"dmesg\(\)[^\n]*(==|!=|startswith|\bin\b)"),
    "a log line searched": re.compile(r"[\"']\s+(not\s+)?in\s+(line|log|lines)\b"),
    "an error kind compared with its words": re.compile(r"\.kind\s*(==|!=)\s*\"hardware"),
}


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """The lines of ``path`` with comments removed (docstrings are prose and may quote)."""
    out = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        code = line.split("#", 1)[0] if not line.lstrip().startswith(("'", '"')) else ""
        out.append((number, code))
    return out


def _sources() -> list[Path]:
    return [
        p
        for p in sorted(PACKAGE.rglob("*.py"))
        if not str(p.relative_to(PACKAGE)).startswith(READERS_OF_REAL_TEXT)
    ]


def test_the_grep_sees_the_package() -> None:
    assert len(_sources()) > 40


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_code_compares_display_labels_or_log_text(path: Path) -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {what}: {code.strip()}"
        for number, code in _code_lines(path)
        for what, pattern in PATTERNS.items()
        if pattern.search(code)
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        'if e.text == "MADV_HWPOISON":',
        'and e.text.startswith("SIGBUS")',
        'elif e.text and "latent" in e.text:',
        "button.on_click(lambda b: self.act(Action(b.description)))",
        'if e.kind.value == "printk"',
        'if e.mf_type == "free huge page":',
        'if a.kind == "hardware, latent":',
        'return any("already poisoned" in line for line in log)',
    ],
)
def test_each_pattern_catches_what_it_is_for(line: str) -> None:
    assert any(p.search(line) for p in PATTERNS.values())
