"""The predictor arms, one module each, behind the arm registry (docs/architecture.md#rule-4-arms-through-a-registry).

Every arm is built as ``PREDICTORS[arm](cfg, context_dim, latent_dim, generator)`` and answers the
interface documented in ``base``: ``successors(c) -> (latents [B, K, D], weights [B, K])`` and
``loss(c, z_plus, progress) -> (loss, terms)``. ``PREDICTORS`` is a live view of
``mopjepa.config.arms.ARMS``: each entry names its predictor class, imported here on first use.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from mopjepa.config import ConfigError, PredictorConfig
from mopjepa.config.arms import ARMS, ArmView
from mopjepa.model.predictors.base import Predictor


def _predictor_class(arm) -> type[Predictor]:
    cls = arm.predictor_class()
    if not (isinstance(cls, type) and issubclass(cls, Predictor)):
        raise TypeError(f"arm {arm.name!r}: predictor {arm.predictor!r} is not a Predictor subclass")
    return cls


PREDICTORS: Mapping[str, type[Predictor]] = ArmView("PREDICTORS", _predictor_class)


def build_predictor(
    arm: str, cfg: PredictorConfig, context_dim: int, latent_dim: int, generator: torch.Generator
) -> Predictor:
    if arm not in ARMS:
        raise ConfigError(f"config field 'arm' = {arm!r} is not allowed: must be one of {sorted(ARMS)}")
    return PREDICTORS[arm](cfg, context_dim, latent_dim, generator)


__all__ = ["PREDICTORS", "Predictor", "build_predictor"]
