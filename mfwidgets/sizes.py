"""Sizes in bytes as people write them: parse_size("2M") and format_size(1 << 30) == "1 GiB"
(binary units throughout). Re-exported by ``mfwidgets.teaching``.

Mirrors: nothing in the kernel.
"""

from __future__ import annotations

import re

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KMGTP]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_size(size: int | str) -> int:
    """A size in bytes from an int or a string such as "4K", "2 MiB", "1G" or "1 TiB" (binary
    units). Raises ValueError for anything else, TypeError for a bool or another type."""
    if isinstance(size, bool):
        raise TypeError("a size must be an int or a string such as '2M', not a bool")
    if isinstance(size, int):
        if size <= 0:
            raise ValueError(f"a size must be positive, not {size}")
        return size
    if not isinstance(size, str):
        raise TypeError(f"a size must be an int or a string such as '2M', not {size!r}")
    match = _SIZE_RE.match(size)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"{size!r} is not a size such as '4K', '2M', '1G' or '1 TiB'")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


def format_size(nbytes: int) -> str:
    """Bytes in the largest binary unit that divides them: 4096 -> "4 KiB", 3 << 30 ->
    "3 GiB", 1000 -> "1,000 bytes"."""
    for unit in ("P", "T", "G", "M", "K"):
        scale = _UNITS[unit]
        if nbytes and nbytes % scale == 0:
            return f"{nbytes // scale:,} {unit}iB"
    return f"{nbytes:,} bytes"
