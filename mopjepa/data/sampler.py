"""Seeded minibatches of (context, target) examples, drawn with replacement.

The sampler holds the example tensors once and draws index tensors from its own generator, so the
batch order depends only on the trial seed.
"""

from __future__ import annotations

import numpy as np
import torch


class BatchSampler:
    def __init__(
        self,
        context: np.ndarray,
        target: np.ndarray,
        batch_size: int,
        generator: torch.Generator,
        action: np.ndarray | None = None,
    ):
        if len(context) == 0:
            raise ValueError("no training examples to sample from (is the hold-out removing everything?)")
        if len(context) != len(target) or (action is not None and len(action) != len(context)):
            raise ValueError(f"examples disagree in length: context {len(context)}, target {len(target)}")
        self.context = torch.as_tensor(np.ascontiguousarray(context), dtype=torch.float32)  # [E, obs_dim]
        self.target = torch.as_tensor(np.ascontiguousarray(target), dtype=torch.float32)  # [E, obs_dim]
        self.action = (
            None if action is None else torch.as_tensor(np.ascontiguousarray(action), dtype=torch.float32)
        )  # [E, p]
        self.batch_size = batch_size
        self.generator = generator

    def __len__(self) -> int:
        return len(self.context)

    def sample(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(context [B, obs_dim], target [B, obs_dim], action [B, p] or None)."""
        index = torch.randint(len(self.context), (self.batch_size,), generator=self.generator)  # [B]
        action = None if self.action is None else self.action[index]
        return self.context[index], self.target[index], action
