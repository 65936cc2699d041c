"""M3-JEPA (gated mixture of experts): K experts fused by a softmax gate into ONE vector.

    v(c) = sum_k pi_k(c) e_k(c),  pi = softmax(gate(c)),  output v/|v|,  cosine loss on v/|v|.

Experts emit raw (unnormalized) vectors, fused as in a standard MoE layer; only the fused vector is
normalized. Whatever the experts and gate learn, the output is a single vector and its objective is
Proposition 1's (Proposition 2): it collapses to the normalized conditional mean. The gate has the
same MLP shape as MoP's router.
"""

from __future__ import annotations

import torch

from mopjepa.config import M3Config
from mopjepa.model.heads import MLP, BatchedMLP
from mopjepa.model.predictors.base import Predictor, cosine_distance, entropy, unit


class M3Predictor(Predictor):
    config_type = M3Config
    num_outputs = 1

    def __init__(self, cfg: M3Config, context_dim: int, latent_dim: int, generator: torch.Generator):
        super().__init__(cfg, context_dim, latent_dim)
        self.experts = BatchedMLP(cfg.K, context_dim, cfg.hidden_dim, latent_dim, cfg.depth, generator)
        self.gate = MLP(context_dim, cfg.hidden_dim, cfg.K, cfg.depth, generator)

    def fused(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(unit fused output [B, 1, D], gate probabilities [B, K])."""
        experts = self.experts(c)  # [B, K, D]
        pi = torch.softmax(self.gate(c), dim=-1)  # [B, K]
        v = torch.einsum("bk,bkd->bd", pi, experts)  # [B, D]
        return unit(v).unsqueeze(1), pi  # [B, 1, D], [B, K]

    def successors(self, c, generator=None):
        self.check_inputs(c)
        u, _ = self.fused(c)
        return u, torch.ones(c.shape[0], 1, dtype=u.dtype, device=u.device)

    def loss(self, c, z_plus, progress):
        self.check_inputs(c, z_plus, progress)
        u, pi = self.fused(c)  # [B, 1, D], [B, K]
        distance = cosine_distance(u, z_plus)[:, 0].mean()
        with torch.no_grad():
            terms = {
                "distance": distance.detach(),
                "head_usage_entropy": entropy(pi.mean(dim=0)),
                "router_entropy": entropy(pi).mean(),
            }
        return distance, terms
