"""A trained WorldModel as the numpy functions mopjepa.audit takes (numpy in, numpy out).

    encode(observations [N, obs_dim]) -> [N, D]            the TARGET encoder f_xi (Eq. 1): the
                                                           space targets, references and outputs share
    successors(observations [N, obs_dim]) -> ([N, K, D], [N, K])   predict(): online encoder + arm
    rollout(latents [M, D]) -> ([M, K, D], [M, K])         successors() applied to a latent

A model whose context carries an action (context_action 'step' or 'to_exit') takes one: its
successors and rollout are (inputs, actions [N, p]) -> ..., and it declares so (takes_actions), so the
audit queries it with an action set (GraphConfig.query_actions). Sampling arms (var) draw from the
model's own 'samples' generator unless given another (the curves use their own, so evaluating during
training leaves the final samples as they were), so the order of calls matters: the audit calls
successors, then rollout, once per queried action.

The computation runs where the model is (``model.device``, read at each call): inputs go there once
per call, outputs come back once per call.
"""

from __future__ import annotations

import numpy as np
import torch

from mopjepa.audit.interface import ModelFunctions
from mopjepa.model.world_model import WorldModel


def numpy_functions(model: WorldModel, generator: torch.Generator | None = None) -> ModelFunctions:
    """encode, successors and rollout of `model`, evaluated in eval mode without gradients. Sampling arms
    draw from `generator` (default: the model's own 'samples' generator)."""

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(array, dtype=torch.float32, device=model.device)

    def action_of(actions: np.ndarray | None) -> torch.Tensor | None:
        return None if actions is None else tensor(actions)  # [N, p]

    def numpy(values: torch.Tensor) -> np.ndarray:
        return values.cpu().numpy()

    @torch.no_grad()
    def encode(observations: np.ndarray) -> np.ndarray:
        model.eval()
        return numpy(model.encode_target(tensor(observations)))  # [N, D]

    @torch.no_grad()
    def successors(observations: np.ndarray, actions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        model.eval()
        latents, weights = model.predict(tensor(observations), action_of(actions), generator)
        return numpy(latents), numpy(weights)  # [N, K, D], [N, K]

    @torch.no_grad()
    def rollout(latents: np.ndarray, actions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        model.eval()
        second, weights = model.successors(tensor(latents), action_of(actions), generator)
        return numpy(second), numpy(weights)  # [M, K, D], [M, K]

    return ModelFunctions(encode, successors, rollout, takes_actions=model.action_dim > 0)
