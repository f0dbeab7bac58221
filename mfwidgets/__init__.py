"""mfwidgets: a workbook and widget library on how Linux recovers from uncorrected memory
errors in HugeTLB memfd memory, and what the proposed MFD_MF_KEEP_UE_MAPPED changes.

``import mfwidgets as mf`` gives the model's names (``mf.Kernel``, ``mf.MFD_HUGETLB``, ...).
The model is imported eagerly; plots and widgets, which need bokeh and ipywidgets, are reached
lazily (PEP 562) so that ``import mfwidgets.model`` never loads a UI library.
"""

from __future__ import annotations

from .model import *  # noqa: F403
from .model import __all__ as _model_all

__version__ = "0.1.0"

# Reached lazily, so that importing the model never loads bokeh or ipywidgets.
_LAZY = {
    "Explorer": "widgets",
    "PolicyComparison": "widgets",
    "ScenarioPlayer": "widgets",
    "predict": "widgets",
    "Scenario": "widgets",
    "setup_notebook": "widgets",
    "show_versions": "__main__",
    "WorkloadParams": "widgets",
    "WorkloadRunner": "widgets",
    "exercises": None,
    "fleet": None,
    "plots": None,
    "predictions": None,
    "submission": None,
    "teaching": None,
    "widgets": None,
}
__all__ = [*_model_all, "__version__", *_LAZY]


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'mfwidgets' has no attribute {name!r}")
    import importlib

    module = _LAZY[name]
    if module is None:
        return importlib.import_module(f"{__name__}.{name}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
