"""The memfd page cache and the references that keep a memfd alive.

Mirrors: filemap_add_folio / filemap_remove_folio for hugetlbfs, and the inode reference whose
last put evicts it (hugetlbfs_evict_inode(), docs/kernel.md E11).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import hugetlbfs
from .folio import HugetlbFolio
from .memfd import Memfd
from .trace import EventKind

if TYPE_CHECKING:
    from .kernel import Kernel


def add_to_pagecache(k: Kernel, memfd: Memfd, index: int, folio: HugetlbFolio) -> None:
    memfd.pagecache[index] = folio
    folio.mapping, folio.index = memfd, index


def remove_from_pagecache(k: Kernel, folio: HugetlbFolio) -> None:
    assert folio.mapping is not None and folio.index is not None
    del folio.mapping.pagecache[folio.index]
    folio.mapping = folio.index = None


def get_memfd(k: Kernel, memfd: Memfd) -> None:
    memfd.refs += 1


def put_memfd(k: Kernel, memfd: Memfd) -> None:
    """Drop a reference; the last one releases the memfd (hugetlbfs_evict_inode(), E11)."""
    memfd.refs -= 1
    if memfd.refs == 0:
        memfd.released = True
        k.emit(EventKind.RELEASE, text=f"memfd:{memfd.name} released")
        hugetlbfs.remove_inode_hugepages(k, memfd, 0, hugetlbfs.END_OF_FILE)
