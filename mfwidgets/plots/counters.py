"""Counters panel: /proc/meminfo, the hstate pools and memory_failure stats as HTML tables,
with the tail of the kernel log and of the signals delivered.

Mirrors: /proc/meminfo (HardwareCorrupted, HugePages_*), /sys/kernel/mm/hugepages/
hugepages-<kB>kB/{nr,free,resv,surplus}_hugepages and /sys/devices/system/node/node0/
memory_failure/{total,ignored,failed,delayed,recovered}, plus dmesg.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from bokeh.models.widgets.markups import Div

from ..model import Snapshot
from .palette import apply_theme

TAIL = 12  # log and signal lines shown
KB_KEYS = ("HardwareCorrupted", "Hugepagesize", "Hugetlb")  # meminfo prints these in kB
HSTATE_FIELDS = ("nr_hugepages", "free_hugepages", "resv_hugepages", "surplus_hugepages")
HSTATE_KB = {"2M": 2048, "1G": 1048576}
NODE_MF = "/sys/devices/system/node/node0/memory_failure/"
_CSS = (
    "<style>.mfw-counters table{border-collapse:collapse;margin:0 16px 8px 0;"
    "display:inline-table;vertical-align:top;font-size:12px}"
    ".mfw-counters td,.mfw-counters th{padding:1px 8px;text-align:right}"
    ".mfw-counters th:first-child,.mfw-counters td:first-child{text-align:left}"
    ".mfw-counters caption{font-weight:bold;text-align:left}"
    ".mfw-counters pre{font-size:11px;margin:2px 0 8px 0;white-space:pre-wrap}</style>"
)


def _table(
    caption: str, header: Sequence[str], rows: Sequence[Sequence[object]], note: str = ""
) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    if note:
        body += (
            f'<tr><td colspan="{len(header)}" style="max-width:240px;white-space:normal;'
            f'text-align:left"><i>{escape(note)}</i></td></tr>'
        )
    return f"<table><caption>{escape(caption)}</caption><tr>{head}</tr>{body}</table>"


def _pre(caption: str, lines: Sequence[str]) -> str:
    text = "\n".join(escape(line) for line in lines[-TAIL:]) or "(none)"
    return f"<div><b>{escape(caption)}</b><pre>{text}</pre></div>"


def _default_size_note(snap: Snapshot) -> str:
    """meminfo's HugePages_* count only the default hugepage size: say so when another size
    has a pool, or a student reads HugePages_Total 0 beside a pool of 1 GiB pages."""
    default_kb = snap.meminfo.get("Hugepagesize")
    other = [
        s for s, c in snap.hstates.items() if HSTATE_KB.get(s) != default_kb and c.nr_hugepages
    ]
    if not other:
        return ""
    return (
        f"HugePages_* count only the default size ({default_kb} kB); the {', '.join(other)} "
        "pool is in /sys/kernel/mm/hugepages/."
    )


def counters_html(snap: Snapshot, dmesg: Sequence[str], signals: Sequence[str]) -> str:
    """The panel's HTML; every string from the model is escaped."""
    meminfo = [
        (key, f"{value} kB" if key in KB_KEYS else value) for key, value in snap.meminfo.items()
    ]
    hstates = [
        (f"hugepages-{HSTATE_KB.get(size, 0)}kB", *(getattr(c, f) for f in HSTATE_FIELDS))
        for size, c in snap.hstates.items()
    ]
    return (
        f'{_CSS}<div class="mfw-counters">'
        + _table("/proc/meminfo", ("key", "value"), meminfo, _default_size_note(snap))
        + _table(
            "/sys/kernel/mm/hugepages/",
            ("pool", "nr", "free", "resv", "surplus"),
            hstates,
        )
        + _table(NODE_MF, ("file", "count"), list(snap.mf_stats.items()))
        + _pre(f"dmesg (last {TAIL} lines)", dmesg)
        + _pre(f"signals delivered (last {TAIL})", signals)
        + "</div>"
    )


class CountersPanel:
    """A bokeh Div with the counters; ``update()`` rewrites it only when the text changed."""

    def __init__(
        self,
        snap: Snapshot | None = None,
        dmesg: Sequence[str] = (),
        signals: Sequence[str] = (),
        *,
        theme: str = "light",
        width: int = 800,
    ) -> None:
        self.div = Div(text="", width=width)
        self.set_theme(theme)
        if snap is not None:
            self.update(snap, list(dmesg), list(signals))

    def update(self, snap: Snapshot, dmesg: list[str], signals: list[str]) -> None:
        text = counters_html(snap, dmesg, signals)
        if self.div.text != text:
            self.div.text = text

    def set_theme(self, theme: str) -> None:
        """Restyle for "light" or "dark". Raises ValueError for another theme."""
        apply_theme(self.div, theme)
        self.theme = theme
