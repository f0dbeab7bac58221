"""mfwidgets.widgets: ipywidgets front ends that drive the model live (Explorer, ...).

Each widget exposes ``.kernel``, so the next notebook cell can analyse what the learner did.
"""

from __future__ import annotations

from .display import setup_notebook
from .explorer import Explorer
from .session import Action, Session, Setup, Step

__all__ = ["Action", "Explorer", "Session", "Setup", "Step", "setup_notebook"]
