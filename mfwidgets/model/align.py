"""ALIGN and DIV_ROUND_UP, as include/linux/align.h and math.h spell them, for the roundings
the model does (to a hugepage, to a 4 KiB page)."""

from __future__ import annotations


def ALIGN(x: int, a: int) -> int:  # noqa: N802 - the kernel's name
    """``x`` rounded up to a multiple of ``a``."""
    return -(-x // a) * a


def DIV_ROUND_UP(n: int, d: int) -> int:  # noqa: N802 - the kernel's name
    """``n / d`` rounded up."""
    return -(-n // d)
