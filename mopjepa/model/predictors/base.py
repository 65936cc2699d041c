"""The one interface every predictor arm answers, and the loss pieces the arms share.

An arm is an ``nn.Module`` built as ``Arm(cfg, context_dim, latent_dim, generator)`` with

- ``successors(c, generator=None) -> (latents [B, K, D] unit-norm, weights [B, K] summing to 1)``:
  the enumerable successor set of Eq. (7). ``generator`` is only read by arms that sample (var).
- ``loss(c, z_plus, progress) -> (loss, terms)``: the arm's own training objective on contexts
  c [B, d + p] and stop-gradient unit targets z_plus [B, D]; ``progress`` = step / steps in [0, 1]
  drives schedules. ``terms`` maps names to detached scalars: every additive term of the loss
  (the NaN guard names them) and diagnostics such as ``head_usage_entropy``/``router_entropy``.
- ``diagnostics(c, z_plus) -> {name: float}``: what an arm reports about itself on a held batch after
  training (rows of the trial's metrics table); empty by default.

Distances are the cosine distance l(u, v) = 1 - u.v on unit vectors (Eq. 2).
"""

from __future__ import annotations

import torch
from torch import nn

from mopjepa.config import PredictorConfig
from mopjepa.model.encoder import unit

__all__ = [
    "Predictor",
    "cosine_distance",
    "entropy",
    "kl_to_uniform",
    "straight_through_balance",
    "uniform_weights",
    "unit",
]


class Predictor(nn.Module):
    """Base class of the arms: holds sizes and validates the tensors crossing the interface."""

    config_type: type[PredictorConfig] = PredictorConfig
    num_outputs: int = 1
    """K: how many (latent, weight) pairs successors() returns per context."""

    def __init__(self, cfg: PredictorConfig, context_dim: int, latent_dim: int):
        super().__init__()
        if type(cfg) is not self.config_type:
            raise TypeError(
                f"{type(self).__name__} needs a {self.config_type.__name__}, got {type(cfg).__name__}"
            )
        if context_dim < latent_dim or latent_dim < 1:
            raise ValueError(
                f"context_dim {context_dim} must be >= latent_dim {latent_dim} >= 1 (c = [z, a])"
            )
        self.cfg, self.context_dim, self.latent_dim = cfg, context_dim, latent_dim

    def successors(
        self, c: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def loss(
        self, c: torch.Tensor, z_plus: torch.Tensor, progress: float
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        raise NotImplementedError

    def diagnostics(self, c: torch.Tensor, z_plus: torch.Tensor) -> dict[str, float]:
        """Named scalars an arm reports about itself on a held batch of (c, z+) after training, e.g. the
        MDN's sigma and responsibility sharpness; most arms have none."""
        return {}

    def check_inputs(
        self, c: torch.Tensor, z_plus: torch.Tensor | None = None, progress: float = 0.0
    ) -> None:
        if c.dim() != 2 or c.shape[1] != self.context_dim:
            raise ValueError(
                f"{type(self).__name__} expects context [B, {self.context_dim}], got {list(c.shape)}"
            )
        if z_plus is not None and (z_plus.dim() != 2 or z_plus.shape != (c.shape[0], self.latent_dim)):
            raise ValueError(f"target must be [{c.shape[0]}, {self.latent_dim}], got {list(z_plus.shape)}")
        if not 0.0 <= progress <= 1.0:
            raise ValueError(f"progress must be step / steps in [0, 1], got {progress}")


def cosine_distance(u: torch.Tensor, z_plus: torch.Tensor) -> torch.Tensor:
    """d_ik = 1 - u_ik . z+_i for unit u [B, K, D] and unit z_plus [B, D] -> [B, K]."""
    return 1.0 - torch.einsum("bkd,bd->bk", u, z_plus)


def entropy(p: torch.Tensor) -> torch.Tensor:
    """Entropy in nats over the last axis (0 log 0 = 0): [..., K] -> [...]."""
    return -torch.special.xlogy(p, p).sum(dim=-1)


def kl_to_uniform(usage: torch.Tensor) -> torch.Tensor:
    """KL(usage || Unif(K)) = sum_k u_k log(K u_k) for usage [K] summing to 1."""
    return torch.special.xlogy(usage, usage * usage.shape[-1]).sum(dim=-1)


def straight_through_balance(
    hard_usage: torch.Tensor, distances: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Eq. (6)'s load balance KL(usage || uniform) with a gradient.

    The value is the KL of ``hard_usage`` [K] (the minibatch usage gamma-bar of the assignment in
    use), exactly as in Eq. (6). One-hot usage has no gradient, so the gradient is that of the same
    KL on a differentiable surrogate: the batch mean of softmin(d_i / temperature) over the head
    distances d [B, K]. Its gradient pulls under-used heads toward the targets they nearly win and
    pushes over-used heads away, which is what keeps heads from dying under hard assignment.
    """
    soft_usage = torch.softmax(-distances / temperature, dim=-1).mean(dim=0)  # [K]
    surrogate = kl_to_uniform(soft_usage)
    return kl_to_uniform(hard_usage) + surrogate - surrogate.detach()


def uniform_weights(B: int, K: int, like: torch.Tensor) -> torch.Tensor:
    """[B, K] all 1/K."""
    return torch.full((B, K), 1.0 / K, dtype=like.dtype, device=like.device)
