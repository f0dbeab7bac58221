"""A student's path in the browser: open 00, run it, predict, and see the reveal only then.

Needs Debian's chromium and the `ui` extra (see conftest.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from mfwidgets.widgets.predict import LOCKED_NOTE

pytestmark = pytest.mark.ui

REPO = Path(__file__).resolve().parents[2]


def test_a_student_predicts_then_sees_the_reveal(page: Any, page_log: Any, lab: Any) -> None:
    shutil.copy(REPO / "notebooks" / "00_index.ipynb", lab.root / "00_index.ipynb")
    page.set_viewport_size({"width": 1280, "height": 900})
    lab.run_notebook(page, "00_index.ipynb")
    question = page.get_by_text("What si_addr_lsb will the VMM's SIGBUS carry?")
    question.scroll_into_view_if_needed()
    # Run, but nothing predicted yet: the reveal keeps the answer back.
    page.get_by_text(LOCKED_NOTE).wait_for()
    assert page.get_by_text("Reveal.").count() == 0
    lab.screenshot(page, "student-00-before-predicting")

    lock = page.get_by_role("button", name="Lock in my prediction")
    assert lock.is_disabled()
    page.get_by_text("30: 1 GiB lost", exact=True).click()
    lock.click()
    page.get_by_text("✗ Reveal.").wait_for()
    texts = " ".join(page.locator(".jp-OutputArea-output").all_inner_texts())
    assert "you predicted “30: 1 GiB lost”; the model: 12: 4 KiB lost." in texts
    assert "is log2 of the size the kernel reports lost" in texts
    assert LOCKED_NOTE not in texts
    lab.screenshot(page, "student-00-after-predicting")
    assert page_log.external_requests() == []
    assert page_log.bad_console() == []
