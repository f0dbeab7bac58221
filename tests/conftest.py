"""Test-wide setup: every Kernel checks its invariants after every call (CONFIG_DEBUG_VM), and
hypothesis runs the same examples on every run.

Hypothesis profiles (``MFW_HYPOTHESIS=<name>``):

- ``ci`` (the default): derandomized: every run, here and in CI, draws the same examples, so
  a failure reproduces and a pass is not luck. No example database is written.
- ``explore``: opt-in long exploratory runs: fresh random examples, ten times as many, and an
  example database in ``.hypothesis/examples`` so a failure found once is replayed first next
  time. Turn what it finds into a plain regression test (see tests/model/test_stateful.py).

Every other random source in the tests is a ``numpy.random.default_rng(<seed>)`` with a fixed
seed (a test that draws from one names its seed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from mfwidgets.model import Kernel

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore",
    derandomize=False,
    database=DirectoryBasedExampleDatabase(".hypothesis/examples"),
    max_examples=1000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("MFW_HYPOTHESIS", "ci"))


@pytest.fixture(autouse=True)
def debug_vm() -> Iterator[None]:
    Kernel.debug_vm = True
    yield
    Kernel.debug_vm = False
