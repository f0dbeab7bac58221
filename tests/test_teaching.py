"""mfwidgets.teaching: the TLB calculator, the memfd flag builder and the tables notebooks show."""

from __future__ import annotations

import pytest

import mfwidgets as mf
from mfwidgets import teaching as t
from mfwidgets.model import errno

TIB = 1 << 40


@pytest.mark.parametrize(
    ("page_size", "entries"),
    [("4K", 268_435_456), ("2M", 524_288), ("1G", 1_024), (4096, 268_435_456)],
)
def test_tlb_reach_entries_needed_for_1_tib(page_size: int | str, entries: int) -> None:
    assert t.tlb_reach(TIB, page_size, 1536).entries_needed == entries


def test_tlb_reach_coverage_is_entries_times_page_size_capped_at_all_of_memory() -> None:
    small = t.tlb_reach("1T", "4K", 1536)
    assert small.coverage_bytes == 1536 * 4096 == 6 * (1 << 20)
    assert small.coverage == pytest.approx(6 * (1 << 20) / TIB)
    big = t.tlb_reach("1T", "1G", 1536)
    assert big.coverage_bytes == 1536 << 30
    assert big.coverage == 1.0


def test_tlb_reach_rounds_a_partial_page_up() -> None:
    assert t.tlb_reach(4097, 4096, 1).entries_needed == 2


@pytest.mark.parametrize(
    ("args", "exc"),
    [
        ((0, "4K", 1), ValueError),
        (("1T", 3000, 1), ValueError),
        (("1T", "4K", 0), ValueError),
        (("1T", "4K", True), TypeError),
        (("lots", "4K", 1), ValueError),
        ((1.5, "4K", 1), TypeError),
    ],
)
def test_tlb_reach_rejects_bad_arguments(args: tuple[object, object, object], exc: type) -> None:
    with pytest.raises(exc):
        t.tlb_reach(*args)  # type: ignore[arg-type]


def test_tlb_table_has_one_row_per_page_size_with_exact_counts() -> None:
    table = t.tlb_table("1T", 1536)
    assert table.column("page size") == ["4 KiB", "2 MiB", "1 GiB"]
    assert table.column("entries to map it all") == ["268,435,456", "524,288", "1,024"]
    assert "<table>" in table._repr_html_()
    assert "268,435,456" in str(table)


@pytest.mark.parametrize(
    ("text", "value"),
    [("4K", 4096), ("2 MiB", 1 << 21), ("1g", 1 << 30), ("1 TiB", TIB), ("512", 512)],
)
def test_parse_size_reads_binary_units(text: str, value: int) -> None:
    assert t.parse_size(text) == value


@pytest.mark.parametrize(
    ("nbytes", "text"), [(4096, "4 KiB"), (3 << 30, "3 GiB"), (1000, "1,000 bytes"), (TIB, "1 TiB")]
)
def test_format_size_uses_the_largest_exact_unit(nbytes: int, text: str) -> None:
    assert t.format_size(nbytes) == text


def test_memfd_flags_builds_the_kernel_value_and_its_c_spelling() -> None:
    flags = t.memfd_flags(hugetlb=True, size="1G", keep=True)
    assert flags == mf.MFD_HUGETLB | mf.MFD_HUGE_1GB | mf.MFD_MF_KEEP_UE_MAPPED == 0x78000024
    assert isinstance(flags, int)
    assert flags.symbolic == "MFD_HUGETLB | MFD_HUGE_1GB | MFD_MF_KEEP_UE_MAPPED"
    assert repr(flags) == "0x78000024 = MFD_HUGETLB | MFD_HUGE_1GB | MFD_MF_KEEP_UE_MAPPED"


@pytest.mark.parametrize(
    ("kwargs", "value", "symbolic"),
    [
        ({}, 0, "0"),
        ({"hugetlb": True}, 0x4, "MFD_HUGETLB"),
        ({"hugetlb": True, "size": "2M"}, 0x54000004, "MFD_HUGETLB | MFD_HUGE_2MB"),
        ({"keep": True}, 0x20, "MFD_MF_KEEP_UE_MAPPED"),
        ({"cloexec": True, "allow_sealing": True}, 0x3, "MFD_CLOEXEC | MFD_ALLOW_SEALING"),
        ({"noexec_seal": True, "exec_": True}, 0x18, "MFD_NOEXEC_SEAL | MFD_EXEC"),
    ],
)
def test_memfd_flags_combinations(kwargs: dict[str, object], value: int, symbolic: str) -> None:
    flags = t.memfd_flags(**kwargs)  # type: ignore[arg-type]
    assert (int(flags), flags.symbolic) == (value, symbolic)


