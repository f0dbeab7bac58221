"""The predictions of notebook 03 Behaviour."""

from __future__ import annotations

from . import classify
from .prompt import Prompt

PROMPTS = (
    Prompt(
        key="03-cells",
        question=(
            "We poison subpage 37 of hugepage 0 in both guests with "
            "<code>madvise(MADV_HWPOISON)</code>. How many of the 512 cells of hugepage 0 "
            "change colour in each?"
        ),
        choices=(
            ("stock: all 512; keep: 1", (512, 1)),
            ("stock: 1; keep: 1", (1, 1)),
            ("stock: all 512; keep: all 512", (512, 512)),
            ("stock: 1; keep: all 512", (1, 512)),
        ),
        why=(
            "Stock turned the whole hugepage yellow: <i>offlined</i>. "
            "<code>memory_failure()</code> handled a hugepage of a memfd without the flag by "
            "unmapping all 2 MiB from every process. With the flag one cell turned pink: "
            "only that 4 KiB page is recorded as lost, and the hugepage stays mapped."
        ),
        classify=classify.cells_changed,
    ),
    Prompt(
        key="03-who",
        question=(
            "The VMM poisons subpage 3 of hugepage 0 on a stock memfd that three processes "
            "map. Which of them gets a SIGBUS <i>now</i>?"
        ),
        choices=(
            ("only the VMM", frozenset({"vmm"})),
            ("the VMM and the watcher (early kill)", frozenset({"vmm", "watcher"})),
            ("all three", frozenset({"vmm", "watcher", "bystander"})),
        ),
        why=(
            "The VMM caused it, so it gets <code>BUS_MCEERR_AR</code> (action required). "
            "The watcher asked for early kill, so it is told at once with "
            "<code>BUS_MCEERR_AO</code> (action optional). The bystander is told nothing "
            "until it touches the hugepage."
        ),
        classify=classify.names_with_signals,
    ),
    Prompt(
        key="03-read",
        question=(
            "Subpage 3 of the first hugepage is poisoned. What does <code>pread()</code> of "
            "the whole first hugepage (2 MiB from offset 0) return?"
        ),
        choices=(
            ("it fails with EIO", "nothing"),
            ("a short count: the pages before the poisoned one", "short"),
            ("all 2 MiB", "all"),
        ),
        why=(
            "A read copies page by page and stops at the poisoned 4 KiB page: it returns "
            "what it copied so far (3 pages). Only a read that <i>starts</i> in the poisoned "
            "page fails, with EIO."
        ),
        classify=classify.read_pages,
    ),
    Prompt(
        key="03-close",
        question=(
            "The VMM closes its fd; its mapping and its children's mappings remain. What "
            "happens to <code>nr_hugepages</code>?"
        ),
        choices=(
            ("it stays the same", "same"),
            ("it drops: the poisoned hugepage leaves the pool", "fewer"),
        ),
        why=(
            "<code>close()</code> drops a reference to the file, but the mappings still "
            "hold it: the memfd is not released, so nothing is freed, dissolved or leaked "
            "yet. Closed is not released."
        ),
        classify=classify.pool_change,
    ),
)
