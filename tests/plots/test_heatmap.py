"""heatmap.py: one image glyph of uint8 codes; update() patches only what changed."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from bokeh.models import ColumnDataSource, CustomJSHover, HoverTool, Legend
from jupyter_bokeh import BokehModel

import mfwidgets as mf
from mfwidgets.plots import FolioHeatmap, folio_grid
from mfwidgets.plots.heatmap import META_COLUMNS
from mfwidgets.plots.marks import MAX_MARKS

S = mf.SubpageState


def capture_patches(monkeypatch: pytest.MonkeyPatch, heatmap: FolioHeatmap) -> list[Any]:
    """Record every ``heatmap.source.patch(...)`` (bokeh models refuse instance attributes, so
    the class method is wrapped and filtered by source)."""
    calls: list[Any] = []
    patch = ColumnDataSource.patch

    def recording(self: ColumnDataSource, patches: Any, setter: Any = None) -> None:
        if self is heatmap.source:
            calls.append(patches)
        patch(self, patches, setter)

    monkeypatch.setattr(ColumnDataSource, "patch", recording)
    return calls


def test_source_holds_one_uint8_image_and_scalar_metadata(mixed) -> None:
    snap = mixed.k.snapshot()
    for number, shape in ((1, (16, 32)), (0, (512, 512))):
        heatmap = FolioHeatmap(snap, number)
        assert heatmap.number == number
        data = heatmap.source.data
        assert set(data) == {"image", *META_COLUMNS}
        assert len(data["image"]) == 1
        image = data["image"][0]
        assert image.shape == shape and image.dtype == np.uint8
        np.testing.assert_array_equal(image, folio_grid(snap.folios[number]))
        # Every other column is one scalar: nothing per cell goes to the browser but the image.
        for name in META_COLUMNS:
            assert len(data[name]) == 1 and isinstance(data[name][0], (int, str))
    renderers = [r for r in heatmap.figure.renderers if r.glyph.__class__.__name__ == "Image"]
    assert len(renderers) == 1
    assert heatmap.figure.renderers[0].glyph.__class__.__name__ != "Rect"


def test_metadata_and_title_describe_the_hugepage(mixed) -> None:
    heatmap = FolioHeatmap(mixed.k.snapshot(), 1)
    data = heatmap.source.data
    assert data["pfn"] == [0x140000]
    assert data["index"] == [0]
    assert data["hugepage_bytes"] == [mf.SZ_2M]
    assert data["memfd"] == ["guest"]
    assert json.loads(data["mapped_at"][0]) == [[mixed.p.pid, mixed.addr]]
    assert heatmap.figure.title.text == "hugepage #1 (2 MiB, pfn 0x140000) — kept, memfd guest"
    assert heatmap.events.data["subpage"] == [5, 37]
    assert heatmap.events.data["text"][1].endswith("memory_failure: huge page: Recovered")


def test_one_subpage_event_on_1gib_patches_exactly_one_cell(gig, monkeypatch) -> None:
    heatmap = FolioHeatmap(gig.k.snapshot(), 0)
    calls = capture_patches(monkeypatch, heatmap)
    gig.poison(1000)  # row 1, column 488
    assert heatmap.update(gig.k.snapshot()) == 1
    assert len(calls) == 1
    assert list(calls[0]) == ["image"]  # the mapping did not change: no metadata resent
    [(index, values)] = calls[0]["image"]
    assert index == (0, slice(1, 2), slice(488, 489))
    assert isinstance(values, np.ndarray) and values.dtype == np.uint8
    assert values.tolist() == [S.HWPOISON_SW]
    assert heatmap.source.data["image"][0][1, 488] == S.HWPOISON_SW
    assert heatmap.figure.title.text.endswith("— kept, memfd guest")
    assert heatmap.events.data["subpage"] == [1000]
    assert heatmap.marks.lenses == {1000: "#CC79A7"}  # a 1-pixel cell gets a lens


def test_update_without_change_sends_nothing(gig, monkeypatch) -> None:
    heatmap = FolioHeatmap(gig.k.snapshot(), 0)
    calls = capture_patches(monkeypatch, heatmap)
    assert heatmap.update(gig.k.snapshot()) == 0
    assert calls == []


def test_stock_offline_patches_the_whole_hugepage_and_the_mapping(monkeypatch) -> None:
    from .conftest import make_guest

    k = mf.Kernel(hugepages={"2M": 1})
    g = make_guest(k, "2M", keep=False)
    heatmap = FolioHeatmap(k.snapshot(), 0)
    calls = capture_patches(monkeypatch, heatmap)
    g.poison(3)
    assert heatmap.update(k.snapshot()) == 512  # every subpage is now offlined (or poisoned)
    assert calls[0]["image"][0][0] == (0, slice(0, 16), slice(0, 32))
    assert calls[0]["mapped_at"] == [(0, "[]")]  # stock unmaps the hugepage everywhere
    expected = np.full((16, 32), S.OFFLINED, np.uint8)
    expected[0, 3] = S.HWPOISON_SW
    np.testing.assert_array_equal(heatmap.source.data["image"][0], expected)


def test_one_subpage_update_sends_under_2_kib_through_bokehmodel(gig) -> None:
    heatmap = FolioHeatmap(gig.k.snapshot(), 0)
    widget = BokehModel(heatmap.figure)
    sizes: list[int] = []

    def send(content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        sizes.append(len(json.dumps(content)) + sum(len(b) for b in buffers or []))

    widget.send = send
    gig.poison(5)
    heatmap.update(gig.k.snapshot())
    gig.poison(77777)
    sizes.clear()
    heatmap.update(gig.k.snapshot())
    assert 0 < sum(sizes) < 2048
    sizes.clear()
    heatmap.show_folio(gig.k.snapshot(), 0)
    assert sum(sizes) > 512 * 512  # the full redraw resends the image


def test_show_folio_replaces_everything(mixed) -> None:
    snap = mixed.k.snapshot()
    heatmap = FolioHeatmap(snap, 0)
    heatmap.mark_sigbus([3])
    heatmap.show_folio(snap, 1)
    assert heatmap.number == 1
    image = heatmap.source.data["image"][0]
    assert image.shape == (16, 32)
    np.testing.assert_array_equal(image, folio_grid(snap.folios[1]))
    assert heatmap.source.data["memfd"] == ["guest"]
    assert (heatmap.figure.x_range.end, heatmap.figure.y_range.start) == (32, 16)
    assert heatmap.figure.title.text.startswith("hugepage #1 (2 MiB")
    assert heatmap.marks.sigbus_source.data["x"] == []
    assert heatmap.events.data["subpage"] == [5, 37]
    heatmap.show_folio(snap, 0)
    assert heatmap.source.data["image"][0].shape == (512, 512)
    assert heatmap.events.data["subpage"] == []


def test_legend_names_every_subpage_state_outside_the_cells(mixed) -> None:
    heatmap = FolioHeatmap(mixed.k.snapshot(), 1)
    [legend] = [r for r in heatmap.figure.right if isinstance(r, Legend)]
    assert not [r for r in heatmap.figure.center if isinstance(r, Legend)]
    labels = [item.label.value for item in legend.items]
    assert labels[: len(S)] == [state.label for state in sorted(S)]
    assert {"recent load", "SIGBUS"} <= set(labels)
    for item in legend.items:
        # Each swatch has one point outside the range bounds: drawn in the legend only.
        for renderer in item.renderers:
            assert renderer.data_source.data["x"][0] < heatmap.figure.x_range.bounds[0]


def test_hover_names_subpage_pfn_offset_vaddr_state_and_last_event(mixed) -> None:
    heatmap = FolioHeatmap(mixed.k.snapshot(), 1)
    [hover] = [t for t in heatmap.figure.tools if isinstance(t, HoverTool)]
    labels = [label for label, _ in hover.tooltips]
    assert labels == ["subpage", "pfn", "file offset", "mapped at", "state", "last event"]
    formatter = hover.formatters["@image"]
    assert isinstance(formatter, CustomJSHover)
    assert formatter.args["source"] is heatmap.source
    assert formatter.args["events"] is heatmap.events
    assert formatter.args["labels"] == [state.label for state in sorted(S)]
    assert hover.renderers == [heatmap._image]


def test_marks_keep_the_last_64_and_clear(mixed) -> None:
    heatmap = FolioHeatmap(mixed.k.snapshot(), 1)
    heatmap.mark_loads(range(100))
    heatmap.mark_sigbus([37])
    assert len(heatmap.marks.loads_source.data["x"]) == MAX_MARKS
    assert list(heatmap.marks.loads) == list(range(100 - MAX_MARKS, 100))
    assert heatmap.marks.sigbus_source.data == {"x": [5.5], "y": [1.5]}  # subpage 37's centre
    heatmap.clear_marks()
    assert heatmap.marks.loads_source.data["x"] == []
    assert heatmap.marks.sigbus_source.data["x"] == []


def test_set_theme_switches_both_ways(mixed) -> None:
    heatmap = FolioHeatmap(mixed.k.snapshot(), 1, theme="dark")
    assert heatmap.figure.background_fill_color == "#15171A"
    heatmap.set_theme("light")
    assert heatmap.figure.background_fill_color == "#FFFFFF"
    heatmap.set_theme("dark")
    assert heatmap.figure.background_fill_color == "#15171A"
    with pytest.raises(ValueError):
        heatmap.set_theme("sepia")
