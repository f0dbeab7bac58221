"""Parity: the stock selftest tools/testing/selftests/mm/hugetlb-read-hwpoison.c, and the read(2)
rows of the real-kernel runs.

The selftest (torvalds/linux @5add3c3c280a; the SIGBUS handler was added later, linux-mm
@aef514f2f208, because MADV_HWPOISON sends the caller an AR SIGBUS since v6.11) makes a 2 MiB
hugetlb memfd of one hugepage, maps it MAP_SHARED|MAP_POPULATE, fills it chunk by chunk, and for
chunk sizes 0x800, 0x1000, 0x2000, 0x4000 checks that read() returns the whole file, that after
MADV_HWPOISON of one raw page read() stops exactly in front of it, and that reading can resume
after an lseek past it.

Spec: docs/kernel.md E6 (same for stock and keep), §C read/write rows; docs/kernel.md R3
read rows (6.12 and 7.3 column) and §5 item 1 (an EIO read() does not move the file position).
"""

from __future__ import annotations

import numpy as np
import pytest

import mfwidgets as mf
from mfwidgets.model import errno

PS = mf.PAGE_SIZE
HPS = mf.SZ_2M
CHUNKS = [0x800, 0x1000, 0x2000, 0x4000]
POLICIES = ["stock", "keep"]
COMM = "read-hwpoison"
BLOCK = 0x800  # the pattern changes every 0x800 bytes, the smallest chunk size