def test_memfd_flags_rejects_an_unknown_size() -> None:
    with pytest.raises(ValueError, match="size"):
        t.memfd_flags(hugetlb=True, size="4M")


def test_memfd_flags_value_is_accepted_by_the_model() -> None:
    k = mf.Kernel({"1G": 1})
    p = k.spawn("vmm")
    fd = p.memfd_create("guest", t.memfd_flags(hugetlb=True, size="1G", keep=True))
    assert p.fstatfs(fd).f_bsize == mf.SZ_1G


def test_attempt_turns_a_syscall_error_into_an_outcome() -> None:
    p = mf.Kernel({"2M": 1}, supports_keep_ue_mapped=False).spawn("vmm")
    failed = t.attempt(p.memfd_create, "x", t.memfd_flags(hugetlb=True, keep=True))
    assert (failed.ok, failed.errno) == (False, errno.EINVAL)
    assert "EINVAL" in repr(failed)
    worked = t.attempt(p.memfd_create, "x", t.memfd_flags(hugetlb=True))
    assert (worked.ok, worked.value) == (True, 3)


def test_attempt_lets_a_bug_propagate() -> None:
    with pytest.raises(ZeroDivisionError):
        t.attempt(lambda: 1 // 0)


def test_flags_table_is_the_models_answer_on_both_kernels() -> None:
    table = t.flags_table()
    rows = {row["flags"]: row for row in table.rows}
    keep_1g = rows["MFD_HUGETLB | MFD_HUGE_1GB | MFD_MF_KEEP_UE_MAPPED"]
    assert str(keep_1g["stock kernel"]).startswith("EINVAL")
    assert keep_1g["kernel with the series"] == "fd 3"
    keep_alone = rows["MFD_MF_KEEP_UE_MAPPED"]
    assert (
        keep_alone["kernel with the series"] == "EINVAL: MFD_MF_KEEP_UE_MAPPED requires MFD_HUGETLB"
    )
    assert rows["MFD_HUGETLB | MFD_HUGE_1GB"]["stock kernel"] == "fd 3"
    assert str(rows["MFD_HUGE_1GB"]["stock kernel"]).startswith("EINVAL")


def test_probe_keep_ue_mapped_says_whether_the_kernel_has_the_series() -> None:
    assert t.probe_keep_ue_mapped(mf.Kernel({"2M": 1}).spawn("vmm")) is True
    stock = mf.Kernel({"2M": 1}, supports_keep_ue_mapped=False).spawn("vmm")
    assert t.probe_keep_ue_mapped(stock) is False
    assert stock.fds == {}


def test_lost_range_and_vmm_view_of_a_keep_sigbus() -> None:
    run = t.guest_with_error("1G", 4, 37, keep=True)
    assert run.signal is not None
    lost = t.lost_range(run.signal)
    assert (lost.start, lost.size) == (run.addr + 37 * 4096, 4096)
    text = t.vmm_view(run.signal, run.addr)
    assert "guest-physical [0x25000, 0x26000)" in text


def test_lost_range_of_a_stock_sigbus_is_the_whole_hugepage() -> None:
    run = t.guest_with_error("1G", 2, 37, keep=False)
    assert run.signal is not None
    assert t.lost_range(run.signal).size == mf.SZ_1G
    assert t.lost_range(run.signal).start == run.addr


def test_lost_range_rejects_a_signal_without_lost_memory() -> None:
    sig = mf.SigInfo(7, int(mf.BUS_ADRERR), 0x1000, 0, 1)
    with pytest.raises(ValueError):
        t.lost_range(sig)


def test_loss_table_compares_the_policies_with_the_model() -> None:
    table = t.loss_table("1G", 4, 37)
    assert table.column("si_addr_lsb") == [30, 12]
    assert table.column("reported lost") == ["1 GiB", "4 KiB"]
    usable = table.column("guest memory still usable")
    assert usable == [
        f"{3 << 30:,} of {4 << 30:,} bytes",
        f"{(4 << 30) - 4096:,} of {4 << 30:,} bytes",
    ]


def test_usable_bytes_follows_release_under_keep() -> None:
    run = t.guest_with_error("2M", 2, 5, keep=True)
    assert run.usable == 2 * mf.SZ_2M - mf.PAGE_SIZE
    run.vmm.ftruncate(run.fd, 0)
    assert t.usable_bytes(run.kernel.snapshot(), "guest") == 0
