"""Fitting a GauntForceField to labelled structures: data, loss and metrics, checkpoints, the training loop."""

from ..config import FitConfig
from .fit import fit
from .metrics import evaluate

__all__ = ["FitConfig", "evaluate", "fit"]
