"""FleetParams: every input of the fleet Monte Carlo, declared once with bounds, units, a
description and its source; checked when the object is made.

Mirrors: nothing in the kernel. Each field is declared once with mfwidgets.params (doc,
bounds or choices, soft bounds and step for its slider, unit and source), so the validator,
the controls and the docs (``describe()``) all read this one declaration.

Sources of the default rates (cited in each field's ``source``):

- [SPW09] B. Schroeder, E. Pinheiro, W.-D. Weber, "DRAM errors in the wild: a large-scale field
  study", SIGMETRICS 2009: about 1.3% of machines see an uncorrectable error per year, 2-4% on
  some platforms; errors are dominated by hard (repeating) faults.
- [SRI15] V. Sridharan et al., "Memory errors in modern systems: the good, the bad, and the
  ugly", ASPLOS 2015: faults, not errors, are the unit; one row, column or bank fault produces
  many errors at many addresses ("counting errors instead of faults ... can lead to incorrect
  conclusions").
- [MEZA15] J. Meza, Q. Wu, S. Kumar, O. Mutlu, "Revisiting memory errors in large-scale
  production data centers", DSN 2015: errors per server follow a power law (Pareto, decreasing
  hazard rate; the mean exceeds the median about 55x): a server that had errors is likely to
  have more.
- [QEMU] QEMU util/main-loop.c, qemu_init_sigbus(): prctl(PR_MCE_KILL, PR_MCE_KILL_SET,
  PR_MCE_KILL_EARLY): a VMM asks for early kill, so a scrubbed error reaches it as an AO SIGBUS.
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
from typing import Any

from ..model import SyscallError, errno
from ..params import declared, param, violations

HUGEPAGE_SIZES = {"2M": 1 << 21, "1G": 1 << 30}
POLICIES = ("stock", "keep")
REACTIONS = ("inject_mce", "restart")
GIB = 1 << 30


@dataclasses.dataclass(frozen=True)
class FleetParams:
    """The inputs of one fleet simulation. Raises SyscallError(EINVAL) naming the parameter and
    its allowed range for any bad value (validation at construction)."""

    # soft_bounds: the slider's range, kept small enough for a rerun on every change
    hosts: int = param(
        10_000,
        "Hosts in the fleet.",
        bounds=(1, 10_000_000),
        soft_bounds=(1, 100_000),
        step=1000,
        unit="hosts",
    )
    years: float = param(
        5.0, "Length of the simulated period.", bounds=(0.01, 30.0), step=0.5, unit="years"
    )
    memory_per_host_gib: int = param(
        1024,
        "DRAM per host, all of it in the hugepage pool "
        "(SIMPLIFICATION: the host kernel's own memory is not "
        "modelled).",
        bounds=(1, 16384),
        soft_bounds=(1, 4096),
        step=64,
        unit="GiB",
    )
    hugepage_size: str = param(
        "1G",
        "Hugepage size backing guest memory (MFD_HUGE_2MB or MFD_HUGE_1GB).",
        choices=("2M", "1G"),
    )
    vm_mix: tuple[tuple[int, float], ...] = param(
        ((8, 0.25), (32, 0.35), (128, 0.30)),
        "VM size mix: (VM size in GiB, share of host memory) pairs; each host runs "
        "floor(share * memory / size) VMs of each size; the rest of the pool is spare hugepages "
        "(used to replace a hugepage when a VM restarts).",
        unit="(GiB, fraction)",
    )
    ue_host_fraction_per_year: float = param(
        0.013,
        "Fraction of hosts that see at least one uncorrected error (a new DRAM fault) in "
        "a year. Faults arrive as a Poisson process of rate -ln(1 - fraction) per host-year.",
        bounds=(0.0, 0.5),
        step=0.001,
        unit="1/host-year",
        source="[SPW09] 1.3% of machines per year; 2-4% on some platforms",
    )
    repeat_probability: float = param(
        0.5,
        "Clustering: after each error of a fault, the probability of one more error from "
        "the same fault (a geometric number of repeats, capped at MAX_ERRORS_PER_FAULT). Repeats "
        "hit another random 4 KiB page of the same hugepage (a row or column fault). 0 turns "
        "clustering off. The default is an assumption, not a measured value.",
        bounds=(0.0, 0.95),
        step=0.05,
        unit="probability",
        source="[SRI15] faults repeat at many addresses; [MEZA15] power-law errors per server; "
        "[SPW09] hard errors dominate",
    )
    scrub_fraction: float = param(
        0.5,
        "Fraction of errors the patrol scrubber finds first (action optional, an AO "
        "SIGBUS to the early-kill VMM); the rest are latent until a guest load consumes them "
        "(action required, AR). An assumption.",
        bounds=(0.0, 1.0),
        step=0.05,
        unit="probability",
        source="[QEMU] the VMM is early-kill",
    )
    on_lsb_12: str = param(
        "inject_mce",
        "VMM reaction to a SIGBUS with si_addr_lsb 12 (4 KiB "
        "lost): inject a virtual MCE (the VM continues) or restart the VM.",
        choices=REACTIONS,
    )
    on_lsb_21: str = param(
        "restart", "VMM reaction to si_addr_lsb 21 (a 2 MiB hugepage lost).", choices=REACTIONS
    )
    on_lsb_30: str = param(
        "restart", "VMM reaction to si_addr_lsb 30 (a 1 GiB hugepage lost).", choices=REACTIONS
    )
    policies: tuple[str, ...] = param(
        POLICIES,
        "Policies to simulate on the same draws: "
        "'stock' (hard offline) and 'keep' (PROPOSED "
        "MFD_MF_KEEP_UE_MAPPED).",
        choices=POLICIES,
        many=True,
    )
    replicas: int = param(
        100,
        "Independent replicas of the whole fleet (for the distributions and intervals).",
        bounds=(1, 1_000_000),
        soft_bounds=(1, 500),
        step=10,
        unit="replicas",
    )
    seed: int = param(
        0, "Seed of numpy.random.SeedSequence; replica i uses child i.", bounds=(0, 2**63 - 1)
    )

    def __post_init__(self) -> None:
        for v in violations(self):
            _bad(v.name, v.value, _RULES[v.rule](v.param, v.integer))
        hps = HUGEPAGE_SIZES[self.hugepage_size]
        total = 0.0
        for pair in self.vm_mix:
            if not (isinstance(pair, tuple) and len(pair) == 2):
                _bad("vm_mix", pair, "each entry must be a (size GiB, share) pair")
            size, share = pair
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                _bad("vm_mix", pair, "VM size must be an int >= 1 GiB")
            if (size * GIB) % hps:
                _bad("vm_mix", pair, f"VM size must be a multiple of {self.hugepage_size}")
            if not isinstance(share, (int, float)) or not 0.0 <= share <= 1.0:
                _bad("vm_mix", pair, "share must be in 0..1")
            total += share
        if total > 1.0 + 1e-9:
            _bad("vm_mix", self.vm_mix, f"shares add up to {total:g} > 1")
        if not self.vm_counts() or sum(self.vm_counts()) == 0:
            _bad("vm_mix", self.vm_mix, f"no VM fits in {self.memory_per_host_gib} GiB")

    # -- derived layout, the same on every host --
    @property
    def hugepage_bytes(self) -> int:
        return HUGEPAGE_SIZES[self.hugepage_size]

    @property
    def nr_pages(self) -> int:
        """4 KiB subpages per hugepage."""
        return self.hugepage_bytes >> 12

    @property
    def host_hugepages(self) -> int:
        return self.memory_per_host_gib * GIB // self.hugepage_bytes

    def vm_counts(self) -> tuple[int, ...]:
        return tuple(int(share * self.memory_per_host_gib // size) for size, share in self.vm_mix)

    def vm_hugepages(self) -> tuple[int, ...]:
        """Hugepages of each VM on a host, in VM order (sizes in vm_mix order)."""
        out: list[int] = []
        for (size, _), count in zip(self.vm_mix, self.vm_counts(), strict=True):
            out += [size * GIB // self.hugepage_bytes] * count
        return tuple(out)

    @property
    def guest_hugepages(self) -> int:
        return sum(self.vm_hugepages())

    @property
    def guest_share(self) -> float:
        return self.guest_hugepages / self.host_hugepages

    @property
    def fault_rate(self) -> float:
        """Faults per host-year: P(at least one in a year) = ue_host_fraction_per_year."""
        return -math.log1p(-self.ue_host_fraction_per_year)

    def reaction(self, lsb: int) -> str:
        return {12: self.on_lsb_12, 21: self.on_lsb_21, 30: self.on_lsb_30}[lsb]

    def replace(self, **changes: Any) -> FleetParams:
        return dataclasses.replace(self, **changes)


def _bad(name: str, value: object, rule: str) -> None:
    raise SyscallError(errno.EINVAL, "FleetParams", f"{name}={value!r}: {rule}")


_RULES = {
    "choice": lambda p, integer: (
        f"must be a non-empty tuple of {p.choices}" if p.many else f"must be one of {p.choices}"
    ),
    "type": lambda p, integer: f"must be {'an int' if integer else 'a number'}",
    "range": lambda p, integer: f"must be in {p.bounds[0]:g}..{p.bounds[1]:g}",
}


def describe() -> list[dict[str, Any]]:
    """One row per parameter: name, default, doc, bounds, choices, unit, source."""
    return [
        {
            "name": f.name,
            "default": f.default,
            **{key: getattr(p, key) for key in ("doc", "bounds", "choices", "unit", "source")},
        }
        for f, p in declared(FleetParams)
    ]


def sources_text() -> str:
    """The cited sources, then every parameter's default, unit and source (for a notebook)."""
    assert __doc__ is not None
    refs = __doc__.split("Sources of the default rates (cited in each field's ``source``):")[1]
    # Wrapped here at 88 columns: a notebook breaks an over-long output line mid-word.
    items = [" ".join(part.split()) for part in refs.split("\n- ")[1:]]
    lines = [textwrap.fill(item, 88, initial_indent="- ", subsequent_indent="  ") for item in items]
    lines.append("")
    for r in describe():
        line = f"{r['name']} = {r['default']!r} {r['unit']}"
        if r["source"]:
            line += f" (source: {r['source']})"
        lines.append(textwrap.fill(line, 88, subsequent_indent="    "))
    return "\n".join(lines)


def check(**changes: Any) -> str:
    """ "ok", or the EINVAL message FleetParams(**changes) would raise (for notebooks, where a
    traceback would hide the lesson)."""
    try:
        FleetParams(**changes)
    except SyscallError as exc:
        return str(exc)
    return "ok"
