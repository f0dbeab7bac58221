"""The error-path diagram: the committed SVG is the code's output; a highlight marks one step."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mfwidgets.plots.diagram import EDGES, KEYS, error_path_svg

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "figures" / "error-path.svg"
SVG = "{http://www.w3.org/2000/svg}"


def test_the_committed_figure_is_the_code_output() -> None:
    assert COMMITTED.read_text() == error_path_svg(), (
        "regenerate: python -m mfwidgets.plots.diagram > docs/figures/error-path.svg"
    )


def test_it_is_well_formed_and_names_each_policy_outcome() -> None:
    root = ET.fromstring(error_path_svg())
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "si_addr_lsb 21 (2 MiB) or 30 (1 GiB)" in text
    assert "si_addr_lsb 12 (4 KiB)" in text
    assert "memory_failure(pfn)" in text
    assert len(list(root.iter(f"{SVG}rect"))) == 1 + len(KEYS)  # the background and one box each
    assert len(list(root.iter(f"{SVG}line"))) == len(EDGES)
    assert root.find(f"{SVG}title") is not None  # screen readers get a name and a description


@pytest.mark.parametrize("key", KEYS)
def test_a_highlight_marks_exactly_that_step(key: str) -> None:
    plain, lit = error_path_svg(), error_path_svg(key)
    assert plain.count('stroke-width="5"') == 0
    assert lit.count('stroke-width="5"') == 1
    boxes = re.findall(r'<rect x="\d+" y="\d+" width="\d+" height="\d+" [^>]*>', lit)
    index = KEYS.index(key)
    assert 'stroke-width="5"' in boxes[index]


def test_an_unknown_step_is_refused() -> None:
    with pytest.raises(ValueError, match="highlight: 'dram' is not one of error, scrubber"):
        error_path_svg("dram")
