"""What each notebook must have shown at given points, checked when the test suite runs it.

These asserts used to sit in the notebooks as collapsed cells; students saw grey scaffolding.
Each entry is (the id of the cell after which it runs, the code). tests/test_notebooks.py
inserts them into the notebook it executes, so they see exactly the state a student sees there.
"""

from __future__ import annotations

CHECKS: dict[str, list[tuple[str, str]]] = {
    "01_motivation.ipynb": [
        (
            "e8fc15a4",
            r"""
table = mf.teaching.loss_table(size="1G", nr_hugepages=4, subpage=37)
assert table.column("si_addr_lsb") == [30, 12]
assert table.column("reported lost") == ["1 GiB", "4 KiB"]
""",
        ),
        (
            "17b237dd",
            r"""
assert not stock.vmm.load(stock.addr + 512 * 2**20).ok
assert keep.vmm.load(keep.addr + 512 * 2**20).data == b"\xab"
""",
        ),
        (
            "31bb32a1",
            r"""
assert mf.teaching.tlb_reach("1T", "4K", 1536).entries_needed == 268_435_456
assert mf.teaching.tlb_reach("1T", "1G", 1536).entries_needed == 1_024
""",
        ),
    ],
    "02_user_api.ipynb": [
        (
            "c8cce837",
            r"""
rows = {row["flags"]: row for row in mf.teaching.flags_table().rows}
assert rows[flags.symbolic]["stock kernel"].startswith("EINVAL")
assert rows[flags.symbolic]["kernel with the series"] == "fd 3"
assert rows["MFD_MF_KEEP_UE_MAPPED"]["kernel with the series"].startswith("EINVAL")
""",
        ),
        (
            "2e0385b9",
            r"""
assert sig.si_code == mf.BUS_MCEERR_AR
assert sig.si_addr == addr + 37 * mf.PAGE_SIZE
assert sig.si_addr_lsb == 12
""",
        ),
        (
            "2cd65c4b",
            r"""
assert len(short.value) == mf.PAGE_SIZE
assert failed.errno == 5  # EIO
""",
        ),
    ],
    "03_behaviour.ipynb": [
        (
            "3137b4c3",
            r"""
assert [s.si_addr_lsb for s in pc.stock.vmm.signals] == [21]
assert [s.si_addr_lsb for s in pc.keep.vmm.signals] == [12]
""",
        ),
        (
            "aea7cccd",
            r"""
assert [s.si_code for s in vmm.signals] == [mf.BUS_MCEERR_AR]
assert [s.si_code for s in watcher.signals] == [mf.BUS_MCEERR_AO]
hit = bystander.signals[0]
assert (hit.si_addr, hit.si_addr_lsb) == (addr + mf.SZ_2M - 1, 21)
""",
        ),
        (
            "09b757fa",
            r"""
assert len(data) == 3 * mf.PAGE_SIZE
""",
        ),
        (
            "031809c0",
            r"""
assert (k.hstate("2M").nr_hugepages, k.hstate("2M").free_hugepages) == (2, 1)
""",
        ),
    ],
    "04_limitations.ipynb": [
        (
            "0342cc8e",
            r"""
assert shm.errno == 22  # EINVAL
""",
        ),
        (
            "dd2daa8b",
            r"""
assert not bad.ok and bad.signal.si_addr_lsb == 12 and bad.signal.si_code == mf.BUS_MCEERR_AR
assert good.ok and good.data == b"\xab"
""",
        ),
        (
            "1eccd1aa",
            r"""
assert lost.signal.si_code == mf.BusCode.SI_KERNEL and lost.signal.si_addr == 0
assert v3.dmesg()[-1] == "Memory failure: failed to dissolve hugetlb folio: -16"
assert (v3.hstate("2M").nr_hugepages, v3.hstate("2M").free_hugepages) == (4, 4)
""",
        ),
        (
            "c4c3974c",
            r"""
assert before == 4
assert k.hstate("2M").nr_hugepages == 3
""",
        ),
    ],
}