def pattern(nbytes: int) -> bytes:
    """Byte at file offset o = (o // 0x800) % 251 + 1: never 0 (a hole reads 0), and it tells
    every 0x800 block of a 6 MiB file from its neighbours."""
    blocks = (np.arange(nbytes // BLOCK) % 251 + 1).astype(np.uint8)
    return np.repeat(blocks, BLOCK).tobytes()


def selftest_pattern(nbytes: int, chunk: int) -> bytes:
    """setup_filemap(): memset(filemap + offset, ++iter, chunk) with a char iter."""
    blocks = ((np.arange(nbytes // chunk) + 1) & 0xFF).astype(np.uint8)
    return np.repeat(blocks, chunk).tobytes()


def make_file(policy: str, nr_hugepages: int = 1, data: bytes | None = None):
    """A hugetlb memfd of ``nr_hugepages`` 2 MiB pages, mapped MAP_SHARED|MAP_POPULATE and
    filled with ``data`` (default: pattern())."""
    keep = policy == "keep"
    k = mf.Kernel(hugepages={"2M": nr_hugepages + 1}, supports_keep_ue_mapped=keep)
    p = k.spawn(COMM, handle_sigbus=True)
    flags = mf.MFD_HUGETLB | (mf.MFD_MF_KEEP_UE_MAPPED if keep else 0)
    fd = p.memfd_create("hugetlb_tmp", flags)
    st = p.fstatfs(fd)
    assert (st.f_type, st.f_bsize) == (mf.HUGETLBFS_MAGIC, HPS)
    length = nr_hugepages * HPS
    p.ftruncate(fd, length)
    addr = p.mmap(length, mf.PROT_READ | mf.PROT_WRITE, mf.MAP_SHARED | mf.MAP_POPULATE, fd, 0)
    content = pattern(length) if data is None else data
    assert len(content) == length
    assert p.store(addr, content) == mf.Access(True, None, None, None)
    assert k.hstate("2M") == mf.Hstate(nr_hugepages + 1, 1, 0, 0)
    return k, p, fd, addr, content


def poison(k: mf.Kernel, p: mf.Process, addr: int, policy: str) -> None:
    """MADV_HWPOISON one raw page; the caller's SIGBUS handler records the AR signal (E7)."""
    nsig, hwc = len(p.signals), k.meminfo()["HardwareCorrupted"]
    assert p.madvise(addr, PS, mf.MADV_HWPOISON) == 0
    lsb = 12 if policy == "keep" else 21
    assert p.signals[nsig:] == [mf.SigInfo(mf.SIGBUS, mf.BUS_MCEERR_AR, addr, lsb, p.pid)]
    assert k.meminfo()["HardwareCorrupted"] == hwc + 4
    assert p.alive


def tell(p: mf.Process, fd: int) -> int:
    return p.lseek(fd, 0, mf.SEEK_CUR)


def read_until_stop(p: mf.Process, fd: int, chunk: int, max_calls: int):
    """read(fd, chunk) until EOF (b"") or an error. Returns (data, errno or None)."""
    out = bytearray()
    for _ in range(max_calls):
        try:
            got = p.read(fd, chunk)
        except OSError as e:
            return bytes(out), e.errno
        if not got:
            return bytes(out), None
        assert 0 < len(got) <= chunk
        out += got
    raise AssertionError(f"read() did not stop after {max_calls} calls")


# -- the selftest's three cases, with a pattern that tells offsets apart ------------------------
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("chunk", CHUNKS, ids=hex)
def test_read_without_poison_returns_whole_file(policy: str, chunk: int) -> None:
    k, p, fd, addr, content = make_file(policy)
    data, err = read_until_stop(p, fd, chunk, HPS // chunk + 1)
    assert (err, len(data)) == (None, HPS)
    assert data == content
    assert tell(p, fd) == HPS
    assert p.read(fd, chunk) == b""  # EOF stays EOF


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("chunk", CHUNKS, ids=hex)
def test_read_stops_in_front_of_poisoned_subpage(policy: str, chunk: int) -> None:
    k, p, fd, addr, content = make_file(policy)
    poison(k, p, addr + PS, policy)
    nlog = len(k.dmesg())
    data, err = read_until_stop(p, fd, chunk, HPS // chunk + 1)
    assert (err, len(data)) == (errno.EIO, 0x1000)
    assert data == content[:0x1000]
    assert tell(p, fd) == 0x1000  # the EIO read did not advance the position
    with pytest.raises(OSError) as exc:
        p.read(fd, chunk)
    assert exc.value.errno == errno.EIO
    assert tell(p, fd) == 0x1000
    assert k.dmesg()[nlog:] == []  # read() of software poison logs nothing and signals nobody
    assert len(p.signals) == 1


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("chunk", CHUNKS, ids=hex)
def test_seek_past_poisoned_subpage_reads_rest(policy: str, chunk: int) -> None:
    k, p, fd, addr, content = make_file(policy)
    poison(k, p, addr + PS, policy)
    assert p.lseek(fd, 2 * PS, mf.SEEK_SET) == 2 * PS
    data, err = read_until_stop(p, fd, chunk, HPS // chunk + 1)
    assert (err, len(data)) == (None, HPS - 2 * PS)
    assert data == content[2 * PS :]
    assert tell(p, fd) == HPS
    # The poisoned raw page itself stays unreadable.
    with pytest.raises(OSError) as exc:
        p.pread(fd, chunk, PS)
    assert exc.value.errno == errno.EIO


# -- a literal replay of the selftest (its layout: poison at len/2 + pagesize) ------------------
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("chunk", CHUNKS, ids=hex)
def test_selftest_replay(policy: str, chunk: int) -> None:
    content = selftest_pattern(HPS, chunk)
    # test_hugetlb_read(): no poison, read() in chunks returns len bytes, chunk i == i + 1.
    k, p, fd, addr, _ = make_file(policy, data=content)
    data, err = read_until_stop(p, fd, chunk, HPS // chunk + 1)
    assert (err, data) == (None, content)

    # test_hugetlb_read_hwpoison(skip_hwpoison_page=false): read (1MB + 1 page) from the start.
    k, p, fd, addr, _ = make_file(policy, data=content)
    poison(k, p, addr + HPS // 2 + PS, policy)
    data, err = read_until_stop(p, fd, chunk, HPS // chunk + 1)
    assert (err, data) == (errno.EIO, content[: HPS // 2 + PS])

    # test_hugetlb_read_hwpoison(skip_hwpoison_page=true): seek past it, read (1MB - skip).
    k, p, fd, addr, _ = make_file(policy, data=content)
    poison(k, p, addr + HPS // 2 + PS, policy)
    start = HPS // 2 + max(2 * PS, chunk)
    assert p.lseek(fd, start) == start
    data, err = read_until_stop(p, fd, chunk, HPS // chunk + 1)
    assert (err, data) == (None, content[start:])
    assert len(data) == HPS // 2 - max(2 * PS, chunk)


# -- docs/kernel.md R3 read rows (6.12 / 7.3) ----------------------------------------------
def three_hugepages(policy: str):
    """3 hugepages; poisoned raw pages: hugepage 0 subpage 3, hugepage 1 subpage 0,
    hugepage 2 subpage 5 (scenario A and R of docs/kernel.md R2)."""
    k, p, fd, addr, content = make_file(policy, nr_hugepages=3)
    for hp, sp in ((0, 3), (1, 0), (2, 5)):
        poison(k, p, addr + hp * HPS + sp * PS, policy)
    return k, p, fd, addr, content


@pytest.mark.parametrize("policy", POLICIES)
def test_pread_whole_hugepage_short_at_poisoned_subpage_3(policy: str) -> None:
    k, p, fd, addr, content = three_hugepages(policy)
    assert p.pread(fd, HPS, 0) == content[:12288]
    assert tell(p, fd) == 0  # pread does not use the file position


@pytest.mark.parametrize("policy", POLICIES)
def test_pread_of_poisoned_and_healthy_subpages(policy: str) -> None:
    k, p, fd, addr, content = three_hugepages(policy)
    for off in (3 * PS, 3 * PS + 1, 4 * PS - 1, HPS, 2 * HPS + 5 * PS + 0x800):
        with pytest.raises(OSError) as exc:
            p.pread(fd, 16, off)
        assert exc.value.errno == errno.EIO
    # A healthy raw page of a poisoned hugepage reads normally (6.12/7.3; 6.1 gave EIO).
    for off in (0, 4 * PS, HPS - PS, HPS + PS, 2 * HPS + 6 * PS):
        assert p.pread(fd, PS, off) == content[off : off + PS]


@pytest.mark.parametrize("policy", POLICIES)
def test_pread_into_poisoned_subpage_0_of_next_hugepage_is_eio(policy: str) -> None:
    k, p, fd, addr, content = three_hugepages(policy)
    with pytest.raises(OSError) as exc:
        p.pread(fd, 0x2000, HPS - 0x1000)  # 4 KiB healthy in hugepage 0, then hugepage 1
    assert exc.value.errno == errno.EIO
    with pytest.raises(OSError) as exc:
        p.pread(fd, HPS, 0x10000)
    assert exc.value.errno == errno.EIO


@pytest.mark.parametrize("policy", POLICIES)
def test_pread_across_hugepages_short_at_poisoned_subpage_5(policy: str) -> None:
    k, p, fd, addr, content = three_hugepages(policy)
    start = HPS + PS  # just after the poisoned subpage 0 of hugepage 1
    data = p.pread(fd, 2 * HPS, start)
    assert len(data) == 0x204000  # rest of hugepage 1 + 5 subpages of hugepage 2
    assert data == content[start : start + 0x204000]


@pytest.mark.parametrize("policy", POLICIES)
def test_read_eio_leaves_position_short_read_advances(policy: str) -> None:
    k, p, fd, addr, content = three_hugepages(policy)
    assert p.lseek(fd, 0x1FF000) == 0x1FF000
    with pytest.raises(OSError) as exc:
        p.read(fd, 0x2000)
    assert exc.value.errno == errno.EIO
    assert tell(p, fd) == 0x1FF000  # docs/kernel.md R5.1: not advanced

    assert p.lseek(fd, 0x403000) == 0x403000
    assert p.read(fd, 8192) == content[0x403000:0x405000]
    assert tell(p, fd) == 0x405000
    with pytest.raises(OSError) as exc:
        p.read(fd, 8192)
    assert exc.value.errno == errno.EIO
    assert tell(p, fd) == 0x405000

    assert p.lseek(fd, 0x404000) == 0x404000
    assert p.read(fd, 0x2000) == content[0x404000:0x405000]  # a short read of 0x1000
    assert tell(p, fd) == 0x405000

    assert p.lseek(fd, 0x2000) == 0x2000
    assert p.read(fd, HPS) == content[0x2000:0x3000]  # short: stops at subpage 3
    assert tell(p, fd) == 0x3000


@pytest.mark.parametrize("policy", POLICIES)
def test_write_and_pwrite_are_einval(policy: str) -> None:
    k, p, fd, addr, content = three_hugepages(policy)
    trace_len = len(k.trace)
    for call in (lambda: p.write(fd, b"x" * 16), lambda: p.pwrite(fd, b"x" * 16, 0)):
        with pytest.raises(OSError) as exc:
            call()
        assert exc.value.errno == errno.EINVAL
    assert len(k.trace) == trace_len
    assert tell(p, fd) == 0
    assert p.pread(fd, PS, 0) == content[:PS]
