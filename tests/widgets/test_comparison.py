"""PolicyComparison: one click, applied to a stock memfd and a keep memfd, driven from Python
as a learner's clicks would drive it, with the verdict checked as whole strings."""

from __future__ import annotations

import pytest
from bokeh.events import Tap

import mfwidgets as mf
from mfwidgets.widgets import Action, PolicyComparison, Session, Setup, verdict
from mfwidgets.widgets.comparison import usable_subpages
from mfwidgets.widgets.session import BUTTON_OPS

BOOTED = (
    "stock: 2048 of 2048 subpages still usable, no SIGBUS, nr_hugepages 4 | "
    "keep: 2048 usable, no SIGBUS, nr_hugepages 4"
)
AFTER_INJECT_37 = (
    "stock: 1536 of 2048 subpages still usable, 1 SIGBUS (lsb 21), nr_hugepages 4 | "
    "keep: 2047 usable, 1 SIGBUS (lsb 12), nr_hugepages 4"
)


def lsbs(kernel: mf.Kernel) -> list[int]:
    return [s.si_addr_lsb for s in kernel.processes[0].signals]


def test_boots_a_stock_and_a_keep_session_with_identical_pools() -> None:
    c = mf.PolicyComparison()
    assert c.stock.setup == Setup(series=False, size="2M", nr_hugepages=4, keep_ue_mapped=False)
    assert c.keep.setup == Setup(series=True, size="2M", nr_hugepages=4, keep_ue_mapped=True)
    assert c.kernels == (c.stock.kernel, c.keep.kernel)
    pfns = [[f.pfn for f in s.steps[-1].snapshot.folios] for s in (c.stock, c.keep)]
    assert pfns[0] == pfns[1]
    assert c._verdict.value == "<b>" + BOOTED.replace(" | ", "<br>") + "</b>"


def test_click_on_subpage_37_gives_the_exact_verdict_and_both_lsbs() -> None:
    c = PolicyComparison()
    stock_step, keep_step = c.click(0, 37)
    assert stock_step.action == keep_step.action == Action("inject", 0, 37, "software")
    assert verdict(c.stock, c.keep) == AFTER_INJECT_37
    assert c._verdict.value == "<b>" + AFTER_INJECT_37.replace(" | ", "<br>") + "</b>"
    stock_kernel, keep_kernel = c.kernels
    assert lsbs(stock_kernel) == [21]
    assert lsbs(keep_kernel) == [12]
    # Each column explains its own path.
    assert "<h4>stock</h4>" in c._stock_text.value
    assert "(hard offline)" in c._stock_text.value
    assert "<h4>MFD_MF_KEEP_UE_MAPPED</h4>" in c._keep_text.value
    assert "MFD_MF_KEEP_UE_MAPPED (proposed): the hugepage stays mapped" in c._keep_text.value
    assert c._stock_map.figure.title.text.startswith("stock: hugepage #0 (2 MiB")
    assert c._stock_map.figure.title.text.endswith("offlined, memfd guest")
    assert c._keep_map.figure.title.text.startswith("MFD_MF_KEEP_UE_MAPPED: hugepage #0")
    assert c._keep_map.figure.title.text.endswith("kept, memfd guest")


def test_load_next_to_the_poison_gives_sigbus_only_on_stock() -> None:
    c = PolicyComparison()
    c.click(0, 37)
    c._mode.value = "load"
    stock_step, keep_step = c.click(0, 38)
    assert stock_step.access is not None and stock_step.access.signal is not None
    assert stock_step.access.signal.si_addr_lsb == 21
    assert keep_step.access is not None and keep_step.access.ok
    assert keep_step.access.data == b"\x5a" * 8
    assert lsbs(c.kernels[0]) == [21, 21] and lsbs(c.kernels[1]) == [12]
    assert list(c._stock_map.marks.sigbus) == [38] and list(c._stock_map.marks.loads) == []
    assert list(c._keep_map.marks.loads) == [38] and list(c._keep_map.marks.sigbus) == []
    assert verdict(c.stock, c.keep) == (
        "stock: 1536 of 2048 subpages still usable, 2 SIGBUS (lsb 21), nr_hugepages 4 | "
        "keep: 2047 usable, 1 SIGBUS (lsb 12), nr_hugepages 4"
    )


