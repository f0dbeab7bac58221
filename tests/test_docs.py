"""The repository explains itself: every document it cites is in it, every relative link in a
Markdown file or a notebook's markdown resolves (anchors too), and every docs/kernel.md rule ID
cited anywhere exists there."""

from __future__ import annotations

import json
import posixpath
import re
import subprocess
import unicodedata
from collections.abc import Collection, Iterable
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
KERNEL_MD = ROOT / "docs" / "kernel.md"

TEXT_SUFFIXES = {".py", ".md", ".ipynb", ".toml", ".txt", ".c", ".cfg", ".yml", ".yaml", ".sh"}
# Research notes that live outside the repository; written split so this file does not cite them.
FOREIGN = ("kernel-semantics" + ".md", "real-kernel" + ".md", "v3-kernel" + ".md", "../" + "shared")
# Markdown the project writes at run time (the conformance report) or into the wheel (the
# pages the launcher copies), not documents it cites.
GENERATED = ("report.md", "mfwidgets/_docs/")
MD_NAME = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*[\w-]+\.md)\b")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)
# A rule ID of docs/kernel.md: A.3, B.1, §C, D.15, E7, E9b, R3, R5.4, V2.
RULE_ID = re.compile(r"(?<![\w.§/#-])(§?(?:[ABD]\.\d{1,2}|E\d{1,2}[ab]?|R\d(?:\.\d)?|V\d)|§C)\b")
RULE_HEADING = re.compile(r"^§?([A-Z](?:\.?\d{1,2}(?:\.\d)?[ab]?)?)[.\s]")


@cache
def tracked() -> tuple[str, ...]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return tuple(p for p in out.split("\0") if p and (ROOT / p).exists())


def text_files() -> list[str]:
    return [p for p in tracked() if Path(p).suffix in TEXT_SUFFIXES]


def markdown_of(path: Path) -> str:
    """The Markdown a file renders: the file itself, or a notebook's markdown cells."""
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".ipynb":
        return text
    cells = json.loads(text)["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def without_code(markdown: str) -> str:
    return INLINE_CODE.sub("", FENCE.sub("", markdown))


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: the rendered text, lower case, punctuation dropped,
    spaces to hyphens (github-slugger)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link renders as its text
    text = text.replace("`", "").replace("*", "")
    kept = "".join(
        ch
        for ch in text.lower()
        if ch in " -_" or unicodedata.category(ch)[0] in "LNM"  # letters, numbers, marks
    )
    return kept.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for _, title in HEADING.findall(FENCE.sub("", markdown)):
        slug = github_slug(title)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def kernel_rule_ids() -> set[str]:
    ids = set()
    for _, title in HEADING.findall(KERNEL_MD.read_text(encoding="utf-8")):
        m = RULE_HEADING.match(title)
        if m:
            ids.add(m.group(1))
    return ids


def test_github_slug_matches_github() -> None:
    assert github_slug("E7. First error on an in-use hugepage") == (
        "e7-first-error-on-an-in-use-hugepage"
    )
    assert github_slug("§C. Errors") == "c-errors"
    assert (
        github_slug("R5.1 File position after an EIO read") == "r51-file-position-after-an-eio-read"
    )
    assert github_slug('D.2 "Closed" or "released"') == "d2-closed-or-released"
    assert github_slug("`si_addr_lsb`") == "si_addr_lsb"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}


def test_no_file_cites_a_document_outside_the_repository() -> None:
    names = {Path(p).name for p in tracked()}
    bad = []
    for path in text_files():
        text = (ROOT / path).read_text(encoding="utf-8", errors="replace")
        for foreign in FOREIGN:
            if foreign in text:
                bad.append(f"{path}: cites {foreign}")
        for name in set(MD_NAME.findall(text)):
            here = (ROOT / path).parent / name
            if (
                here.exists()
                or (ROOT / name).exists()
                or name.endswith(GENERATED)
                or name.startswith(GENERATED)
            ):
                continue
            if "/" not in name and name in names:
                continue
            bad.append(f"{path}: cites {name}, which is not in the repository")
    assert bad == []


