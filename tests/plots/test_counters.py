"""counters.py: meminfo, hstate and memory_failure counters as escaped HTML tables."""

from __future__ import annotations

import mfwidgets as mf
from mfwidgets.plots import CountersPanel
from mfwidgets.plots.counters import counters_html


def test_panel_shows_exact_meminfo_hstate_and_node_counters(mixed) -> None:
    snap = mixed.k.snapshot()
    assert snap.meminfo["HardwareCorrupted"] == 4  # one 4 KiB page: subpage 37
    panel = CountersPanel(snap, mixed.k.dmesg(), [repr(s) for s in mixed.p.signals])
    html = panel.div.text
    assert "<td>HardwareCorrupted</td><td>4 kB</td>" in html
    assert "<td>HugePages_Total</td><td>2</td>" in html
    assert "<td>HugePages_Free</td><td>1</td>" in html
    assert "<td>Hugepagesize</td><td>2048 kB</td>" in html
    assert "<td>hugepages-2048kB</td><td>2</td><td>1</td><td>0</td><td>0</td>" in html
    assert "<td>hugepages-1048576kB</td><td>1</td><td>1</td><td>0</td><td>0</td>" in html
    assert "<td>total</td><td>1</td>" in html and "<td>recovered</td><td>1</td>" in html
    assert "recovery action for huge page: Recovered" in html
    assert "SIGBUS BUS_MCEERR_AR addr=0x7f0000025000 lsb=12" in html


def test_panel_escapes_html_in_log_lines() -> None:
    snap = mf.Kernel().snapshot()
    panel = CountersPanel()
    panel.update(snap, ["<script>alert('x')</script> & more"], ["<i>pid</i>"])
    html = panel.div.text
    assert "<script>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in html
    assert "&lt;i&gt;pid&lt;/i&gt;" in html


def test_panel_shows_only_the_tail() -> None:
    panel = CountersPanel(mf.Kernel().snapshot(), [f"line {i}" for i in range(100)], [])
    assert "line 99" in panel.div.text and "line 87" not in panel.div.text
    assert "line 88" in panel.div.text


def test_panel_theme_switches_both_ways() -> None:
    panel = CountersPanel(theme="dark")
    assert panel.div.styles["background-color"] == "#15171A"
    panel.set_theme("light")
    assert panel.div.styles["background-color"] == "#FFFFFF"


def test_a_pool_of_another_size_gets_a_note_under_meminfo() -> None:
    one_gig = counters_html(mf.Kernel(hugepages={"1G": 2}).snapshot(), [], [])
    assert (
        "HugePages_* count only the default size (2048 kB); the 1G pool is in "
        "/sys/kernel/mm/hugepages/." in one_gig
    )
    assert "count only the default size" not in counters_html(
        mf.Kernel(hugepages={"2M": 2}).snapshot(), [], []
    )
