"""The counters of an hstate, as sysfs shows them (the pool itself: pool.HstatePool).

Mirrors: struct hstate in include/linux/hugetlb.h; the sysfs files
/sys/kernel/mm/hugepages/hugepages-<kB>kB/{nr,free,resv,surplus}_hugepages.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class HstateCounters:
    """The four pool counters of one hugepage size, as sysfs shows them."""

    nr_hugepages: int
    free_hugepages: int
    resv_hugepages: int
    surplus_hugepages: int
