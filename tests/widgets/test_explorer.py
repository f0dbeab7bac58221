"""Explorer and its session, driven from Python as a learner's clicks would drive them."""

from __future__ import annotations

import pytest

import mfwidgets as mf
from mfwidgets.model import errno
from mfwidgets.widgets import Action, Session, Setup
from mfwidgets.widgets.parts import counter_changes, step_html


def keep_session(**kw: object) -> Session:
    return Session(Setup(**kw))  # type: ignore[arg-type]


def test_session_boots_a_filled_guest_memfd() -> None:
    s = keep_session(size="2M", nr_hugepages=4)
    assert s.kernel.hstate("2M").free_hugepages == 0
    assert s.vmm.verify(s.addr, 4 << 21, 0x5A).ok
    assert s.steps[0].call == "boot" and "MFD_MF_KEEP_UE_MAPPED" in s.steps[0].explanation[0]


def test_inject_explains_the_keep_path_and_marks_one_cell() -> None:
    s = keep_session()
    step = s.apply(Action("inject", 0, 37, "software"))
    assert step.call == f"madvise({s.addr + 37 * 4096:#x}, 4096, MADV_HWPOISON)"
    assert step.error is None
    assert step.changed == ((0, 37),)
    assert any(
        "MFD_MF_KEEP_UE_MAPPED (proposed): the hugepage stays mapped" in t for t in step.explanation
    )
    assert any("si_addr_lsb = 12" in t for t in step.explanation)
    assert step.peek == b"\x5a" * 32  # software poison keeps the data


def test_stock_inject_explains_hard_offline_and_every_subpage_changes() -> None:
    s = keep_session(series=False, keep_ue_mapped=False)
    step = s.apply(Action("inject", 1, 0, "software"))
    assert any("unmapped from every process (hard offline)" in t for t in step.explanation)
    assert any("si_addr_lsb = 21" in t for t in step.explanation)
    assert len(step.changed) == 512  # the whole 2 MiB hugepage
    load = s.apply(Action("load", 1, 400))
    assert load.access is not None and load.access.signal is not None
    assert load.access.signal.si_addr == s.addr + (1 << 21) + 400 * 4096


def test_refused_call_is_a_message_not_an_exception() -> None:
    s = keep_session()
    s.apply(Action("close"))
    step = s.apply(Action("close"))
    assert step.error == "EBADF: close: fd 3 is not open"
    assert step.explanation[0] == "Refused: EBADF: close: fd 3 is not open."


def test_close_with_a_live_mapping_releases_nothing_then_munmap_does() -> None:
    s = keep_session()
    s.apply(Action("inject", 0, 1, "software"))
    closed = s.apply(Action("close"))
    assert "closed is not released" in closed.explanation[0]
    assert s.kernel.hstate("2M").nr_hugepages == 4
    s.apply(Action("munmap"))
    assert s.kernel.hstate("2M").nr_hugepages == 3


def test_replay_rebuilds_the_same_world() -> None:
    s = keep_session()
    for a in (
        Action("inject", 0, 3, "hardware, latent"),
        Action("load", 0, 3),
        Action("ftruncate(0)"),
    ):
        s.apply(a)
    again = Session.replay(s.setup, s.actions)
    assert [st.snapshot.meminfo for st in again.steps] == [st.snapshot.meminfo for st in s.steps]
    assert again.kernel.dmesg() == s.kernel.dmesg()


def test_counter_changes_name_what_moved() -> None:
    s = keep_session()
    step = s.apply(Action("inject", 0, 3, "software"))
    assert counter_changes(s.steps[0].snapshot, step.snapshot) == [
        "HardwareCorrupted: 0 -> 4 kB",
        "memory_failure/total: 0 -> 1",
        "memory_failure/recovered: 0 -> 1",
    ]


def test_explorer_click_injects_and_exposes_the_kernel() -> None:
    ex = mf.Explorer(mf.Kernel(hugepages={"2M": 4}))
    before = len(ex.kernel.trace)
    step = ex.click(ex.folio, 37)
    assert len(ex.kernel.trace) > before
    assert ex.kernel.meminfo()["HardwareCorrupted"] == 4
    assert step.action == Action("inject", ex.folio, 37, "software")
    assert "Step 1 of 1" in ex._step.value and "MADV_HWPOISON" in ex._step.value
    assert ex._heatmap.source.data["image"][0][1, 5] == mf.SubpageState.HWPOISON_SW  # 37 = 32 + 5


