"""The consequence table is measured on the kernel model (docs/kernel.md E4-E11, B.3)."""

from __future__ import annotations

import numpy as np
import pytest

from mfwidgets.fleet import STATES, consequence_table, derive_table
from mfwidgets.model import FolioState

#            clean      other      same       gone_other gone_same   (latent, scrub)
STOCK = lambda s: [[s, s], [s, 0], [s, 0], [0, 0], [0, 0]]  # noqa: E731
KEEP = [[12, 12], [12, 12], [12, 0], [0, 0], [0, 0]]


@pytest.mark.parametrize(("size", "shift"), [("2M", 21), ("1G", 30)])
def test_stock_sigbus_lsb_is_hugepage_shift_and_release_leaks(size: str, shift: int) -> None:
    t = consequence_table("stock", size)
    assert t.lsb.tolist() == STOCK(shift)
    assert t.si_code[0].tolist() == [4, 5]  # AR when consumed, AO to the early-kill VMM
    assert (t.kept_state, t.punched_state) == (FolioState.OFFLINED, FolioState.LEAKED)
    assert t.release == t.punch == (0, 1)  # nr_hugepages unchanged, never free again


@pytest.mark.parametrize("size", ["2M", "1G"])
def test_keep_ue_mapped_sigbus_lsb_is_page_shift_and_release_dissolves(size: str) -> None:
    t = consequence_table("keep", size)
    assert t.lsb.tolist() == KEEP
    assert (t.kept_state, t.punched_state) == (FolioState.KEPT, FolioState.DISSOLVED)
    assert t.release == t.punch == (1, 0)  # nr_hugepages - 1


@pytest.mark.parametrize("policy", ["stock", "keep"])
def test_table_does_not_depend_on_how_the_earlier_error_was_found(policy: str) -> None:
    a, b = derive_table(policy, "2M", prior_scrub=False), derive_table(policy, "2M", True)
    assert np.array_equal(a.lsb, b.lsb) and np.array_equal(a.si_code, b.si_code)
    assert (a.kept_state, a.punched_state, a.release, a.punch) == (
        b.kept_state,
        b.punched_state,
        b.release,
        b.punch,
    )


def test_rows_name_every_state_and_detection() -> None:
    rows = consequence_table("keep", "1G").rows()
    assert [(r["state"], r["detect"]) for r in rows][:2] == [
        ("clean", "latent"),
        ("clean", "scrub"),
    ]
    assert {r["state"] for r in rows} == set(STATES)
    assert rows[1]["si_code"] == "BUS_MCEERR_AO" and rows[1]["si_addr_lsb"] == 12
