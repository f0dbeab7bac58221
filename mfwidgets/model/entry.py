"""The boundary between the user and the model: every public call goes through it.

Mirrors: the syscall entry and exit path. A signal is delivered on the way back to user space,
after the kernel's work is done, so a process that a SIGBUS kills exits there and not in the
middle of memory_failure(). Each outermost call is one ``step`` of the trace.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, Protocol, TypeVar

if TYPE_CHECKING:
    from .kernel import Kernel

P = ParamSpec("P")
R = TypeVar("R")


class HasKernel(Protocol):
    @property
    def kernel(self) -> Kernel: ...


S = TypeVar("S", bound=HasKernel)


def entry(fn: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Wrap a public model call: count the step, refuse calls after a panic, and deliver
    fatal signals when the outermost call returns."""

    @functools.wraps(fn)
    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        k = self.kernel
        k.check_alive()
        k.depth += 1
        if k.depth == 1:
            k.step += 1
        try:
            return fn(self, *args, **kwargs)
        finally:
            k.depth -= 1
            if k.depth == 0:
                k.return_to_user()
                if k.debug_vm:
                    k.check()

    return wrapper
