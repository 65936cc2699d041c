"""The model: encoder + EMA target (``encoder``), batched heads (``heads``), the predictor arms
(``predictors``, one module each behind ``PREDICTORS``) and their composition (``WorldModel``)."""

from mopjepa.model.encoder import Encoder, ema_update, unit
from mopjepa.model.heads import MLP, BatchedMLP
from mopjepa.model.predictors import PREDICTORS, Predictor, build_predictor
from mopjepa.model.world_model import WorldModel

__all__ = [
    "MLP",
    "PREDICTORS",
    "BatchedMLP",
    "Encoder",
    "Predictor",
    "WorldModel",
    "build_predictor",
    "ema_update",
    "unit",
]
