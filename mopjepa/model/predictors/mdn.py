"""Mixture density network (Bishop 1994): K isotropic Gaussians in latent space, soft responsibilities.

    p(z+ | c) = sum_k pi_k(c) N(z+; mu_k(c), sigma_k(c)^2 I_D)

- Means are unit vectors mu_k = g_k(c)/|g_k(c)| (the same sphere and the same outputs the planner
  reads from every arm), so |z+ - mu_k|^2 = 2 (1 - mu_k . z+) = 2 d_k.
- sigma_k = sigma_floor + softplus(s_k(c)): learned per component and context, never below the floor;
  or, with sigma_fixed > 0, the constant sigma_fixed (the softness axis: a learned sigma shrinks until
  responsibilities are near one-hot, which makes the gate's gradient MoP's router cross-entropy).
- diagnostics(): mdn_sigma (mean sigma) and mdn_resp_max (mean largest responsibility) on a batch.
- The NLL is computed in log space with logsumexp over components and reported per latent
  dimension (divided by D, a constant rescaling that keeps its size comparable to the other arms).
- Mixture weights pi = softmax(gate(c)); the gate has MoP's router shape. Load balance:
  lam_bal * KL(batch-mean pi || Unif(K)), differentiable as it stands.
- Means and sigma share one BatchedMLP with D + 1 outputs per component.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from mopjepa.config import MDNConfig
from mopjepa.model.heads import MLP, BatchedMLP
from mopjepa.model.predictors.base import Predictor, cosine_distance, entropy, kl_to_uniform, unit


class MDNPredictor(Predictor):
    config_type = MDNConfig

    def __init__(self, cfg: MDNConfig, context_dim: int, latent_dim: int, generator: torch.Generator):
        super().__init__(cfg, context_dim, latent_dim)
        self.num_outputs = cfg.K
        self.components = BatchedMLP(cfg.K, context_dim, cfg.hidden_dim, latent_dim + 1, cfg.depth, generator)
        self.gate = MLP(context_dim, cfg.hidden_dim, cfg.K, cfg.depth, generator)

    def mixture(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(means [B, K, D] unit, sigma [B, K] >= sigma_floor, mixture logits [B, K])."""
        out = self.components(c)  # [B, K, D + 1]
        means = unit(out[..., : self.latent_dim])  # [B, K, D]
        if self.cfg.sigma_fixed > 0:
            sigma = torch.full_like(out[..., self.latent_dim], self.cfg.sigma_fixed)  # [B, K]
        else:
            sigma = self.cfg.sigma_floor + F.softplus(out[..., self.latent_dim])  # [B, K]
        return means, sigma, self.gate(c)

    def log_joint(self, c: torch.Tensor, z_plus: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(log pi_k + log N(z+; mu_k, sigma_k^2 I) [B, K], log pi [B, K], sigma [B, K])."""
        D = self.latent_dim
        means, sigma, logits = self.mixture(c)
        squared = (2.0 * cosine_distance(means, z_plus)).clamp_min(0.0)  # [B, K] |z+ - mu_k|^2
        log_sigma = torch.log(sigma)  # [B, K]
        log_normal = -0.5 * squared / sigma.square() - D * log_sigma - 0.5 * D * math.log(2 * math.pi)
        log_pi = torch.log_softmax(logits, dim=-1)  # [B, K]
        return log_pi + log_normal, log_pi, sigma

    @torch.no_grad()
    def diagnostics(self, c: torch.Tensor, z_plus: torch.Tensor) -> dict[str, float]:
        joint, _, sigma = self.log_joint(c, z_plus)
        responsibility = torch.softmax(joint, dim=-1)  # [B, K]
        return {"mdn_sigma": float(sigma.mean()), "mdn_resp_max": float(responsibility.max(dim=-1).values.mean())}

    def successors(self, c, generator=None):
        self.check_inputs(c)
        means, _, logits = self.mixture(c)
        return means, torch.softmax(logits, dim=-1)  # [B, K, D], [B, K]

    def loss(self, c, z_plus, progress):
        self.check_inputs(c, z_plus, progress)
        joint, log_pi, sigma = self.log_joint(c, z_plus)  # [B, K] each
        nll = -torch.logsumexp(joint, dim=-1).mean() / self.latent_dim
        pi = log_pi.exp()
        usage = pi.mean(dim=0)  # [K]
        balance = kl_to_uniform(usage)
        loss = nll + self.cfg.lam_bal * balance
        with torch.no_grad():
            terms = {
                "nll": nll.detach(),
                "bal": balance.detach(),
                "sigma_mean": sigma.mean(),
                "head_usage_entropy": entropy(usage),
                "router_entropy": entropy(pi).mean(),
            }
        return loss, terms
