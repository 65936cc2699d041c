"""MoP-JEPA, Eq. (4)-(6): K predictor heads, a context-only router, hard (winner-take-all) assignment.

    u_ik = g_k(c_i)/|g_k(c_i)|,  pi_i = softmax(r(c_i)),  d_ik = 1 - u_ik . z+_i           (4)
    k*_i = argmin_k d_ik,  gamma_ik = 1[k = k*_i]                                         (5)
    L = mean_i sum_k gamma_ik d_ik + lam_route mean_i -log pi_ik* + lam_bal KL(gamma-bar || U)  (6)

- The router r reads c only (never z+); gamma is detached, so the router gets gradient from the
  cross-entropy term alone and the heads from the distance (and balance) terms alone.
- Load balance [choice]: one-hot usage has no gradient, so the term's *value* is Eq. (6)'s KL of
  the hard usage gamma-bar, and its *gradient* is that of the same KL on the batch mean of a
  softmin over head distances at ``bal_temperature`` (straight-through; see
  ``base.straight_through_balance``). The router's probabilities were the other candidate; they
  would only flatten pi (biasing it away from the mode frequencies) and never revive a dead head.
- ``assignment``: 'hard' is Eq. (5) from step one. 'warmup' uses gamma = softmin(d / soft_temperature)
  for the first warmup_fraction of training, then hard. 'anneal' decays that temperature linearly
  to 0 (hard) over warmup_fraction. While soft, the router's cross-entropy uses the soft gamma.
- K = 1: gamma = 1, -log pi = 0 and the KL is 0, so L equals the dense loss of Eq. (2).
"""

from __future__ import annotations

import torch

from mopjepa.config import MoPConfig
from mopjepa.model.heads import MLP, BatchedMLP
from mopjepa.model.predictors.base import Predictor, cosine_distance, entropy, straight_through_balance, unit


class MoPPredictor(Predictor):
    config_type = MoPConfig

    def __init__(self, cfg: MoPConfig, context_dim: int, latent_dim: int, generator: torch.Generator):
        super().__init__(cfg, context_dim, latent_dim)
        self.num_outputs = cfg.K
        self.heads = BatchedMLP(cfg.K, context_dim, cfg.hidden_dim, latent_dim, cfg.depth, generator)
        self.router = MLP(context_dim, cfg.hidden_dim, cfg.K, cfg.depth, generator)

    def successors(self, c, generator=None):
        self.check_inputs(c)
        u = unit(self.heads(c))  # [B, K, D]
        pi = torch.softmax(self.router(c), dim=-1)  # [B, K]
        return u, pi

    def temperature(self, progress: float) -> float:
        """Softmin temperature of the assignment at this point of training; 0 means hard."""
        cfg = self.cfg
        if cfg.assignment == "hard" or progress >= cfg.warmup_fraction:
            return 0.0
        if cfg.assignment == "warmup":
            return cfg.soft_temperature
        return cfg.soft_temperature * (1.0 - progress / cfg.warmup_fraction)  # 'anneal'

    def assign(self, d: torch.Tensor, progress: float) -> torch.Tensor:
        """gamma [B, K] (detached): one-hot on argmin_k d_ik, or a softmin while the assignment is soft."""
        d = d.detach()
        temperature = self.temperature(progress)
        if temperature > 0.0:
            return torch.softmax(-d / temperature, dim=-1)
        return torch.nn.functional.one_hot(d.argmin(dim=-1), self.cfg.K).to(d.dtype)

    def loss(self, c, z_plus, progress):
        self.check_inputs(c, z_plus, progress)
        cfg = self.cfg
        u = unit(self.heads(c))  # [B, K, D]
        logits = self.router(c)  # [B, K]: the router sees the context only
        d = cosine_distance(u, z_plus)  # [B, K]
        gamma = self.assign(d, progress)  # [B, K]
        wta = (gamma * d).sum(dim=-1).mean()
        log_pi = torch.log_softmax(logits, dim=-1)  # [B, K]
        route = -(gamma * log_pi).sum(dim=-1).mean()
        usage = gamma.mean(dim=0)  # [K] gamma-bar
        balance = straight_through_balance(usage, d, cfg.bal_temperature)
        loss = wta + cfg.lam_route * route + cfg.lam_bal * balance
        with torch.no_grad():
            pi = log_pi.exp()
            terms = {
                "wta": wta.detach(),
                "route": route.detach(),
                "bal": balance.detach(),
                "head_usage_entropy": entropy(usage),
                "router_entropy": entropy(pi).mean(),
            }
        return loss, terms
