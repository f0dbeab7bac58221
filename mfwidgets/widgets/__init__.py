"""mfwidgets.widgets: ipywidgets front ends that drive the model live (Explorer, PolicyComparison,
ScenarioPlayer) and the predict-then-reveal widget.

Each widget exposes ``.kernel``, so the next notebook cell can analyse what the learner did.
"""

from __future__ import annotations

from .comparison import PolicyComparison, verdict
from .display import setup_notebook
from .explorer import Explorer
from .player import ScenarioPlayer
from .predict import Prediction, Reveal, predict
from .runner import WorkloadRunner
from .scenario import BUILTIN, CLOSED_IS_NOT_RELEASED, HARD_OFFLINE_1G, KEEP_1G, Scenario
from .session import Action, Session, Setup, Step
from .workload import Workload, WorkloadParams

__all__ = [
    "BUILTIN",
    "CLOSED_IS_NOT_RELEASED",
    "HARD_OFFLINE_1G",
    "KEEP_1G",
    "Action",
    "Explorer",
    "PolicyComparison",
    "Prediction",
    "Reveal",
    "Scenario",
    "ScenarioPlayer",
    "Session",
    "Setup",
    "Step",
    "predict",
    "setup_notebook",
    "verdict",
    "Workload",
    "WorkloadParams",
    "WorkloadRunner",
]
