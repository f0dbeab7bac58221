"""FleetParams: every parameter is checked when set, with an EINVAL naming it and the rule."""

from __future__ import annotations

import pytest

from mfwidgets.fleet import FleetParams, describe
from mfwidgets.model import SyscallError, errno


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"hosts": 0}, "hosts=0: must be in 1..1e+07"),
        ({"hosts": 2.5}, "hosts=2.5: must be an int"),
        ({"years": -1.0}, "years=-1.0: must be in"),
        ({"hugepage_size": "4K"}, "hugepage_size='4K': must be one of"),
        ({"ue_host_fraction_per_year": 0.9}, "ue_host_fraction_per_year=0.9"),
        ({"repeat_probability": 1.0}, "repeat_probability=1.0"),
        ({"scrub_fraction": float("nan")}, "scrub_fraction=nan"),
        ({"on_lsb_30": "ignore"}, "on_lsb_30='ignore': must be one of"),
        ({"policies": ("stock", "magic")}, "policies="),
        ({"vm_mix": ((8, 0.7), (8, 0.7))}, "shares add up to 1.4 > 1"),
        ({"vm_mix": ((2048, 0.5),)}, "no VM fits in 1024 GiB"),
        ({"vm_mix": ((0, 0.5),)}, "VM size must be an int >= 1 GiB"),
        ({"replicas": True}, "replicas=True: must be an int"),
    ],
)
def test_bad_value_raises_einval_naming_parameter_and_rule(changes: dict, needle: str) -> None:
    with pytest.raises(SyscallError) as exc:
        FleetParams(**changes)
    assert exc.value.errno == errno.EINVAL
    assert needle in str(exc.value)


def test_defaults_describe_a_1tib_1gib_host_and_cite_the_rate() -> None:
    p = FleetParams()
    assert (p.hosts, p.years, p.memory_per_host_gib, p.hugepage_size) == (10_000, 5.0, 1024, "1G")
    assert p.host_hugepages == 1024
    assert p.vm_counts() == (32, 11, 2) and p.guest_hugepages == 864
    assert abs(1 - pow(2.718281828459045, -p.fault_rate) - 0.013) < 1e-12
    rows = {r["name"]: r for r in describe()}
    assert "[SPW09]" in rows["ue_host_fraction_per_year"]["source"]
    assert all(r["doc"] for r in rows.values())
    assert rows["hosts"]["bounds"] == (1, 10_000_000)