def test_explorer_tap_on_a_cell_reaches_the_model() -> None:
    from bokeh.events import Tap

    ex = mf.Explorer()
    ex._on_tap(Tap(ex._heatmap.figure, x=5.5, y=1.5))  # row 1, column 5: subpage 37
    assert ex.session.steps[-1].action == Action("inject", ex.folio, 37, "software")


def test_explorer_shows_the_kernels_refusal_in_the_banner_and_keeps_the_world() -> None:
    ex = mf.Explorer()
    ex.click(ex.folio, 1)
    kernel = ex.kernel
    ex._kernel_choice.value = "7.3 stock"  # the flag is still ticked: EINVAL
    assert "EINVAL: memfd_create: MFD_MF_KEEP_UE_MAPPED" in ex._banner.value
    assert ex.kernel is kernel and len(ex.session.steps) == 2
    assert ex._kernel_choice.value == "7.3 with the proposed series"
    ex._keep.value = False
    ex._kernel_choice.value = "7.3 stock"
    assert ex._banner.layout.display == "none"
    assert not ex.kernel.supports_keep_ue_mapped


def test_explorer_kernel_choice_picks_the_version() -> None:
    """The same click on 7.3 and on 6.1 (stock): MADV_HWPOISON signals the injecting VMM (AR)
    on 7.3 only (docs/kernel.md R3); the hugepage is hard-offlined on both."""
    ex = mf.Explorer(series=False, keep_ue_mapped=False)
    assert ex._kernel_choice.value == "7.3 stock"
    assert list(ex._kernel_choice.options) == [
        "7.3 with the proposed series",
        "7.3 stock",
        "6.12 stock",
        "6.1 stock",
    ]
    ex.click(ex.folio, 3)
    assert [s.si_code for s in ex.kernel.processes[0].signals] == [mf.BUS_MCEERR_AR]
    ex._kernel_choice.value = "6.1 stock"
    assert ex.kernel.version == "6.1" and len(ex.session.steps) == 1
    ex.click(ex.folio, 3)
    assert ex.kernel.processes[0].signals == []
    assert any("hard offline" in t for t in ex.session.steps[-1].explanation)
    assert ex.session.setup.version == "6.1"


def test_explorer_history_steps_back_and_acting_there_replays() -> None:
    ex = mf.Explorer()
    ex.click(ex.folio, 1)
    ex.click(ex.folio, 2)
    ex._history.move(1)
    assert ex._heatmap.source.data["image"][0][0, 2] == mf.SubpageState.IN_USE
    assert "Step 1 of 2" in ex._step.value
    ex.click(ex.folio, 9)
    assert [a.subpage for a in ex.session.actions] == [1, 9]


def test_explorer_buttons_and_load_mode() -> None:
    ex = mf.Explorer(size="1G", nr_hugepages=2, series=True, keep_ue_mapped=True)
    assert ex._heatmap.source.data["image"][0].shape == (512, 512)
    ex._kind.value = "hardware, latent"
    ex.click(ex.folio, 7)
    ex._mode.value = "load"
    step = ex.click(ex.folio, 7)
    assert (
        repr(step.access.signal)
        == f"SIGBUS BUS_MCEERR_AR addr={ex.session.addr + 7 * 4096:#x} lsb=12"
    )  # type: ignore[union-attr]
    assert "(nothing read: this access raised SIGBUS)" in ex._bytes.value
    ex._buttons[2].click()  # ftruncate(0)
    assert ex.kernel.hstate("1G").nr_hugepages == 1


def test_invalid_setup_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="nr_hugepages must be 1..8"):
        mf.Explorer(nr_hugepages=9)
    with pytest.raises(OSError) as e:
        mf.Explorer(series=False, keep_ue_mapped=True)
    assert e.value.errno == errno.EINVAL


def test_a_stock_1g_hard_offline_counts_every_changed_subpage() -> None:
    # Regression: the count was capped at 4096 cells per hugepage.
    s = keep_session(series=False, keep_ue_mapped=False, size="1G", nr_hugepages=1)
    step = s.apply(Action("inject", 0, 5, "software"))
    assert len(step.changed) == 262_144  # every 4 KiB subpage of the 1 GiB hugepage
    assert step.changed[0] == (0, 0) and step.changed[-1] == (0, 262_143)
    assert "262144 subpages changed state" in step_html(step, s.steps[0], 1, 1)


