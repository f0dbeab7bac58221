"""Consequence table: what one uncorrected error does, per hugepage state, read off the kernel
model by running tiny scenarios once per (policy, hugepage size).

Mirrors: docs/kernel.md E4, E5, E7 (first error), E9 (another error in a poisoned
hugepage), E11 (release: stock leaks, keep dissolves) and B.3, as mfwidgets.model implements
them. Nothing here is typed in by hand: each row is measured on a fresh Kernel, so the fleet
simulator and the model cannot drift apart (the event-level replay test checks it).

The state of the hugepage an error hits is one of STATES: ``clean`` (no error yet),
``other`` / ``same`` (already poisoned; the new error is on another / the same 4 KiB page),
``gone_other`` / ``gone_same`` (the VMM already punched this hugepage out of the guest at a
restart; the error hits memory the guest no longer uses). Crossed with the detection
(latent-then-consumed, or scrubbed), each row gives the SIGBUS the VMM receives (si_code and
si_addr_lsb, or none). The table is Markov by construction: test_consequences checks that the
row does not depend on how the earlier error was detected.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..model import FolioState, SigInfo
from .host import (
    HUGEPAGE_BYTES,
    STRANDED_STATES,
    backing_pfn,
    boot_host,
    deliver_ue,
    release_all,
    restart_vm,
)

STATES = ("clean", "other", "same", "gone_other", "gone_same")
DETECTS = ("latent", "scrub")
CLEAN, OTHER, SAME, GONE_OTHER, GONE_SAME = range(5)
# The scenario host: one VM of two hugepages, two spare hugepages; errors hit guest page 0.
_POOL, _VM = 4, (2,)
_FIRST_SUBPAGE, _OTHER_SUBPAGE = 1, 2


@dataclass(frozen=True)
class ConsequenceTable:
    """Per (state, detect): the SIGBUS the VMM gets; per hugepage: what the end state is.

    ``lsb[state, detect]``: si_addr_lsb of the SIGBUS (0: no signal).
    ``si_code[state, detect]``: BUS_MCEERR_AR (4) / BUS_MCEERR_AO (5), or 0.
    ``kept_state`` / ``punched_state``: the FolioState of a poisoned hugepage still in the guest,
    and of one a restart punched out, before release.
    ``release``: (dissolved, leaked) hugepages once the memfd of a poisoned, still-mapped
    hugepage is released; ``punch``: the same for a hugepage a restart punched out (measured
    after release too; the replacement hugepage comes back healthy).
    """

    policy: str
    size: str
    lsb: np.ndarray
    si_code: np.ndarray
    kept_state: FolioState
    punched_state: FolioState
    release: tuple[int, int]
    punch: tuple[int, int]

    @property
    def kept_strands(self) -> bool:
        return self.kept_state in STRANDED_STATES

    @property
    def punched_strands(self) -> bool:
        return self.punched_state in STRANDED_STATES

    def rows(self) -> list[dict[str, object]]:
        """The table as rows, ready for printing or a DataFrame."""
        return [
            {
                "policy": self.policy,
                "size": self.size,
                "state": s,
                "detect": d,
                "si_code": {0: "-", 4: "BUS_MCEERR_AR", 5: "BUS_MCEERR_AO"}[
                    int(self.si_code[i, j])
                ],
                "si_addr_lsb": int(self.lsb[i, j]) or None,
            }
            for i, s in enumerate(STATES)
            for j, d in enumerate(DETECTS)
        ]


def table_text(policy: str, size: str) -> str:
    """The table of ``consequence_table(policy, size)`` as aligned text."""
    t = consequence_table(policy, size)
    lines = [
        f"{policy}, {size} hugepages: the SIGBUS a VMM gets for one error",
        f"{'hugepage state':<16}{'latent, consumed':<32}{'scrubbed'}",
    ]
    for i, state in enumerate(STATES):
        cells = []
        for j in range(len(DETECTS)):
            code = {0: "no signal", 4: "BUS_MCEERR_AR", 5: "BUS_MCEERR_AO"}[int(t.si_code[i, j])]
            cells.append(code + (f" lsb={int(t.lsb[i, j])}" if t.lsb[i, j] else ""))
        lines.append(f"{state:<16}{cells[0]:<32}{cells[1]}")
    lines.append(
        f"poisoned hugepage before release: {t.kept_state.label}; at release: "
        f"{t.release[0]} dissolved, {t.release[1]} leaked"
    )
    return "\n".join(lines)


def _scenario(
    policy: str, size: str, state: str, detect: str, prior_scrub: bool
) -> tuple[list[SigInfo], FolioState, tuple[int, int]]:
    """Run one row: bring guest hugepage 0 into ``state``, then one error. Returns
    (signals, folio state of the hit hugepage before release, (dissolved, leaked))."""
    host = boot_host(size, _POOL, _VM, keep=policy == "keep")
    nr0 = host.counters()[0]
    pfn = backing_pfn(host, 0)
    if state != "clean":
        deliver_ue(host, 0, pfn, _FIRST_SUBPAGE, prior_scrub)
    if state.startswith("gone"):
        restart_vm(host, 0)
    subpage = _FIRST_SUBPAGE if state.endswith("same") else _OTHER_SUBPAGE
    signals = deliver_ue(host, 0, pfn, subpage, detect == "scrub")
    folio = host.kernel.folio_of_pfn(pfn)
    assert folio is not None
    before_release = folio.state
    release_all(host)
    nr, free = host.counters()
    return signals, before_release, (nr0 - nr, nr - free)


def derive_table(policy: str, size: str, prior_scrub: bool = False) -> ConsequenceTable:
    """Measure the table on the model. ``prior_scrub``: how the earlier error of a poisoned
    state was detected (the table must not depend on it). Raises RuntimeError if an error ever
    gives more than one SIGBUS (the vectorized simulator assumes at most one)."""
    if size not in HUGEPAGE_BYTES or policy not in ("stock", "keep"):
        raise ValueError(f"derive_table: bad policy/size {policy!r}/{size!r}")
    lsb = np.zeros((len(STATES), len(DETECTS)), dtype=np.int64)
    si_code = np.zeros_like(lsb)
    ends: dict[str, tuple[FolioState, tuple[int, int]]] = {}
    for i, state in enumerate(STATES):
        for j, detect in enumerate(DETECTS):
            signals, folio_state, counts = _scenario(policy, size, state, detect, prior_scrub)
            if len(signals) > 1:
                raise RuntimeError(f"{policy} {size} {state} {detect}: {signals}")
            if signals:
                lsb[i, j] = signals[0].si_addr_lsb
                si_code[i, j] = int(signals[0].si_code)
            if detect == "latent" and state in ("other", "gone_other"):
                ends[state] = (folio_state, counts)
    lsb.flags.writeable = si_code.flags.writeable = False
    return ConsequenceTable(
        policy=policy,
        size=size,
        lsb=lsb,
        si_code=si_code,
        kept_state=ends["other"][0],
        punched_state=ends["gone_other"][0],
        release=ends["other"][1],
        punch=ends["gone_other"][1],
    )


@functools.cache
def consequence_table(policy: str, size: str) -> ConsequenceTable:
    """The table for one policy ('stock' or 'keep') and hugepage size ('2M' or '1G'),
    measured once per process and cached."""
    return derive_table(policy, size)
