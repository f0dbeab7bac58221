"""grids.py: snapshot -> exact numpy grids, cell arithmetic, dirty rectangles, pool columns."""

from __future__ import annotations

import numpy as np
import pytest

import mfwidgets as mf
from mfwidgets.plots import cell_of, dirty_rects, folio_grid, grid_shape, pool_columns, subpage_at
from mfwidgets.plots.grids import MAX_RECTS, pool_bands

S = mf.SubpageState


def test_grid_shapes_are_one_row_per_2mib() -> None:
    assert grid_shape("2M") == (16, 32)
    assert grid_shape("1G") == (512, 512)
    with pytest.raises(ValueError, match="size '4K'"):
        grid_shape("4K")


def test_folio_grid_of_keep_memfd_with_madvise_and_latent_error(mixed) -> None:
    snap = mixed.k.snapshot()
    expected = np.full((16, 32), S.IN_USE, dtype=np.uint8)
    expected[1, 5] = S.HWPOISON_SW  # subpage 37 = 1 * 32 + 5: MADV_HWPOISON, kept mapped
    expected[0, 5] = S.HW_LATENT  # subpage 5: a real error nobody has consumed yet
    grid = folio_grid(snap.folios[1])
    assert grid.dtype == np.uint8
    np.testing.assert_array_equal(grid, expected)
    np.testing.assert_array_equal(folio_grid(snap.folios[2]), np.zeros((16, 32), np.uint8))
    big = folio_grid(snap.folios[0])
    assert big.shape == (512, 512) and big.dtype == np.uint8
    np.testing.assert_array_equal(big, np.full((512, 512), S.FREE, dtype=np.uint8))


def test_folio_grid_is_row_major_and_writable(gig) -> None:
    gig.poison(262143)
    gig.poison(513)
    grid = folio_grid(gig.k.snapshot().folios[0])
    assert grid.flags.writeable  # bokeh patches the drawn array in place
    assert grid[511, 511] == S.HWPOISON_SW
    assert grid[1, 1] == S.HWPOISON_SW
    assert np.count_nonzero(grid != S.IN_USE) == 2


def test_cell_of_and_subpage_at_are_inverse() -> None:
    assert cell_of("1G", 262143) == (511, 511)
    assert cell_of("1G", 512) == (1, 0)
    assert cell_of("2M", 37) == (1, 5)
    assert subpage_at("2M", 1, 5) == 37
    assert subpage_at("1G", 511, 511) == 262143
    for subpage in (0, 31, 32, 511):
        assert subpage_at("2M", *cell_of("2M", subpage)) == subpage
    with pytest.raises(ValueError):
        cell_of("2M", 512)
    with pytest.raises(ValueError):
        subpage_at("2M", 16, 0)
    with pytest.raises(ValueError):
        subpage_at("2M", 0, -1)


def _grid(shape: tuple[int, int] = (16, 32)) -> np.ndarray:
    return np.zeros(shape, dtype=np.uint8)


def test_dirty_rects_one_changed_cell_is_one_1x1_rect() -> None:
    new = _grid()
    new[3, 7] = S.HWPOISON_SW
    assert dirty_rects(_grid(), new) == [(3, 4, 7, 8)]


def test_dirty_rects_two_distant_changes_are_two_rects() -> None:
    new = _grid()
    new[0, 0] = new[15, 31] = 1
    assert dirty_rects(_grid(), new) == [(0, 1, 0, 1), (15, 16, 31, 32)]
    # Far apart in one row of a 1 GiB grid: still two.
    big = _grid((512, 512))
    big[5, 0] = big[5, 500] = 1
    assert dirty_rects(_grid((512, 512)), big) == [(5, 6, 0, 1), (5, 6, 500, 501)]


def test_dirty_rects_nearby_changes_share_a_rect() -> None:
    new = _grid()
    new[4, 10] = new[5, 12] = 1
    assert dirty_rects(_grid(), new) == [(4, 6, 10, 13)]


def test_dirty_rects_unchanged_grid_is_empty() -> None:
    grid = _grid()
    grid[2, 2] = 4
    assert dirty_rects(grid, grid.copy()) == []


def test_dirty_rects_full_change_is_the_whole_grid() -> None:
    assert dirty_rects(_grid(), np.ones((16, 32), np.uint8)) == [(0, 16, 0, 32)]
    big = _grid((512, 512))
    assert dirty_rects(big, big + 5) == [(0, 512, 0, 512)]


def test_dirty_rects_cover_every_change_with_few_disjoint_rects() -> None:
    rng = np.random.default_rng(7)
    for density in (0.0001, 0.001, 0.01, 0.5):
        old = _grid((512, 512))
        new = (rng.random((512, 512)) < density).astype(np.uint8)
        rects = dirty_rects(old, new)
        assert 0 < len(rects) <= MAX_RECTS
        covered = np.zeros((512, 512), dtype=np.int32)
        for r0, r1, c0, c1 in rects:
            assert 0 <= r0 < r1 <= 512 and 0 <= c0 < c1 <= 512
            covered[r0:r1, c0:c1] += 1
        assert covered.max() == 1  # disjoint
        assert np.all(covered[new != old] == 1)  # complete


def test_dirty_rects_rejects_different_shapes() -> None:
    with pytest.raises(ValueError):
        dirty_rects(_grid(), _grid((512, 512)))


def test_pool_columns_lay_out_bands_per_size(mixed) -> None:
    snap = mixed.k.snapshot()
    assert pool_bands(snap) == [("1 GiB hugepages", 0.5), ("2 MiB hugepages", 3.5)]
    assert pool_columns(snap) == {
        "x": [0.5, 0.5, 1.5],
        "y": [1.5, 4.5, 4.5],
        "number": [0, 1, 2],
        "size": ["1G", "2M", "2M"],
        "pfn": ["0x100000", "0x140000", "0x140200"],
        "state": ["free", "kept", "free"],
        "color": ["#DDDDDD", "#CC79A7", "#DDDDDD"],
        "memfd": ["", "guest", ""],
        "mapped_by": ["", "1000", ""],
        "nr_poisoned": [0, 2, 0],
    }


def test_pool_columns_wrap_32_hugepages_a_row() -> None:
    snap = mf.Kernel(hugepages={"2M": 33}).snapshot()
    cols = pool_columns(snap)
    assert (cols["x"][31], cols["y"][31]) == (31.5, 1.5)
    assert (cols["x"][32], cols["y"][32]) == (0.5, 2.5)
