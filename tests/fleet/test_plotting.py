"""Fleet plots: numbers a student can read, titles that fit, legends off the bars."""

from __future__ import annotations

import pytest
from bokeh.models import Title

from mfwidgets import fleet
from mfwidgets.fleet.plotting import distribution_figure, sweep_heatmap, three_digits


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0.0, "0"),
        (0.03381, "0.0338"),
        (4.2913, "4.29"),
        (68.94, "68.9"),
        (4403.2, "4,400"),
        (11437.0, "11,400"),
        (35291.0, "35,300"),
        (1234567.0, "1,230,000"),
    ],
)
def test_three_digits_never_uses_an_exponent(x: float, text: str) -> None:
    assert three_digits(x) == text


@pytest.fixture(scope="module")
def grid() -> dict:
    return fleet.sweep(fleet.FleetParams(replicas=4), rates=(0.005, 0.04), sizes=("2M", "1G"))


def test_heatmap_cells_and_titles_are_readable(grid: dict) -> None:
    layout = sweep_heatmap(grid, "guest_lost_bytes")
    for fig in layout.children:
        texts = fig.renderers[1].data_source.data["text"]
        assert not any("e+" in t or "e-" in t for t in texts)
        titles = [t.text for t in fig.above if isinstance(t, Title)]
        assert "guest memory lost (MiB) / 1,000 host-years" in titles
        # The policy alone in the main title: with the metric it ran past the plot's width.
        assert fig.title.text in ("stock: hard offline", "keep: MFD_MF_KEEP_UE_MAPPED (proposed)")


def test_histogram_legend_sits_above_the_bars() -> None:
    result = fleet.simulate(hosts=100, years=1, replicas=8)
    fig = distribution_figure(result, "vm_interruptions", "stock")
    assert fig.legend[0] in fig.above
    assert fig.legend[0] not in fig.center
