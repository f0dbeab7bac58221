"""Test-wide setup: every Kernel checks its invariants after every call (CONFIG_DEBUG_VM)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mfwidgets.model import Kernel


@pytest.fixture(autouse=True)
def debug_vm() -> Iterator[None]:
    Kernel.debug_vm = True
    yield
    Kernel.debug_vm = False