def test_ftruncate_leaks_on_stock_and_dissolves_on_keep() -> None:
    c = PolicyComparison()
    c.click(0, 37)
    c._buttons[BUTTON_OPS.index("ftruncate(0)")].click()
    assert verdict(c.stock, c.keep) == (
        "stock: 0 of 2048 subpages still usable, 1 SIGBUS (lsb 21), nr_hugepages 4 | "
        "keep: 0 usable, 1 SIGBUS (lsb 12), nr_hugepages 3"
    )
    assert c._stock_map.figure.title.text.endswith("leaked")
    assert c._keep_map.figure.title.text.endswith("dissolved")


def test_usable_means_healthy_and_in_the_guest_memfd_so_poison_never_counts() -> None:
    """The rule: IN_USE subpages of hugepages in the guest memfd. Under keep a software-poisoned
    subpage still holds its bytes and stays mapped, so a load of it even succeeds (as in the
    selftest), but it stands for a lost page and the VMM was told so: it does not count. A
    latent hardware error does not count either, before anything notices it."""
    keep = Session(Setup(series=True, keep_ue_mapped=True))
    keep.apply(Action("inject", 0, 37, "software"))
    load = keep.apply(Action("load", 0, 37))
    assert load.access is not None and load.access.data == b"\x5a" * 8  # intact, readable...
    assert [s.si_addr_lsb for s in keep.vmm.signals] == [12]  # ...but reported lost
    assert usable_subpages(keep) == 2047
    keep.apply(Action("inject", 1, 5, "hardware, latent"))
    assert usable_subpages(keep) == 2046
    stock = Session(Setup(series=False, keep_ue_mapped=False))
    stock.apply(Action("inject", 2, 0, "software"))
    assert usable_subpages(stock) == 3 * 512  # the other 511 of hugepage #2 are offlined
    stock.apply(Action("munmap"))
    stock.apply(Action("close"))  # the memfd is released: nothing is in the guest memfd
    assert usable_subpages(stock) == 0


def test_a_refused_call_shows_the_banner_and_changes_nothing() -> None:
    c = PolicyComparison()
    c.click(0, 37)
    c._buttons[BUTTON_OPS.index("exit")].click()
    assert c._banner.layout.display == "none"
    before = [(len(k.trace), k.snapshot()) for k in c.kernels]
    shown = c._verdict.value
    stock_step, keep_step = c.act(Action("munmap"))
    assert stock_step.error == keep_step.error == "ESRCH: munmap: process 1000 has exited"
    assert "both: ESRCH: munmap: process 1000 has exited" in c._banner.value
    assert c._banner.layout.display is None
    after = [(len(k.trace), k.snapshot()) for k in c.kernels]
    assert [n for n, _ in after] == [n for n, _ in before]
    for (_, old), (_, new) in zip(before, after, strict=True):
        assert (old.meminfo, old.hstates, old.mf_stats) == (new.meminfo, new.hstates, new.mf_stats)
        assert [f.codes().tolist() for f in old.folios] == [f.codes().tolist() for f in new.folios]
    assert c._verdict.value == shown


def test_a_tap_on_either_heatmap_reaches_both_sessions() -> None:
    c = PolicyComparison()
    c._keep_map.figure._trigger_event(Tap(c._keep_map.figure, x=5.5, y=1.5))  # row 1, col 5
    assert c.stock.actions == c.keep.actions == [Action("inject", 0, 37, "software")]
    c._mode.value = "store"
    c._stock_map.figure._trigger_event(Tap(c._stock_map.figure, x=100.0, y=1.5))  # off the grid
    assert len(c.stock.actions) == 1


def test_size_count_and_hugepage_choice_rebuild_both_kernels() -> None:
    c = PolicyComparison()
    c.click(0, 1)
    c._size.value = "1G"
    c._count.value = 2
    assert [k.hstate("1G").nr_hugepages for k in c.kernels] == [2, 2]
    assert c.stock.actions == [] and c.keep.actions == []
    assert c._stock_map.source.data["image"][0].shape == (512, 512)
    assert list(c._folio.options) == [0, 1]
    c._folio.value = 1
    assert c.folio == 1 and c._keep_map.number == 1
    c.click(1, 7)
    assert verdict(c.stock, c.keep) == (
        "stock: 262144 of 524288 subpages still usable, 1 SIGBUS (lsb 30), nr_hugepages 2 | "
        "keep: 524287 usable, 1 SIGBUS (lsb 12), nr_hugepages 2"
    )
    c._reset.click()
    assert c.stock.actions == [] and c.folio == 0
    assert [k.hstate("1G").nr_hugepages for k in c.kernels] == [2, 2]


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_theme_switch_restyles_both_heatmaps(theme: str) -> None:
    c = PolicyComparison(theme="light")
    c._theme_choice.value = theme
    assert c._stock_map.theme == c._keep_map.theme == theme
