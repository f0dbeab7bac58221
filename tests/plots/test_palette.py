"""palette.py: every state has a colour; the colours stay apart for colour-blind readers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from bokeh.plotting import figure

import mfwidgets as mf
from mfwidgets.plots import FOLIO_COLORS, SUBPAGE_COLORS, THEMES, apply_theme, subpage_palette

S = mf.SubpageState

# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB.
CVD = {
    "normal": np.eye(3),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.01182, 0.04294, 0.968881],
        ]
    ),
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "tritanopia": np.array(
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.3039],
        ]
    ),
}
SRGB_TO_XYZ = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)


def lab(color: str, vision: str) -> np.ndarray:
    """CIELAB (D65) of ``color`` as a reader with ``vision`` sees it."""
    srgb = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    xyz = SRGB_TO_XYZ @ np.clip(CVD[vision] @ linear, 0, 1) / np.array([0.95047, 1, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a: str, b: str, vision: str) -> float:
    return float(np.linalg.norm(lab(a, vision) - lab(b, vision)))


def test_every_state_has_a_colour_and_the_palette_is_indexed_by_code() -> None:
    assert set(SUBPAGE_COLORS) == set(S)
    assert set(FOLIO_COLORS) == set(mf.FolioState)
    palette = subpage_palette()
    assert len(palette) == len(S)
    for state in S:
        assert palette[int(state)] == SUBPAGE_COLORS[state]


@pytest.mark.parametrize("vision", list(CVD))
@pytest.mark.parametrize("colors", [SUBPAGE_COLORS, FOLIO_COLORS], ids=["subpage", "folio"])
def test_every_pair_of_colours_stays_apart(colors, vision) -> None:
    # ΔE76 of 15 is far above "just noticeable" (~2.3); Okabe-Ito's closest pair for a
    # deuteranope (orange/yellow) is 17.
    for (a, ca), (b, cb) in itertools.combinations(colors.items(), 2):
        assert delta_e(ca, cb, vision) > 15, (a, b, vision)


@pytest.mark.parametrize("vision", list(CVD))
def test_poisoned_subpages_stand_out_from_healthy_ones(vision) -> None:
    poisoned = (S.HWPOISON_SW, S.HW_LATENT, S.HWPOISON_HW, S.ISOLATED)
    healthy = (S.FREE, S.IN_USE)
    for p, h in itertools.product(poisoned, healthy):
        # The closest: software hwpoison (reddish purple) on in use (blue), ~23 for a protanope.
        assert delta_e(SUBPAGE_COLORS[p], SUBPAGE_COLORS[h], vision) > 20, (p, h, vision)


def _theme_props(p: figure) -> tuple[object, ...]:
    return (
        p.background_fill_color,
        p.border_fill_color,
        p.outline_line_color,
        p.title.text_color,
        p.xaxis[0].axis_label_text_color,
        p.yaxis[0].major_label_text_color,
        p.xgrid[0].grid_line_color,
    )


def test_apply_theme_is_idempotent_and_switches_both_ways() -> None:
    p = figure(title="t")
    apply_theme(p, "light")
    light = _theme_props(p)
    assert light[0] == THEMES["light"]["background"]
    apply_theme(p, "light")
    assert _theme_props(p) == light
    apply_theme(p, "dark")
    dark = _theme_props(p)
    assert dark[0] == THEMES["dark"]["background"] and dark[3] == THEMES["dark"]["text"]
    apply_theme(p, "light")
    assert _theme_props(p) == light
    p.xgrid.grid_line_color = None
    apply_theme(p, "dark")
    assert p.xgrid[0].grid_line_color is None  # a grid switched off stays off


def test_apply_theme_rejects_unknown_theme() -> None:
    with pytest.raises(ValueError, match="sepia"):
        apply_theme(figure(), "sepia")