def link_targets(root: Path, files: Iterable[str]) -> list[tuple[str, str]]:
    """(file, target) of every link in the Markdown of ``files`` (paths under ``root``)."""
    docs = [p for p in files if p.endswith((".md", ".ipynb"))]
    return [(p, t) for p in docs for t in LINK.findall(without_code(markdown_of(root / p)))]


def broken_links(root: Path, files: Collection[str]) -> list[str]:
    """Relative links in ``files`` that reach none of ``files`` (or a directory holding one),
    or no heading of a Markdown file or notebook."""
    dirs = {parent.as_posix() for p in files for parent in Path(p).parents}
    bad = []
    for path, target in link_targets(root, files):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        file_part, _, anchor = unquote(target).partition("#")
        rel = path  # "#anchor" alone: this file
        if file_part:
            rel = posixpath.normpath(posixpath.join(posixpath.dirname(path), file_part))
        if rel not in files and rel not in dirs:
            bad.append(f"{path}: {target} (no such file)")
        elif anchor and anchor not in anchors(markdown_of(root / rel)):
            bad.append(f"{path}: {target} (no heading with that anchor)")
    return bad


def test_the_link_checker_sees_links() -> None:
    targets = {t for _, t in link_targets(ROOT, tracked())}
    assert "docs/DESIGN.md" in targets  # README
    assert "../docs/GLOSSARY.md" in targets  # notebooks
    assert any(t.startswith("kernel.md#") for t in targets)  # docs among themselves


def test_the_link_checker_finds_a_missing_file_and_a_missing_anchor(tmp_path: Path) -> None:
    def notebook(name: str, markdown: str) -> None:
        cell = {"cell_type": "markdown", "metadata": {}, "source": [markdown]}
        (tmp_path / name).write_text(json.dumps({"cells": [cell]}))

    notebook("x.ipynb", "[a](y.ipynb#the-title) [b](z.ipynb) [c](y.ipynb#nope) `[d](z.ipynb)`")
    notebook("y.ipynb", "# The title\n[e](#the-title) [f](https://example.org/z)")
    assert broken_links(tmp_path, {"x.ipynb", "y.ipynb"}) == [
        "x.ipynb: z.ipynb (no such file)",
        "x.ipynb: y.ipynb#nope (no heading with that anchor)",
    ]


def test_every_relative_link_resolves() -> None:
    assert broken_links(ROOT, set(tracked())) == []


def test_a_copied_workbook_links_only_inside_itself(tmp_path: Path) -> None:
    """What `python -m mfwidgets` copies for a pip install: the notebooks' links to docs/ and
    the docs' links among themselves all resolve in the copy."""
    from mfwidgets.__main__ import copy_notebooks

    copied, _ = copy_notebooks(tmp_path)
    assert broken_links(tmp_path, set(copied)) == []


def test_every_cited_kernel_rule_exists() -> None:
    defined = kernel_rule_ids()
    assert {"A.3", "B.1", "C", "D.15", "E7", "E9a", "E9b", "E14", "R3", "R5.4", "V2"} <= defined
    bad = []
    for path in text_files():
        text = (ROOT / path).read_text(encoding="utf-8", errors="replace")
        if path == "docs/kernel.md" or "kernel.md" not in text:
            continue
        # A file that declares "Rule IDs ... refer to docs/kernel.md" cites with bare IDs
        # throughout; any other cites on the lines that name docs/kernel.md.
        if "refer to docs/kernel.md" in text:
            lines = text.splitlines()
        else:
            lines = [line for line in text.splitlines() if "kernel.md" in line]
        for line in lines:
            for rule in RULE_ID.findall(line):
                if rule.lstrip("§") not in defined:
                    bad.append(f"{path}: cites docs/kernel.md {rule}: {line.strip()[:80]}")
    assert bad == []


@pytest.mark.parametrize("name", ["kernel.md", "api.md", "GLOSSARY.md", "DESIGN.md"])
def test_the_reference_is_in_docs(name: str) -> None:
    assert f"docs/{name}" in tracked()
