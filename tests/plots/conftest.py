"""Kernels the plot tests draw: small, explicit scenarios (no randomness)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import mfwidgets as mf


@dataclass
class Guest:
    """A process with one hugetlb memfd, sized, mapped and filled."""

    k: mf.Kernel
    p: mf.Process
    fd: int
    addr: int

    def poison(self, subpage: int) -> None:
        assert (
            self.p.madvise(self.addr + subpage * mf.PAGE_SIZE, mf.PAGE_SIZE, mf.MADV_HWPOISON) == 0
        )


def make_guest(k: mf.Kernel, size: str, *, keep: bool, name: str = "guest", nr: int = 1) -> Guest:
    huge = {"2M": (mf.MFD_HUGE_2MB, mf.SZ_2M), "1G": (mf.MFD_HUGE_1GB, mf.SZ_1G)}
    flag, length = huge[size]
    p = k.spawn(name, handle_sigbus=True)
    flags = mf.MFD_HUGETLB | flag | (mf.MFD_MF_KEEP_UE_MAPPED if keep else 0)
    fd = p.memfd_create(name, flags)
    p.ftruncate(fd, nr * length)
    addr = p.mmap(nr * length, mf.PROT_READ | mf.PROT_WRITE, mf.MAP_SHARED, fd, 0)
    assert p.fill(addr, nr * length, 0xAB).ok
    return Guest(k, p, fd, addr)


@pytest.fixture
def mixed() -> Guest:
    """Kernel(hugepages={"2M": 2, "1G": 1}): #0 is the 1 GiB page (free), #1 a 2 MiB page in a
    keep memfd with MADV_HWPOISON on subpage 37 and a latent hardware error on subpage 5,
    #2 a free 2 MiB page."""
    k = mf.Kernel(hugepages={"2M": 2, "1G": 1})
    g = make_guest(k, "2M", keep=True)
    g.poison(37)
    k.hw_ue(k.snapshot().folios[1].pfn + 5)
    return g


@pytest.fixture
def gig() -> Guest:
    """One 1 GiB hugepage (#0) in a keep memfd, mapped and filled."""
    return make_guest(mf.Kernel(hugepages={"1G": 1}), "1G", keep=True)
