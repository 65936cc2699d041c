"""A trained WorldModel as the numpy functions mopjepa.audit takes (numpy in, numpy out).

    encode(observations [N, obs_dim]) -> [N, D]            the TARGET encoder f_xi (Eq. 1): the
                                                           space targets, references and outputs share
    successors(observations [N, obs_dim]) -> ([N, K, D], [N, K])   predict(): online encoder + arm
    rollout(latents [M, D]) -> ([M, K, D], [M, K])         successors() applied to a latent

A model whose context carries an action is queried with a zero action (the query has no action
information) [choice]. Sampling arms (var) draw from the model's own 'samples' generator unless given
another (the curves use their own, so evaluating during training leaves the final samples as they
were), so the order of calls matters: the audit calls successors once, then rollout once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mopjepa.model.world_model import WorldModel


def numpy_functions(
    model: WorldModel, generator: torch.Generator | None = None
) -> tuple[Callable, Callable, Callable]:
    """(encode, successors, rollout) of `model`, evaluated in eval mode without gradients. Sampling arms
    draw from `generator` (default: the model's own 'samples' generator)."""

    def zero_action(rows: int) -> torch.Tensor | None:
        return torch.zeros(rows, model.action_dim) if model.action_dim else None

    @torch.no_grad()
    def encode(observations: np.ndarray) -> np.ndarray:
        model.eval()
        return model.encode_target(torch.as_tensor(observations, dtype=torch.float32)).numpy()  # [N, D]

    @torch.no_grad()
    def successors(observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        model.eval()
        latents, weights = model.predict(torch.as_tensor(observations, dtype=torch.float32),
                                         zero_action(len(observations)), generator)
        return latents.numpy(), weights.numpy()  # [N, K, D], [N, K]

    @torch.no_grad()
    def rollout(latents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        model.eval()
        second, weights = model.successors(
            torch.as_tensor(latents, dtype=torch.float32), zero_action(len(latents)), generator
        )
        return second.numpy(), weights.numpy()  # [M, K, D], [M, K]

    return encode, successors, rollout
