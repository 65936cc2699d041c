"""The encoder f_theta of Eq. (1) and its EMA target copy f_xi, Eq. (3).

The encoder takes RAW observations: the train-split standardization (mean, std) lives in the
module as buffers, so a checkpoint carries it and no caller can forget or double-apply it.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mopjepa.config import EncoderConfig
from mopjepa.model.heads import MLP


def unit(x: torch.Tensor) -> torch.Tensor:
    """L2-normalize the last axis."""
    return F.normalize(x, dim=-1, eps=1e-8)


class Encoder(nn.Module):
    """obs [B, obs_dim] (raw) -> z [B, D], unit norm: z = f(s) / |f(s)| on standardized coordinates."""

    def __init__(
        self,
        obs_dim: int,
        cfg: EncoderConfig,
        feature_mean: np.ndarray | torch.Tensor,
        feature_std: np.ndarray | torch.Tensor,
        generator: torch.Generator,
    ):
        super().__init__()
        mean = torch.as_tensor(np.asarray(feature_mean), dtype=torch.float32)  # [obs_dim]
        std = torch.as_tensor(np.asarray(feature_std), dtype=torch.float32)  # [obs_dim]
        if mean.shape != (obs_dim,) or std.shape != (obs_dim,):
            raise ValueError(
                f"standardization must have shape [{obs_dim}], "
                f"got mean {list(mean.shape)}, std {list(std.shape)}"
            )
        if not (torch.isfinite(mean).all() and torch.isfinite(std).all() and (std > 0).all()):
            raise ValueError(f"standardization must be finite with std > 0; got mean={mean}, std={std}")
        self.obs_dim = obs_dim
        self.register_buffer("feature_mean", mean)
        self.register_buffer("feature_std", std)
        self.mlp = MLP(obs_dim, cfg.encoder_hidden, cfg.latent_dim, cfg.encoder_depth, generator)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.dim() != 2 or obs.shape[1] != self.obs_dim:
            raise ValueError(f"encoder expects observations [B, {self.obs_dim}], got {list(obs.shape)}")
        features = (obs - self.feature_mean) / self.feature_std  # [B, obs_dim]
        return unit(self.mlp(features))  # [B, D]


def make_target(online: Encoder) -> Encoder:
    """f_xi: a frozen copy of the online encoder, moved only by ema_update."""
    target = copy.deepcopy(online)
    target.requires_grad_(False)
    return target


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    """xi <- tau * xi + (1 - tau) * theta, parameter by parameter (Eq. 3)."""
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"EMA momentum tau must be in [0, 1], got {tau}")
    for param_target, param_online in zip(target.parameters(), online.parameters(), strict=True):
        param_target.mul_(tau).add_(param_online.detach(), alpha=1.0 - tau)
