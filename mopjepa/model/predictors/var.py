"""Var-JEPA, steel-manned: a single Gaussian around a cosine-trained mean.

- Mean: mu(c) = g(c)/|g(c)|, trained exactly like the dense arm (cosine distance), so the encoder
  sees the dense objective and nothing else.
- Sigma [choice], residual-calibrated: a separate head s(c) predicts log sigma from the DETACHED
  context and is fit to the residual r = z+ - sg(mu) of the detached mean by the Gaussian NLL of
  an isotropic d-dimensional residual with per-axis std sigma / sqrt(d), per dimension:
      nll = |r|^2 / (2 sigma^2) + log sigma   (+ const),
  whose minimizer is sigma^2 = E[|r|^2 | c]: sigma is the RMS residual norm. The sigma loss changes
  neither the mean nor the encoder.
- Samples: u_s = normalize(mu + sigma * eps_s / sqrt(d)), eps_s ~ N(0, I_d), S = num_samples,
  equal weights 1/S, so a sample lies at distance ~sigma from the mean, the residual's scale.
  Sampling needs an explicit torch.Generator: the same generator state gives the same samples.
"""

from __future__ import annotations

import torch

from mopjepa.config import VarConfig
from mopjepa.model.heads import MLP, BatchedMLP
from mopjepa.model.predictors.base import Predictor, cosine_distance, uniform_weights, unit

LOG_SIGMA_RANGE = (-9.0, 2.0)
"""log sigma is clamped here: residual norms on the unit sphere are at most 2."""


class VarPredictor(Predictor):
    config_type = VarConfig

    def __init__(self, cfg: VarConfig, context_dim: int, latent_dim: int, generator: torch.Generator):
        super().__init__(cfg, context_dim, latent_dim)
        self.num_outputs = cfg.num_samples
        self.mean_head = BatchedMLP(1, context_dim, cfg.hidden_dim, latent_dim, cfg.depth, generator)
        self.sigma_head = MLP(context_dim, cfg.hidden_dim, 1, cfg.depth, generator)

    def mean_and_log_sigma(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu [B, D] unit, log sigma [B]); sigma reads the detached context."""
        mu = unit(self.mean_head(c)[:, 0])  # [B, D]
        log_sigma = self.sigma_head(c.detach())[:, 0].clamp(*LOG_SIGMA_RANGE)  # [B]
        return mu, log_sigma

    def successors(self, c, generator=None):
        self.check_inputs(c)
        if generator is None:
            raise ValueError("var draws samples: pass an explicit torch.Generator to successors()")
        mu, log_sigma = self.mean_and_log_sigma(c)
        B, S, D = c.shape[0], self.cfg.num_samples, self.latent_dim
        eps = torch.randn(B, S, D, generator=generator, device=generator.device).to(mu)  # [B, S, D]
        scale = (log_sigma.exp() / D**0.5)[:, None, None]  # [B, 1, 1]
        u = unit(mu[:, None, :] + scale * eps)  # [B, S, D]
        return u, uniform_weights(B, S, u)

    def loss(self, c, z_plus, progress):
        self.check_inputs(c, z_plus, progress)
        mu, log_sigma = self.mean_and_log_sigma(c)  # [B, D], [B]
        distance = cosine_distance(mu[:, None, :], z_plus)[:, 0].mean()
        residual_sq = (z_plus - mu.detach()).square().sum(dim=-1)  # [B] |r|^2
        sigma_nll = (0.5 * residual_sq * torch.exp(-2.0 * log_sigma) + log_sigma).mean()
        loss = distance + sigma_nll
        with torch.no_grad():
            terms = {
                "distance": distance.detach(),
                "sigma_nll": sigma_nll.detach(),
                "sigma_mean": log_sigma.exp().mean(),
            }
        return loss, terms