def test_stepping_back_to_the_boot_shows_no_signal_from_later_steps() -> None:
    # Regression: the counters panel read the signals from the live kernel, so step 0 showed a
    # SIGBUS that had not been sent yet.
    ex = mf.Explorer(series=False, keep_ue_mapped=False)
    ex.click(ex.folio, 3)  # software injection: stock hard offline, SIGBUS lsb 21
    sigbus = f"SIGBUS BUS_MCEERR_AR addr={ex.session.addr + 3 * 4096:#x} lsb=21"
    assert sigbus in ex._counters.value and "Memory failure" in ex._counters.value
    ex._history.move(0)
    assert "SIGBUS" not in ex._counters.value
    assert "Memory failure" not in ex._counters.value  # nor the later log lines
    ex._history.move(1)
    assert sigbus in ex._counters.value


def test_a_load_of_a_software_poisoned_page_under_the_flag_says_why_it_worked() -> None:
    s = keep_session()
    s.apply(Action("inject", 0, 37, "software"))
    step = s.apply(Action("load", 0, 37))
    assert step.access is not None and step.access.ok
    assert not any("healthy memory" in t for t in step.explanation)
    assert any(
        "a software injection marks the page but leaves its data intact" in t
        and "A real uncorrected error here would have destroyed the data and raised SIGBUS" in t
        for t in step.explanation
    )
    healthy = s.apply(Action("load", 0, 38))
    assert healthy.explanation[-1].endswith("healthy memory, no signal.")


def test_the_byte_dump_of_a_failed_load_shows_nothing_read() -> None:
    from mfwidgets.widgets.parts import bytes_html

    s = keep_session(series=False, keep_ue_mapped=False)
    s.apply(Action("inject", 1, 0, "software"))
    failed = s.apply(Action("load", 1, 400))
    assert failed.peek == b"\x5a" * 32  # the frame still holds the bytes (stock, software)...
    html = bytes_html(failed)
    assert "(nothing read: this access raised SIGBUS)" in html and "5a 5a" not in html
    ok = s.apply(Action("load", 0, 3))
    assert "5a 5a 5a" in bytes_html(ok)


@pytest.mark.parametrize(
    ("setup", "actions", "stage"),
    [
        ({}, [Action("inject", 0, 3, "software")], "keep"),
        ({"series": False, "keep_ue_mapped": False}, [Action("inject", 0, 3, "software")], "stock"),
        ({}, [Action("inject", 0, 3, "hardware, latent")], "error"),
        ({}, [Action("inject", 0, 3, "software"), Action("ftruncate(0)")], "keep_release"),
        (
            {"series": False, "keep_ue_mapped": False},
            [Action("inject", 0, 3, "software"), Action("close"), Action("munmap")],
            "stock_release",
        ),
        ({}, [Action("load", 0, 3)], None),
    ],
)
def test_each_step_knows_where_it_is_on_the_errors_path(
    setup: dict[str, object], actions: list[Action], stage: str | None
) -> None:
    s = keep_session(**setup)
    for action in actions:
        step = s.apply(action)
    assert step.stage == stage


def test_the_explorer_highlights_the_step_on_the_path_diagram() -> None:
    ex = mf.Explorer(size="2M", nr_hugepages=2)
    assert 'stroke-width="5"' not in ex._path.value  # the boot: nothing highlighted
    ex.click(ex.folio, 3)
    assert ex._path.value == mf.plots.diagram.error_path_svg("keep")
    ex._history.move(0)
    assert 'stroke-width="5"' not in ex._path.value


def test_the_step_text_names_the_event_numbers_the_tooltips_show() -> None:
    s = keep_session()
    step = s.apply(Action("inject", 0, 37, "software"))
    seqs = [e.seq for e in step.events]
    html = step_html(step, s.steps[0], 1, 1)
    assert f"<b>Step 1 of 1</b> (events #{min(seqs)}–#{max(seqs)}):" in html
    view = step.snapshot.folios[0]
    assert view.last_event[37].startswith(f"#{max(e.seq for e in step.events if e.subpage == 37)} ")
