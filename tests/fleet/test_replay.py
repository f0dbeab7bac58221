"""One truth: a small fleet replayed error by error through mfwidgets.model Kernels gives
exactly the per-host outcomes of the vectorized simulator on the same draws."""

from __future__ import annotations

import numpy as np
import pytest

from mfwidgets.fleet import FleetParams, consequence_table, draw, replay, simulate_hosts

SMALL = {
    # 16 GiB hosts of 1 GiB pages: 8 guest hugepages, so faults often share a hugepage
    "1G": {"memory_per_host_gib": 16, "vm_mix": ((4, 0.25), (2, 0.25))},
    "2M": {"memory_per_host_gib": 2, "vm_mix": ((1, 0.5),)},
}
REACTIONS = {
    "default": {},
    "inject_all": {"on_lsb_21": "inject_mce", "on_lsb_30": "inject_mce"},
    "restart_all": {"on_lsb_12": "restart"},
}


@pytest.mark.parametrize("reaction", REACTIONS)
@pytest.mark.parametrize("size", ["1G", "2M"])
def test_event_level_replay_equals_vectorized_exactly(size: str, reaction: str) -> None:
    params = FleetParams(
        hosts=12,
        years=5,
        hugepage_size=size,
        ue_host_fraction_per_year=0.25,
        repeat_probability=0.8,
        scrub_fraction=0.5,
        **SMALL[size],
        **REACTIONS[reaction],
    )
    for seed in range(1 if size == "2M" else 4):
        draws = draw(params, np.random.default_rng(seed))
        assert draws.nr_errors > 20
        for policy in params.policies:
            fast = simulate_hosts(params, draws, consequence_table(policy, size))
            assert fast.values["hosts_out_of_spare"].sum() == 0
            slow = replay(params, policy, draws)
            assert {k: v.tolist() for k, v in slow.values.items()} == {
                k: v.tolist() for k, v in fast.values.items()
            }


def test_default_reactions_stock_restarts_keep_never_does() -> None:
    params = FleetParams(hosts=12, years=5, ue_host_fraction_per_year=0.25, **SMALL["1G"])
    draws = draw(params, np.random.default_rng(7))
    stock = simulate_hosts(params, draws, consequence_table("stock", "1G")).totals()
    keep = simulate_hosts(params, draws, consequence_table("keep", "1G")).totals()
    assert stock["vm_interruptions"] > 0 and keep["vm_interruptions"] == 0
    assert stock["hugepages_leaked"] == stock["vm_interruptions"] and keep["hugepages_leaked"] == 0
    assert keep["guest_lost_bytes"] == 4096 * keep["sigbus"]
