"""Standard JEPA predictor, Eq. (2): one MLP g_phi, output g(c)/|g(c)|, cosine regression.

Under the cosine loss its optimum is the normalized conditional mean E[z+ | c]/|E[z+ | c]|
(Proposition 1), a point between the successor modes when the transition branches.
"""

from __future__ import annotations

import torch

from mopjepa.config import DenseConfig
from mopjepa.model.heads import BatchedMLP
from mopjepa.model.predictors.base import Predictor, cosine_distance, unit


class DensePredictor(Predictor):
    config_type = DenseConfig
    num_outputs = 1

    def __init__(self, cfg: DenseConfig, context_dim: int, latent_dim: int, generator: torch.Generator):
        super().__init__(cfg, context_dim, latent_dim)
        # One head, in the same stacked layout as MoP's K heads: with K = 1 and the same generator
        # both arms start from identical weights (the K = 1 reduction test relies on it).
        self.head = BatchedMLP(1, context_dim, cfg.hidden_dim, latent_dim, cfg.depth, generator)

    def successors(self, c, generator=None):
        self.check_inputs(c)
        u = unit(self.head(c))  # [B, 1, D]
        return u, torch.ones(c.shape[0], 1, dtype=u.dtype, device=u.device)  # [B, 1, D], [B, 1]

    def loss(self, c, z_plus, progress):
        self.check_inputs(c, z_plus, progress)
        u = unit(self.head(c))  # [B, 1, D]
        distance = cosine_distance(u, z_plus)[:, 0].mean()
        return distance, {"distance": distance.detach()}
