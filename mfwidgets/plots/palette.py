"""Palette: the colour of every subpage and hugepage state, and the light and dark themes.

Mirrors: nothing in the kernel; the labels come from the model (``SubpageState.label``,
``FolioState.label``), which uses the kernel's words.

The colours are Okabe-Ito (Okabe & Ito 2008), chosen so that every pair stays apart for
deuteranopes, protanopes and tritanopes (tests/plots/test_palette.py measures it):
warm colours and black mean an error (hwpoison, a latent hardware error, isolated),
blue is healthy memory in use, greys are free or dissolved, and yellow, green and sky blue are
the healthy memory a poisoned hugepage takes down with it.
"""

from __future__ import annotations

from bokeh.models import Axis, Grid, Plot
from bokeh.models.annotations.legends import Legend
from bokeh.models.widgets.markups import Div

from ..model import FolioState, SubpageState

# Okabe-Ito, by name.
BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
# Two greys outside Okabe-Ito: free is light, dissolved is dark. A middle grey would sit on top
# of reddish purple and bluish green for a deuteranope.
LIGHT_GREY = "#DDDDDD"
DARK_GREY = "#404040"

SUBPAGE_COLORS: dict[SubpageState, str] = {
    SubpageState.FREE: LIGHT_GREY,
    SubpageState.IN_USE: BLUE,
    SubpageState.HWPOISON_SW: REDDISH_PURPLE,  # data intact, but the kernel treats it as lost
    SubpageState.HW_LATENT: ORANGE,  # data lost, and nobody knows yet
    SubpageState.HWPOISON_HW: VERMILLION,  # data lost, memory_failure() has handled it
    SubpageState.OFFLINED: YELLOW,  # stock: healthy, but unreachable with its hugepage
    SubpageState.LEAKED: BLUISH_GREEN,  # stock: healthy, stranded until reboot
    SubpageState.FREE_POISONED: SKY_BLUE,  # healthy, in a free hugepage nobody will get
    SubpageState.DISSOLVED: DARK_GREY,  # healthy, back in the buddy allocator
    SubpageState.ISOLATED: BLACK,  # poisoned, kept off the buddy allocator forever
}

# A hugepage is coloured like the healthy subpages of the heatmap, except KEPT, which is
# in use but poisoned and so takes the software-hwpoison colour.
FOLIO_COLORS: dict[FolioState, str] = {
    FolioState.FREE: LIGHT_GREY,
    FolioState.FREE_POISONED: SKY_BLUE,
    FolioState.IN_USE: BLUE,
    FolioState.OFFLINED: YELLOW,
    FolioState.KEPT: REDDISH_PURPLE,
    FolioState.LEAKED: BLUISH_GREEN,
    FolioState.DISSOLVED: DARK_GREY,
}

THEMES: dict[str, dict[str, str]] = {
    "light": {
        "background": "#FFFFFF",
        "text": "#1A1A1A",
        "grid": "#E6E6E6",
        "outline": "#9E9E9E",
        "cell_line": "#FFFFFF",  # gaps between pool rects
        "mark": "#000000",  # SIGBUS crosses and load dots
        "halo": "#FFFFFF",  # drawn under marks so they show on any cell colour
    },
    "dark": {
        "background": "#15171A",
        "text": "#E6E6E6",
        "grid": "#33363B",
        "outline": "#6B7079",
        "cell_line": "#15171A",
        "mark": "#FFFFFF",
        "halo": "#000000",
    },
}


def subpage_palette() -> list[str]:
    """Colours indexed by SubpageState code, for LinearColorMapper(low=-0.5, high=len - 0.5)."""
    return [SUBPAGE_COLORS[state] for state in sorted(SubpageState)]


def theme_colors(theme: str) -> dict[str, str]:
    """The colours of ``theme``. Raises ValueError for a theme that is not in THEMES."""
    if theme not in THEMES:
        raise ValueError(f"theme: {theme!r} is not one of {', '.join(THEMES)}")
    return THEMES[theme]


def _restyle_legend(legend: Legend, colors: dict[str, str]) -> None:
    legend.background_fill_color = colors["background"]
    legend.border_line_color = colors["outline"]
    legend.label_text_color = colors["text"]
    legend.title_text_color = colors["text"]
    legend.inactive_fill_color = colors["background"]


def apply_theme(model: Plot | Div, theme: str) -> None:
    """Restyle a figure (or a Div) for ``theme``. Idempotent; light <-> dark both ways.

    Only colours are set, so switching back restores exactly what the first call set.
    Raises ValueError for an unknown theme.
    """
    colors = theme_colors(theme)
    if isinstance(model, Div):
        model.styles = {"background-color": colors["background"], "color": colors["text"]}
        return
    model.background_fill_color = colors["background"]
    model.border_fill_color = colors["background"]
    model.outline_line_color = colors["outline"]
    if model.title is not None and not isinstance(model.title, str):
        model.title.text_color = colors["text"]
    for axis in [*model.below, *model.above, *model.left, *model.right]:
        if isinstance(axis, Axis):
            axis.axis_label_text_color = colors["text"]
            axis.major_label_text_color = colors["text"]
            axis.axis_line_color = colors["outline"]
            axis.major_tick_line_color = colors["outline"]
            axis.minor_tick_line_color = colors["outline"]
        if isinstance(axis, Legend):
            _restyle_legend(axis, colors)
    for renderer in model.center:
        if isinstance(renderer, Legend):
            _restyle_legend(renderer, colors)
        elif isinstance(renderer, Grid) and renderer.grid_line_color is not None:
            # A grid a view switched off (None) stays off.
            renderer.grid_line_color = colors["grid"]
