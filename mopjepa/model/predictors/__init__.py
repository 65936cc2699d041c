"""The predictor arms, one module each, behind one registry (ARCHITECTURE rule 4).

Every arm is built as ``PREDICTORS[arm](cfg, context_dim, latent_dim, generator)`` and answers the
interface documented in ``base``: ``successors(c) -> (latents [B, K, D], weights [B, K])`` and
``loss(c, z_plus, progress) -> (loss, terms)``.
"""

from __future__ import annotations

import torch

from mopjepa.config import PREDICTOR_CONFIGS, ConfigError, PredictorConfig
from mopjepa.model.predictors.base import Predictor
from mopjepa.model.predictors.codebook import CodebookPredictor
from mopjepa.model.predictors.dense import DensePredictor
from mopjepa.model.predictors.ensemble import EnsemblePredictor
from mopjepa.model.predictors.m3 import M3Predictor
from mopjepa.model.predictors.mdn import MDNPredictor
from mopjepa.model.predictors.mop import MoPPredictor
from mopjepa.model.predictors.var import VarPredictor

PREDICTORS: dict[str, type[Predictor]] = {
    "dense": DensePredictor,
    "m3": M3Predictor,
    "var": VarPredictor,
    "mdn": MDNPredictor,
    "mop": MoPPredictor,
    "codebook": CodebookPredictor,
    "ensemble": EnsemblePredictor,
}

if set(PREDICTORS) != set(PREDICTOR_CONFIGS):
    raise ImportError(f"arm registries disagree: {sorted(PREDICTORS)} vs configs {sorted(PREDICTOR_CONFIGS)}")


def build_predictor(
    arm: str, cfg: PredictorConfig, context_dim: int, latent_dim: int, generator: torch.Generator
) -> Predictor:
    if arm not in PREDICTORS:
        raise ConfigError(f"config field 'arm' = {arm!r} is not allowed: must be one of {sorted(PREDICTORS)}")
    return PREDICTORS[arm](cfg, context_dim, latent_dim, generator)


__all__ = ["PREDICTORS", "Predictor", "build_predictor"]
