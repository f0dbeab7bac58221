"""pool.py: one square per hugepage, coloured by FolioState; taps select a hugepage."""

from __future__ import annotations

from bokeh.models import HoverTool, Legend, TapTool

import mfwidgets as mf
from mfwidgets.plots import FOLIO_COLORS, PoolView

from .conftest import make_guest

F = mf.FolioState


def row_of(view: PoolView, number: int) -> int:
    return list(view.source.data["number"]).index(number)


def test_colours_follow_folio_state_after_stock_offline_and_keep_dissolve() -> None:
    k = mf.Kernel(hugepages={"2M": 3})
    stock = make_guest(k, "2M", keep=False, name="stock")  # hugepage #0
    keep = make_guest(k, "2M", keep=True, name="keep")  # hugepage #1
    view = PoolView(k.snapshot())
    assert view.source.data["color"] == [FOLIO_COLORS[F.IN_USE]] * 2 + [FOLIO_COLORS[F.FREE]]

    stock.poison(3)  # stock: the whole hugepage is hard-offlined
    keep.poison(9)  # PROPOSED: kept mapped
    assert view.update(k.snapshot()) == 2
    assert view.source.data["state"] == ["offlined", "kept", "free"]
    assert view.source.data["color"][:2] == [FOLIO_COLORS[F.OFFLINED], FOLIO_COLORS[F.KEPT]]
    assert view.source.data["nr_poisoned"] == [1, 1, 0]

    keep.p.ftruncate(keep.fd, 0)  # PROPOSED: the poisoned folio is dissolved at once
    assert view.update(k.snapshot()) == 1
    assert view.source.data["state"][1] == "dissolved"
    assert view.source.data["color"][1] == FOLIO_COLORS[F.DISSOLVED]
    assert view.update(k.snapshot()) == 0


def test_pool_that_grows_is_redrawn() -> None:
    k = mf.Kernel(hugepages={"2M": 2})
    view = PoolView(k.snapshot())
    k.set_nr_hugepages("2M", 40)
    assert view.update(k.snapshot()) == 40
    assert len(view.source.data["number"]) == 40
    assert view.figure.y_range.start >= 4  # heading + two rows of squares


def test_on_select_receives_the_tapped_number(mixed) -> None:
    view = PoolView(mixed.k.snapshot())
    got: list[int] = []
    view.on_select(got.append)
    view.select(2)
    assert got == [2]
    # What a browser tap does: the TapTool sets the selected row.
    view.source.selected.indices = [row_of(view, 1)]
    assert got == [2, 1]
    view.source.selected.indices = []
    assert got == [2, 1]


def test_select_unknown_hugepage_raises(mixed) -> None:
    view = PoolView(mixed.k.snapshot())
    try:
        view.select(99)
    except ValueError as e:
        assert "#99" in str(e)
    else:
        raise AssertionError("select(99) should raise")


def test_pool_has_state_legend_hover_and_tap(mixed) -> None:
    view = PoolView(mixed.k.snapshot())
    [legend] = [r for r in view.figure.right if isinstance(r, Legend)]
    assert [i.label.value for i in legend.items] == [
        "free",
        "free, poisoned",
        "in use",
        "offlined",
        "kept",
        "leaked",
        "dissolved",
    ]
    [hover] = [t for t in view.figure.tools if isinstance(t, HoverTool)]
    assert [label for label, _ in hover.tooltips] == [
        "hugepage",
        "size",
        "pfn",
        "state",
        "memfd",
        "mapped by",
        "poisoned subpages",
    ]
    assert any(isinstance(t, TapTool) for t in view.figure.tools)
    assert view.bands.data["text"] == ["1 GiB hugepages", "2 MiB hugepages"]


def test_pool_theme_switches_both_ways(mixed) -> None:
    view = PoolView(mixed.k.snapshot(), theme="dark")
    assert view.figure.background_fill_color == "#15171A"
    view.set_theme("light")
    assert view.figure.background_fill_color == "#FFFFFF"
