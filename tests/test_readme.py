"""The README's example runs and shows what its comments say."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_example_shows_what_its_comments_say() -> None:
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert block is not None
    ns: dict[str, object] = {}
    exec(compile(block.group(1), "README.md", "exec"), ns)
    vmm, k = ns["vmm"], ns["k"]
    assert repr(vmm.signals) == "[SIGBUS BUS_MCEERR_AR addr=0x7f0000025000 lsb=12]"  # type: ignore[attr-defined]
    assert k.dmesg()[-1] == "Memory failure: 0x100025: recovery action for huge page: Recovered"  # type: ignore[attr-defined]
    assert k.hstate("1G").nr_hugepages == 3  # type: ignore[attr-defined]
    # The example's claims, in its own comments: only that 4 KiB page was lost before release.
    assert "verify(addr, 4 * mf.SZ_1G, 0xAB).ok   # True" in block.group(1)
    assert "lsb=12]" in block.group(1) and "nr_hugepages=3" in block.group(1)
