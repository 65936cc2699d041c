"""Ablation: K dense heads from different inits, each trained with the dense loss on every example.

No assignment, no router: every head sees every target, so by Proposition 1 each one converges to
the same conditional mean, whatever its init. Equal weights 1/K.
"""

from __future__ import annotations

import torch

from mopjepa.config import EnsembleConfig
from mopjepa.model.heads import BatchedMLP
from mopjepa.model.predictors.base import Predictor, cosine_distance, uniform_weights, unit


class EnsemblePredictor(Predictor):
    config_type = EnsembleConfig

    def __init__(self, cfg: EnsembleConfig, context_dim: int, latent_dim: int, generator: torch.Generator):
        super().__init__(cfg, context_dim, latent_dim)
        self.num_outputs = cfg.K
        self.heads = BatchedMLP(cfg.K, context_dim, cfg.hidden_dim, latent_dim, cfg.depth, generator)

    def successors(self, c, generator=None):
        self.check_inputs(c)
        u = unit(self.heads(c))  # [B, K, D]
        return u, uniform_weights(c.shape[0], self.cfg.K, u)

    def loss(self, c, z_plus, progress):
        self.check_inputs(c, z_plus, progress)
        u = unit(self.heads(c))  # [B, K, D]
        d = cosine_distance(u, z_plus)  # [B, K]
        distance = d.mean()  # the mean over heads of each head's own dense loss
        with torch.no_grad():
            spread = 1.0 - torch.einsum("bkd,bjd->bkj", u, u).mean()  # mean pairwise cosine distance
        return distance, {"distance": distance.detach(), "head_spread": spread}
