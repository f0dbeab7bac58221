"""What changed between the recorded real kernels, and where the model differs from them, in
groups a student can follow.

Mirrors: nothing in the kernel. It reads the committed recordings (``recorded_kernels()``,
``load_recording()``), replays their scenarios on the model (``model_runner.run_all``) and
compares observable by observable (``normalize.compare``). Results render as HTML in Jupyter
(``_repr_html_``) and as text elsewhere; no UI library is imported.

The groups are the changes docs/kernel.md R3 found between 6.1 and 6.12/7.3. They are a
dispatch table (``_RULES``) with a catch-all row, so a difference nobody has explained yet
lands in ``other`` instead of disappearing. Everything is computed from whatever recordings
exist, so a new kernel or a new scenario shows up without a code change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import check_views, known, load_recording, model_runner, recorded_kernels, views
from .normalize import OBSERVABLES, StepResult, compare
from .scenario import step_id
from .views import call


@dataclasses.dataclass(frozen=True)
class Group:
    """A kind of difference between two kernels: ``key`` for code, ``title`` for people."""

    key: str
    title: str


GROUPS: tuple[Group, ...] = (
    Group("caller_sigbus", "SIGBUS to the MADV_HWPOISON caller"),
    Group("si_addr", "si_addr precision"),
    Group("read", "read() of a poisoned hugepage"),
    Group("memfd_flags", "MFD_EXEC / MFD_NOEXEC_SEAL"),
    Group("free_hugepage", "Error in a free 1 GiB hugepage"),
    Group("dmesg_wording", "Kernel log wording"),
    Group("node_stats", "Node memory_failure statistics"),
    Group("other", "Anything else (not explained in docs/kernel.md R3)"),
)
_TITLES = {g.key: g.title for g in GROUPS}

Rule = Callable[[str, str, StepResult, StepResult], bool]  # (op, observable, old, new)


def _without_sending(lines: Sequence[str]) -> list[str]:
    return [x for x in lines if "Sending SIGBUS" not in x]


def _caller_signal(op: str, obs: str, a: StepResult, b: StepResult) -> bool:
    return obs == "signals" and op == "madvise_hwpoison"


def _sending_line_only(op: str, obs: str, a: StepResult, b: StepResult) -> bool:
    """The injector's new SIGBUS, as the kernel log announces it."""
    if obs != "dmesg" or op != "madvise_hwpoison":
        return False
    return _without_sending(a["dmesg"]) == _without_sending(b["dmesg"])


def _free_hugepage(op: str, obs: str, a: StepResult, b: StepResult) -> bool:
    lines = [*a["dmesg"], *b["dmesg"]]
    return obs in ("ret", "dmesg") and any("free huge page" in x for x in lines)


def _signal_address(op: str, obs: str, a: StepResult, b: StepResult) -> bool:
    return obs == "signals" and bool(a["signals"]) and bool(b["signals"])


def _node_stats_only(op: str, obs: str, a: StepResult, b: StepResult) -> bool:
    if obs != "counters":
        return False
    old, new = a["counters"], b["counters"]
    return all(k.startswith("mf.") for k in set(old) | set(new) if old.get(k) != new.get(k))


#: First matching row wins; the last row catches everything.
_RULES: tuple[tuple[Rule, str], ...] = (
    (_caller_signal, "caller_sigbus"),
    (_sending_line_only, "caller_sigbus"),
    (_free_hugepage, "free_hugepage"),
    (_signal_address, "si_addr"),
    # an lseek() after a read reports the file position that read left behind
    (lambda op, obs, a, b: op in ("pread", "read", "lseek"), "read"),
    (lambda op, obs, a, b: op in ("memfd_create", "memfd_probe"), "memfd_flags"),
    (_node_stats_only, "node_stats"),
    (lambda op, obs, a, b: obs == "dmesg", "dmesg_wording"),
    (lambda op, obs, a, b: True, "other"),
)


def classify(op: str, observable: str, old: StepResult, new: StepResult) -> str:
    """The group key of a difference in ``observable`` between two results of step ``op``."""
    return next(key for rule, key in _RULES if rule(op, observable, old, new))


# -- real kernel against real kernel -----------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Difference:
    """One observable of one scenario step whose value differs between two results: ``old``
    and ``new`` are two kernels (older first), or a real kernel and the model."""

    scenario: str
    step: str
    call: str
    op: str
    observable: str
    old: Any
    new: Any
    group: str


@dataclasses.dataclass(frozen=True)
class KernelPair:
    """Two recorded kernels compared: every observable of every step both ran alike."""

    old: str
    new: str
    old_release: str | None
    new_release: str | None
    compared: int
    differences: tuple[Difference, ...]
    notes: tuple[str, ...]


Aligned = tuple[str, Mapping[str, Any], StepResult, StepResult]


