"""The JEPA world model of one trial: online encoder f_theta, EMA target f_xi, and one predictor arm.

    z  = f_theta(s)/|f_theta(s)|,  z+ = sg(f_xi(s+)/|f_xi(s+)|),  c = [z, a]      (Eq. 1)

Only the predictor differs between arms; the loss is the arm's own. The context carries the action
only when the trial's ``context_action`` is not 'none' (action_dim may be 0).

A model is built on the CPU (the same initialisation on every device) and moved with ``.to(device)``;
the sampling generator stays a CPU one, so sampling arms draw the same noise on every device.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mopjepa.config import TrialConfig
from mopjepa.model.device import module_device
from mopjepa.model.encoder import Encoder, ema_update, make_target
from mopjepa.model.predictors import Predictor, build_predictor
from mopjepa.seeding import torch_generator


class WorldModel(nn.Module):
    def __init__(self, config: TrialConfig, encoder: Encoder, predictor: Predictor, action_dim: int):
        super().__init__()
        self.config = config
        self.obs_dim = encoder.obs_dim
        self.action_dim = action_dim
        """p: the action part of the context (0 when context_action is 'none')."""
        self.encoder = encoder
        self.target_encoder = make_target(encoder)
        self.predictor = predictor
        self.sample_generator = torch_generator(config.seed, "samples")
        """Default generator of sampling arms (var), seeded from the trial's 'samples' stream."""

    @classmethod
    def build(
        cls,
        cfg: TrialConfig,
        obs_dim: int,
        action_dim: int,
        feature_mean: np.ndarray,
        feature_std: np.ndarray,
        generator: torch.Generator | None = None,
    ) -> WorldModel:
        """A freshly initialized model. ``action_dim`` is the dataset's; it enters the context only
        when ``cfg.data.action_in_context``. ``generator`` defaults to the trial's 'init' stream."""
        if generator is None:
            generator = torch_generator(cfg.seed, "init")
        context_action_dim = action_dim if cfg.data.action_in_context else 0
        if cfg.data.action_in_context and action_dim < 1:
            raise ValueError(f"context_action is {cfg.data.context_action!r} but the dataset has no action "
                             f"(action_dim={action_dim})")
        encoder = Encoder(obs_dim, cfg.encoder, feature_mean, feature_std, generator)
        latent_dim = cfg.encoder.latent_dim
        predictor = build_predictor(
            cfg.arm, cfg.predictor, latent_dim + context_action_dim, latent_dim, generator
        )
        return cls(cfg, encoder, predictor, context_action_dim)

    @property
    def latent_dim(self) -> int:
        return self.config.encoder.latent_dim

    @property
    def device(self) -> torch.device:
        """Where the model's tensors are (all of them: they move together)."""
        return module_device(self)

    @property
    def num_outputs(self) -> int:
        """K: outputs per context that successors() returns."""
        return self.predictor.num_outputs

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """Online latent z [B, D] (unit) of raw observations [B, obs_dim]."""
        return self.encoder(obs)

    @torch.no_grad()
    def encode_target(self, obs: torch.Tensor) -> torch.Tensor:
        """Target latent sg(f_xi(s)/|f_xi(s)|) [B, D] of raw observations [B, obs_dim]."""
        return self.target_encoder(obs)

    def context(self, z: torch.Tensor, action: torch.Tensor | None = None) -> torch.Tensor:
        """c = [z, a] [B, D + p]; a must be given exactly when the model has an action context."""
        if self.action_dim == 0:
            if action is not None:
                raise ValueError(
                    "this model's context has no action (context_action is 'none'), but one was given"
                )
            return z
        if action is None or action.shape != (z.shape[0], self.action_dim):
            got = None if action is None else list(action.shape)
            raise ValueError(
                f"the context has an action: need action [{z.shape[0]}, {self.action_dim}], got {got}"
            )
        return torch.cat([z, action], dim=-1)

    def successors(
        self, z: torch.Tensor, action: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The successor set of Eq. (7) from context latents z [B, D]: (latents [B, K, D], weights [B, K])."""
        generator = self.sample_generator if generator is None else generator
        return self.predictor.successors(self.context(z, action), generator)

    def predict(
        self, obs: torch.Tensor, action: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """successors(encode(obs), action): raw observations [B, obs_dim] -> ([B, K, D], [B, K])."""
        return self.successors(self.encode(obs), action, generator)

    @torch.no_grad()
    def diagnostics(self, obs: torch.Tensor, next_obs: torch.Tensor, action: torch.Tensor | None) -> dict[str, float]:
        """The arm's own diagnostics (Predictor.diagnostics) on a batch of raw (s, s+, a)."""
        context = self.context(self.encode(obs), action)  # [B, D + p]
        return self.predictor.diagnostics(context, self.encode_target(next_obs))

    def ema_update(self, tau: float) -> None:
        """xi <- tau xi + (1 - tau) theta (Eq. 3), after each optimizer step."""
        ema_update(self.target_encoder, self.encoder, tau)
