"""The test suite draws the same examples on every run (tests/conftest.py's ``ci`` profile)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.skipif(
    os.environ.get("MFW_HYPOTHESIS", "ci") != "ci", reason="an opt-in hypothesis profile is on"
)


def test_the_default_profile_is_derandomized_without_a_database() -> None:
    assert settings.default.derandomize is True
    assert settings.default.database is None


def test_two_runs_of_a_property_draw_the_same_examples() -> None:
    def run() -> list[list[int]]:
        seen: list[list[int]] = []

        @settings(max_examples=30)
        @given(st.lists(st.integers(0, 1 << 40), max_size=5))
        def prop(xs: list[int]) -> None:
            seen.append(xs)

        prop()
        return seen

    first = run()
    assert len(first) == 30
    assert run() == first
