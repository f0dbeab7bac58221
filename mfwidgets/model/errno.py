"""Linux's errno values: the model's own table of every errno it returns.

Mirrors: include/uapi/asm-generic/errno-base.h and errno.h (x86-64 and arm64 use the generic
values), and glibc's strerror() text for each.

The model is a model of Linux, so it never reads the host's ``errno`` module: on another
platform the numbers differ (under Emscripten, the browser's Python, EIO is 29 and EINVAL 28),
and a learner comparing with ``strace`` must see Linux's. Only the probe of the real host
(``mfwidgets/hostkernel.py``) uses the host's values. Import this module where the stdlib one
would be used: ``from . import errno``, then ``errno.EINVAL``.
"""

from __future__ import annotations

# (value, name, strerror text) for each errno the model can return.
_TABLE: tuple[tuple[int, str, str], ...] = (
    (1, "EPERM", "Operation not permitted"),
    (2, "ENOENT", "No such file or directory"),
    (3, "ESRCH", "No such process"),
    (5, "EIO", "Input/output error"),
    (6, "ENXIO", "No such device or address"),
    (9, "EBADF", "Bad file descriptor"),
    (12, "ENOMEM", "Cannot allocate memory"),
    (14, "EFAULT", "Bad address"),
    (16, "EBUSY", "Device or resource busy"),
    (19, "ENODEV", "No such device"),
    (22, "EINVAL", "Invalid argument"),
    (27, "EFBIG", "File too large"),
    (28, "ENOSPC", "No space left on device"),
    (95, "EOPNOTSUPP", "Operation not supported"),
    # Architecture-specific: 133 on x86 and arm64 (asm-generic), 168 on MIPS. Python's errno
    # module has no EHWPOISON at all.
    (133, "EHWPOISON", "Memory page has hardware error"),
)

EPERM = 1
ENOENT = 2
ESRCH = 3
EIO = 5
ENXIO = 6
EBADF = 9
ENOMEM = 12
EFAULT = 14
EBUSY = 16
ENODEV = 19
EINVAL = 22
EFBIG = 27
ENOSPC = 28
EOPNOTSUPP = 95
EHWPOISON = 133

# The stdlib module's name for the same map: value -> symbolic name.
errorcode: dict[int, str] = {value: name for value, name, _ in _TABLE}
_TEXT: dict[int, str] = {value: text for value, _, text in _TABLE}


def strerror(err: int) -> str:
    """Linux's message for ``err`` (``5`` -> ``"Input/output error"``), as ``os.strerror()``
    gives on Linux; ``"Unknown error N"`` for a value the model never returns."""
    return _TEXT.get(err, f"Unknown error {err}")
