"""Layout: at a 1280 px wide window, no output is wider than the notebook (no sideways
scrolling), in JupyterLab with its file browser open. Needs Debian's chromium and the `ui`
extra (see conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.ui

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(
    p.name for p in (REPO / "notebooks").glob("*.ipynb") if p.name != "dashboard.ipynb"
)

# Every output whose content is wider than the output area itself (so it scrolls sideways),
# and every element inside an output that sticks out past the notebook's right edge.
_JS_OVERFLOW = """
([name]) => {
  const panel = Array.from(window.jupyterapp.shell.widgets('main'))
    .find(w => w.context && w.context.path === name && w.content && w.content.widgets);
  const nb = panel.content.node;
  const right = nb.getBoundingClientRect().right;
  const wide = [];
  nb.querySelectorAll('.jp-OutputArea-output').forEach((o, i) => {
    if (o.scrollWidth > o.clientWidth + 2) {
      wide.push(`output ${i} scrolls: ${o.scrollWidth} > ${o.clientWidth}: `
        + o.textContent.slice(0, 60));
    }
    for (const el of o.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > right + 2) {
        wide.push(`output ${i}: <${el.tagName.toLowerCase()} class="${el.className}"> ends at `
          + `${Math.round(r.right)} > ${Math.round(right)}`);
        break;
      }
    }
  });
  return wide;
}
"""


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_no_output_is_wider_than_the_notebook_at_1280px(page: Any, lab: Any, notebook: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    lab.run_notebook(page, notebook)
    page.wait_for_timeout(1500)  # widgets and Bokeh views lay themselves out
    assert page.evaluate(_JS_OVERFLOW, [notebook]) == []
