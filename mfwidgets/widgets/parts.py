"""Small widget parts every front end shares: the error banner, the counters, the step text,
the bytes view and the history navigator. ipywidgets only; no model logic."""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as w

from ..model import Snapshot
from ..plots.counters import counters_html
from ..plots.palette import theme_colors
from .session import Step

BANNER_STYLE = (
    "background:#fdecea;color:#611a15;border-left:4px solid #d32f2f;"
    "padding:6px 10px;font-family:monospace"
)


class ErrorBanner(w.HTML):  # type: ignore[misc]
    """A red line that shows an OSError as ``EINVAL: ...``; hidden when there is none."""

    def __init__(self) -> None:
        super().__init__(layout=w.Layout(display="none"))

    def show(self, message: str | None) -> None:
        if message:
            self.value = f'<div style="{BANNER_STYLE}">{html.escape(message)}</div>'
            self.layout.display = None
        else:
            self.value = ""
            self.layout.display = "none"


class CountersView(w.HTML):  # type: ignore[misc]
    """The counters panel (``plots.counters.counters_html``: meminfo, the pools, the
    memory_failure stats, the log and signal tails) as a plain HTML widget. Not a bokeh Div:
    a new Div text makes BokehJS lay out and repaint the whole document it is in, which cost
    every click of the Explorer 5 to 15 ms (benchmarks/bench_click.py)."""

    def __init__(self, snap: Snapshot, *, theme: str = "light", width: int = 800) -> None:
        super().__init__(layout=w.Layout(width=f"{width}px", max_width="100%"))
        self._html = self._sent = ""
        self.theme = theme
        self.update(snap, [], [])

    def update(self, snap: Snapshot, dmesg: list[str], signals: list[str]) -> None:
        """Show ``snap``'s counters and these log and signal lines; sends only a change."""
        self._html = counters_html(snap, dmesg, signals)
        self._show()

    def set_theme(self, theme: str) -> None:
        """Restyle for "light" or "dark". Raises ValueError for another theme."""
        theme_colors(theme)  # refuses an unknown theme before anything changes
        self.theme = theme
        self._show()

    def _show(self) -> None:
        colors = theme_colors(self.theme)
        style = f"background-color:{colors['background']};color:{colors['text']};padding:4px"
        value = f'<div style="{style}">{self._html}</div>'
        if value != self._sent:  # an unchanged panel sends nothing to the browser
            self._sent = value
            self.value = value


def counter_changes(before: Snapshot, after: Snapshot) -> list[str]:
    """The counters that moved, e.g. "HardwareCorrupted: 0 -> 4 kB"."""
    out = []
    for key, new in after.meminfo.items():
        old = before.meminfo[key]
        if old != new and key in ("HardwareCorrupted",):
            out.append(f"{key}: {old} -> {new} kB")
    for size, new_h in after.hstates.items():
        old_h = before.hstates[size]
        for field in ("nr_hugepages", "free_hugepages", "resv_hugepages", "surplus_hugepages"):
            a, b = getattr(old_h, field), getattr(new_h, field)
            if a != b:
                out.append(f"{size} {field}: {a} -> {b}")
    for field, new_v in after.mf_stats.items():
        if before.mf_stats[field] != new_v:
            out.append(f"memory_failure/{field}: {before.mf_stats[field]} -> {new_v}")
    return out


def step_html(step: Step, previous: Step | None, number: int, total: int) -> str:
    """The explanation of one step: the call, what happened and why, what changed."""
    # The heatmap's tooltips number events as the trace does (#17): name the step's range.
    seqs = [e.seq for e in step.events]
    span = (
        ""
        if not seqs
        else f" (events #{min(seqs)}" + (f"–#{max(seqs)})" if max(seqs) != min(seqs) else ")")
    )
    parts = [f"<b>Step {number} of {total}</b>{span}: <code>{html.escape(step.call)}</code>"]
    parts.append("<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in step.explanation) + "</ul>")
    changes = counter_changes(previous.snapshot, step.snapshot) if previous else []
    nr_cells = len(step.changed)
    if nr_cells or changes:
        what = (
            [f"{nr_cells} subpage{'s' if nr_cells != 1 else ''} changed state"] if nr_cells else []
        )
        parts.append("<i>What changed:</i> " + html.escape("; ".join(what + changes)))
    return "".join(parts)


def bytes_html(step: Step) -> str:
    """The bytes of the subpage the step touched, as a debugger would dump them."""
    a = step.action
    if a.folio is None:
        return ""
    title = f"hugepage #{a.folio}, subpage {a.subpage}, first 32 bytes:"
    if step.access is not None and not step.access.ok:
        # The load faulted: the process read nothing, so showing the frame's bytes would
        # suggest it did (under stock they are even intact, just unreachable).
        body = "(nothing read: this access raised SIGBUS)"
    elif step.peek is None:
        body = "(no data: the frame holds no guest data, or a hardware error destroyed it)"
    else:
        body = " ".join(f"{b:02x}" for b in step.peek)
    return f"<div style='font-family:monospace'>{html.escape(title)}<br>{body}</div>"


class HistoryNav(w.HBox):  # type: ignore[misc]
    """Back and forward through the steps; ``on_move(index)`` is called with the step shown."""

    def __init__(self, on_move: Callable[[int], None]) -> None:
        self._back = w.Button(description="< back", layout=w.Layout(width="80px"))
        self._forward = w.Button(description="forward >", layout=w.Layout(width="90px"))
        self._label = w.HTML()
        self.index = 0
        self.total = 1
        self._on_move = on_move
        self._back.on_click(lambda _: self.move(self.index - 1))
        self._forward.on_click(lambda _: self.move(self.index + 1))
        super().__init__([self._back, self._forward, self._label])
        self.set(0, 1)

    def set(self, index: int, total: int) -> None:
        self.index, self.total = index, total
        self._back.disabled = index <= 0
        self._forward.disabled = index >= total - 1
        self._label.value = f"&nbsp;showing step {index} of {total - 1}"

    def move(self, index: int) -> None:
        if 0 <= index < self.total:
            self.set(index, self.total)
            self._on_move(index)


BUTTON_STYLE = {"button_width": "auto", "description_width": "initial"}


def control_row(*children: w.Widget) -> w.HBox:
    """A row of controls that wraps instead of overflowing the output area."""
    return w.HBox(list(children), layout=w.Layout(flex_flow="row wrap", align_items="center"))
