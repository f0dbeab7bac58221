"""The boundary between the user and the model: every public call goes through it.

Mirrors: the syscall entry and exit path. A signal is delivered on the way back to user space,
after the kernel's work is done, so a process that a SIGBUS kills exits there and not in the
middle of memory_failure(). Each outermost call is one ``step`` of the trace.

One rule for integer arguments (``int_args``): a Python or numpy integer is accepted (and
becomes an int); anything else, bool included, is a TypeError naming the argument, raised
before the call does anything. Range checks are the call's own (the kernel's errno).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

import numpy as np

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


def int_arg(call: str, name: str, value: object) -> int:
    """``value`` as an int if it is a Python or numpy integer (not a bool); else TypeError."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    raise TypeError(f"{call}: {name} must be an int, not {type(value).__name__}")


def int_args(*names: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Apply ``int_arg`` to the arguments ``names`` of a method before it runs (the name of
    the call in the message is the method's)."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        params = list(inspect.signature(fn).parameters)
        where = tuple((name, params.index(name)) for name in names)  # positions, self included
        call = fn.__name__

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> R:
            for name, i in where:
                if i < len(args):
                    if type(args[i]) is not int:  # the common case costs one type check
                        args = (*args[:i], int_arg(call, name, args[i]), *args[i + 1 :])
                elif name in kwargs:
                    kwargs[name] = int_arg(call, name, kwargs[name])
            return fn(*args, **kwargs)

        return wrapper

    return decorate
