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
__all__ = [*_model_all, "__version__"]