def _align(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[list[Aligned], list[str]]:
    """The steps two recordings both ran in the same state: scenario by scenario, the steps up
    to the first one whose definition differs (after that the state may differ too)."""
    old_defs = {sc["name"]: sc for sc in old["scenario_defs"]}
    new_defs = {sc["name"]: sc for sc in new["scenario_defs"]}
    old_k, new_k = old.get("kernel", "old"), new.get("kernel", "new")
    steps: list[Aligned] = []
    notes = []
    for name in [*old_defs, *(n for n in new_defs if n not in old_defs)]:
        if name not in old["scenarios"] or name not in new["scenarios"]:
            only = old_k if name in old["scenarios"] else new_k
            notes.append(f"scenario {name}: recorded on {only} only")
            continue
        a_defs, b_defs = old_defs[name]["steps"], new_defs[name]["steps"]
        same_size = old_defs[name].get("hugepagesize", "2M") == new_defs[name].get(
            "hugepagesize", "2M"
        )
        n = 0
        while same_size and n < min(len(a_defs), len(b_defs)) and a_defs[n] == b_defs[n]:
            n += 1
        if n < max(len(a_defs), len(b_defs)):
            notes.append(
                f"scenario {name}: the two recordings ran different steps from step {n} on; "
                f"compared steps 0 to {n - 1}"
            )
        a_res, b_res = old["scenarios"][name], new["scenarios"][name]
        steps += [(name, a_defs[i], a_res[i], b_res[i]) for i in range(n)]
    return steps, notes


def diff_recordings(old: Mapping[str, Any], new: Mapping[str, Any]) -> KernelPair:
    """Every observable that differs between two recordings (``load_recording()`` dicts)."""
    steps, notes = _align(old, new)
    diffs = []
    for name, step, a, b in steps:
        for obs in OBSERVABLES:
            if a.get(obs) != b.get(obs):
                group = classify(step["op"], obs, a, b)
                diffs.append(
                    Difference(name, a["id"], call(step), step["op"], obs, a[obs], b[obs], group)
                )
    return KernelPair(
        old.get("kernel", "old"),
        new.get("kernel", "new"),
        old.get("release"),
        new.get("release"),
        len(steps) * len(OBSERVABLES),
        tuple(diffs),
        tuple(notes),
    )


@dataclasses.dataclass(frozen=True)
class Changes:
    """How behaviour changed from each recorded kernel to the next one."""

    kernels: tuple[str, ...]
    pairs: tuple[KernelPair, ...]

    def differences(self, group: str | None = None) -> list[tuple[KernelPair, Difference]]:
        """Every difference (of ``group``, if given), oldest pair first."""
        if group is not None and group not in _TITLES:
            raise ValueError(f"no group {group!r}; choose one of {', '.join(_TITLES)}")
        return [(p, d) for p in self.pairs for d in p.differences if group in (None, d.group)]

    def evidence(self, group: str) -> views.Rendered:
        """The differences of one group, both values side by side."""
        return views.evidence(self, group, _TITLES.get(group, group))

    def overview(self) -> views.Rendered:
        """Per pair of consecutive kernels: how many observables differ, group by group."""
        return views.overview(self, GROUPS, [k for k in known.VERSIONS if k not in self.kernels])

    def _repr_html_(self) -> str:
        return self.overview().html

    def __repr__(self) -> str:
        return self.overview().text


def version_changes(kernels: Sequence[str] | None = None) -> Changes:
    """Each recorded kernel against the next (``recorded_kernels()`` order, oldest first)."""
    names = tuple(recorded_kernels() if kernels is None else kernels)
    recs = [load_recording(k) for k in names]
    pairs = zip(recs, recs[1:], strict=False)
    return Changes(names, tuple(diff_recordings(a, b) for a, b in pairs))


# -- real kernel against the model ---------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Mismatch:
    """A real result the model did not reproduce. ``explained_by``: a recorded kernel that the
    model has, whose real result is the model's, when the model lacks ``kernel`` itself (so the
    kernel changed there, and the model follows the newer one); else None."""

    kernel: str
    model_version: str
    difference: Difference
    explained_by: str | None


@dataclasses.dataclass(frozen=True)
class KernelCheck:
    """One recorded kernel replayed on the model: counts per scenario, and what differs."""

    kernel: str
    release: str | None
    model_version: str
    counts: dict[str, tuple[int, int]]  # scenario -> (observables matched, compared)
    mismatches: tuple[Mismatch, ...]

    @property
    def matched(self) -> int:
        return sum(m for m, _ in self.counts.values())

    @property
    def total(self) -> int:
        return sum(t for _, t in self.counts.values())


def _explainer(
    kernel: str, rec: Mapping[str, Any], others: Mapping[str, Mapping[str, Any]]
) -> Callable[[str, str, str, Any], str | None]:
    """explain(scenario, step id, observable, model value) -> a recorded kernel that the model
    has, whose real value differs from ``kernel``'s and equals the model's; or None. Only for a
    kernel the model lacks. The model's own version is tried first, then the newest."""
    if known.model_version(kernel) == kernel:
        return lambda *_: None
    mine = known.model_version(kernel)
    order = sorted(
        (k for k in others if k != kernel and k in known.VERSIONS),
        key=lambda k: (k != mine, [-int(x) for x in k.split(".")]),
    )
    real_there: dict[tuple[str, str, str], list[tuple[str, Any]]] = {}
    for other in order:
        for name, _, a, b in _align(rec, others[other])[0]:
            for obs in OBSERVABLES:
                if a.get(obs) != b.get(obs):
                    real_there.setdefault((name, a["id"], obs), []).append((other, b.get(obs)))

    def explain(scenario: str, step: str, obs: str, model_value: Any) -> str | None:
        for other, value in real_there.get((scenario, step, obs), []):
            if value == model_value:
                return other
        return None

    return explain


def _keep(kernel: str) -> bool:
    """Whether ``kernel`` was built with the keep series (then the model carries it too)."""
    return kernel in known.PATCHED_KERNELS


def check_kernel(kernel: str, others: Mapping[str, Mapping[str, Any]] | None = None) -> KernelCheck:
    """Replay ``kernel``'s recording on the model and compare. ``others``: recordings of other
    kernels, to explain the differences (default: all recorded)."""
    rec = load_recording(kernel)
    if others is None:
        others = {k: load_recording(k) for k in recorded_kernels() if k != kernel}
    version = known.model_version(kernel)
    model = model_runner.run_all(rec["scenario_defs"], version, _keep(kernel))
    defs = {
        sc["name"]: {step_id(st, i): st for i, st in enumerate(sc["steps"])}
        for sc in rec["scenario_defs"]
    }
    real_steps = {name: {r["id"]: r for r in steps} for name, steps in rec["scenarios"].items()}
    model_steps = {name: {r["id"]: r for r in steps} for name, steps in model.items()}
    explain = _explainer(kernel, rec, others)
    counts: dict[str, tuple[int, int]] = {}
    mismatches = []
    for row in compare(rec["scenarios"], model):
        name, sid, obs = row["scenario"], row["step"], row["observable"]
        m, t = counts.get(name, (0, 0))
        counts[name] = (m + row["match"], t + 1)
        if row["match"]:
            continue
        step = defs[name][sid]
        a, b = real_steps[name][sid], model_steps.get(name, {}).get(sid, {})
        group = classify(step["op"], obs, a, b) if b else "other"
        diff = Difference(name, sid, call(step), step["op"], obs, row["real"], row["model"], group)
        mismatches.append(Mismatch(kernel, version, diff, explain(name, sid, obs, row["model"])))
    return KernelCheck(kernel, rec.get("release"), version, counts, tuple(mismatches))


@dataclasses.dataclass(frozen=True)
class Conformance:
    """Every recorded kernel replayed on the model."""

    checks: tuple[KernelCheck, ...]

    about: dict[str, str]  # scenario -> "2M, 24 steps"

    @property
    def scenarios(self) -> list[str]:
        """Every scenario name, in the order the recordings list them."""
        return list(dict.fromkeys(name for c in self.checks for name in c.counts))

    def mismatches(self) -> views.Rendered:
        """Every observable the model did not reproduce, real and model values side by side."""
        return check_views.mismatches(self, _TITLES)

    def _repr_html_(self) -> str:
        return check_views.counts(self).html

    def __repr__(self) -> str:
        return check_views.counts(self).text


def conformance(kernels: Sequence[str] | None = None) -> Conformance:
    """``check_kernel()`` for each kernel (default: every recorded one), oldest first."""
    names = list(recorded_kernels() if kernels is None else kernels)
    recs = {k: load_recording(k) for k in dict.fromkeys([*recorded_kernels(), *names])}
    about = {
        sc["name"]: f"{sc.get('hugepagesize', '2M')}, {len(sc['steps'])} steps"
        for k in reversed(names)
        for sc in recs[k]["scenario_defs"]
    }
    checks = tuple(check_kernel(k, {o: r for o, r in recs.items() if o != k}) for k in names)
    return Conformance(checks, about)


def side_by_side(kernel: str, scenario: str) -> views.Rendered:
    """One recorded scenario, step by step: what the real kernel did, and what the model did.

    Raises ValueError for a kernel without a recording or a scenario it did not run."""
    rec = load_recording(kernel)
    defs = {sc["name"]: sc for sc in rec["scenario_defs"]}
    if scenario not in defs or scenario not in rec["scenarios"]:
        raise ValueError(
            f"kernel {kernel} has no recording of scenario {scenario!r}; "
            f"choose one of {', '.join(rec['scenarios'])}"
        )
    check = check_kernel(kernel)
    model = model_runner.run_scenario(defs[scenario], check.model_version, keep=_keep(kernel))
    explained = {
        (m.difference.step, m.difference.observable): m.explained_by
        for m in check.mismatches
        if m.difference.scenario == scenario
    }
    return check_views.steps(check, defs[scenario], rec["scenarios"][scenario], model, explained)
