"""Putting bokeh views into widget layouts, and loading BokehJS once, inline (no network)."""

from __future__ import annotations

from typing import Any

from bokeh.model import Model
from jupyter_bokeh import BokehModel

from ..plots import output_notebook_inline

_loaded = False


def in_notebook() -> bool:
    """True in a shell that renders widgets: Jupyter's kernel, or the browser (Pyodide) kernel
    of the static JupyterLite site, whose shell is pyodide_kernel's Interpreter."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    cls = shell.__class__
    if cls.__name__ == "ZMQInteractiveShell":
        return True
    return cls.__name__ == "Interpreter" and str(cls.__module__).startswith("pyodide_kernel")


def setup_notebook(force: bool = True) -> None:
    """Load BokehJS inline into the page: BokehModel views need window.Bokeh, and
    classrooms and CI have no CDN. Called from a cell it always loads, because the kernel
    cannot tell a reloaded or second browser tab, which has no BokehJS yet, from the page
    it loaded it into before; widgets call it with ``force=False`` (once per kernel)."""
    global _loaded
    if (not _loaded or force) and in_notebook():
        output_notebook_inline()
        _loaded = True


def bokeh_widget(model: Model, **kwargs: Any) -> BokehModel:
    """A bokeh layout as an ipywidget (jupyter_bokeh), loading BokehJS first if needed."""
    setup_notebook(force=False)
    return BokehModel(model, combine_events=True, **kwargs)
