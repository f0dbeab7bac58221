"""The predictions of notebooks 06 Exploration and 07 Real kernels."""

from __future__ import annotations

from . import classify
from .prompt import Prompt

PROMPTS = (
    Prompt(
        key="06-second",
        question=(
            "Under stock Linux, a <i>second</i> error found by the scrubber in a 1 GiB "
            "hugepage that is already offlined: does the VMM get a signal?"
        ),
        choices=(
            ("yes: BUS_MCEERR_AO, an advance notice", "BUS_MCEERR_AO"),
            ("yes: BUS_MCEERR_AR", "BUS_MCEERR_AR"),
            ("no: nobody maps that hugepage any more", "no signal"),
        ),
        why=(
            "No: the hugepage is already hard-offlined and unmapped, so nobody maps it and "
            "nobody is told. Under keep (proposed) the same error is a new 4 KiB loss, and "
            "the early-kill VMM gets an AO SIGBUS with <code>lsb=12</code>."
        ),
        classify=classify.scrub_on_offlined,
    ),
    Prompt(
        key="06-fleet",
        question=(
            "10,000 hosts of 1 TiB in 1 GiB pages over 5 years: roughly how many VM "
            "interruptions under stock Linux, and under keep?"
        ),
        choices=(
            ("stock: tens; keep: none", (10, 0)),
            ("stock: hundreds; keep: none", (100, 0)),
            ("stock: thousands; keep: none", (1_000, 0)),
            ("stock: hundreds; keep: hundreds too", (100, 100)),
        ),
        why=(
            "With 1.3% of hosts seeing a fault per year, about 650 faults happen over "
            "50,000 host-years; about 550 land in guest memory (84% of each host is guest "
            "hugepages) and, with repeats, they make about 1,100 errors. Under stock each "
            "one costs a whole 1 GiB hugepage: the VM is interrupted, the data is lost, and "
            "the hugepage is leaked (it stays in <code>nr_hugepages</code> but is never "
            "free again). Under keep the same errors cost 4 KiB each: no interruption, a "
            "few MiB lost across the whole fleet, and each poisoned hugepage is dissolved "
            "at release (<code>nr_hugepages</code> −1, its healthy 4 KiB pages back to the "
            "allocator)."
        ),
        classify=classify.interruptions,
    ),
    Prompt(
        key="06-sweep",
        question=(
            "With 2 MiB pages instead of 1 GiB, does stock Linux interrupt fewer VMs, or "
            "lose less memory per interruption?"
        ),
        choices=(
            ("fewer interruptions, the same loss each", "fewer"),
            ("about as many interruptions, less memory each", "smaller"),
            ("both", "both"),
            ("neither", "neither"),
        ),
        why=(
            "The number of interruptions hardly depends on the hugepage size: each fault "
            "still takes down one hugepage, so one VM, under stock. What changes is the size "
            "of the loss: 2 MiB instead of 1 GiB per fault (the colour scale is "
            "logarithmic). Under keep nothing is interrupted at any rate; the loss is 4 KiB "
            "per error either way."
        ),
        classify=classify.smaller_pages,
    ),
    Prompt(
        key="07-match",
        question=(
            "The model was written from the 7.3 behaviour. Will every observable of 6.12 "
            "match? And of 6.1?"
        ),
        choices=(
            ("6.12 in full, 6.1 not", (True, False)),
            ("both match in full", (True, True)),
            ("neither in full", (False, False)),
        ),
        why=(
            "Both match in full: the model knows the differences of 6.1 and 6.12, and each "
            "recorded kernel is replayed on the model of its own version (the sentences "
            "under the table say which one). The check is only as strong as the scenarios "
            "recorded."
        ),
        classify=classify.all_match,
    ),
    Prompt(
        key="07-keep-c",
        question=(
            "Scenario <b>C</b> poisons one 4 KiB page of a keep hugepage, closes the memfd "
            "with the mapping still live, loads the poisoned page, unmaps, and finally looks "
            "for that page's frame in a brand-new process. On which steps will the model "
            "and the real v3 kernel disagree?"
        ),
        choices=(
            ("none", frozenset()),
            ("only the last: the search in a new process", frozenset({"poisoned_page_reused"})),
            ("the load of the poisoned page", frozenset({"load_poisoned"})),
            (
                "the close: the real kernel frees the hugepage there",
                frozenset({"close_mapped"}),
            ),
        ),
        why=(
            "Every step matches but the last: without the series' missing prerequisite the "
            "real kernel handed the poisoned page to a new process (the search returns 1); "
            "the model never does, and neither does the build with the stand-in."
        ),
        classify=classify.steps_differing,
    ),
)
