"""The model's errno table is Linux's on every platform: the values, the names and the
messages, even when the host's ``errno`` module says otherwise (as Emscripten's does in the
browser, where EIO is 29 and EINVAL 28)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mfwidgets as mf
from mfwidgets.model import errno

ROOT = Path(__file__).resolve().parents[2]

# Linux's values (include/uapi/asm-generic/errno-base.h, errno.h) and glibc's messages.
LINUX = {
    "EPERM": (1, "Operation not permitted"),
    "ENOENT": (2, "No such file or directory"),
    "ESRCH": (3, "No such process"),
    "EIO": (5, "Input/output error"),
    "ENXIO": (6, "No such device or address"),
    "EBADF": (9, "Bad file descriptor"),
    "ENOMEM": (12, "Cannot allocate memory"),
    "EFAULT": (14, "Bad address"),
    "EBUSY": (16, "Device or resource busy"),
    "ENODEV": (19, "No such device"),
    "EINVAL": (22, "Invalid argument"),
    "EFBIG": (27, "File too large"),
    "ENOSPC": (28, "No space left on device"),
    "EOPNOTSUPP": (95, "Operation not supported"),
    "EHWPOISON": (133, "Memory page has hardware error"),
}

# Emscripten's (WASI's) numbers for the same names. ENOENT stays as it is: pytest itself
# relies on it to find files.
EMSCRIPTEN = {
    "EPERM": 63,
    "ESRCH": 71,
    "EIO": 29,
    "ENXIO": 60,
    "EBADF": 8,
    "ENOMEM": 48,
    "EFAULT": 21,
    "EBUSY": 10,
    "ENODEV": 43,
    "EINVAL": 28,
    "EFBIG": 22,
    "ENOSPC": 51,
    "EOPNOTSUPP": 138,
}


def test_every_constant_has_linux_value_name_and_message():
    for name, (value, text) in LINUX.items():
        assert getattr(errno, name) == value, name
        assert errno.errorcode[value] == name
        assert errno.strerror(value) == text
    assert set(errno.errorcode.values()) == set(LINUX)
    assert mf.EHWPOISON == 133


def test_strerror_of_a_value_the_model_never_returns():
    assert errno.strerror(4095) == "Unknown error 4095"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="compares with the host's libc")
def test_table_agrees_with_the_linux_host():
    for value, text in ((v, t) for v, t in LINUX.values()):
        assert os.strerror(value) == text


def test_syscall_error_shows_linux_number_and_name():
    k = mf.Kernel(hugepages={"2M": 2})
    p = k.spawn("app")
    with pytest.raises(mf.SyscallError) as info:
        p.memfd_create("x", mf.MFD_MF_KEEP_UE_MAPPED)
    assert info.value.errno == 22
    assert str(info.value) == "EINVAL: memfd_create: MFD_MF_KEEP_UE_MAPPED requires MFD_HUGETLB"


PATCHED_RUN = textwrap.dedent(
    """
    import errno, os, sys
    FAKE = {fake!r}
    for name, value in FAKE.items():
        setattr(errno, name, value)
    errno.errorcode.clear()
    errno.errorcode.update({{value: name for name, value in FAKE.items()}})
    os.strerror = lambda err: f"host error {{err}}"

    import mfwidgets as mf

    k = mf.Kernel(hugepages={{"2M": 2}})
    p = k.spawn("app")
    try:
        p.memfd_create("x", mf.MFD_MF_KEEP_UE_MAPPED)
    except OSError as e:
        assert (e.errno, str(e).split(":")[0]) == (22, "EINVAL"), (e.errno, str(e))
    else:
        raise AssertionError("memfd_create must fail")

    import pytest
    sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[1:]]))
    """
)


@pytest.mark.slow
def test_error_table_with_the_host_errno_patched_still_gives_linux_values():
    """The whole error table (every errno row of the model) and the read-after-poison parity
    test, run in a Python whose ``errno`` module carries Emscripten's numbers."""
    code = PATCHED_RUN.format(fake=EMSCRIPTEN)
    files = ["tests/model/test_errors.py", "tests/parity/test_hugetlb_read_hwpoison.py"]
    run = subprocess.run(
        [sys.executable, "-c", code, *files], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert " passed" in run.stdout
