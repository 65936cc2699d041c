"""Seeded minibatches of (context, target) examples, drawn with replacement.

The sampler holds the example tensors once and draws index tensors from its own generator, so the
batch order depends only on the trial seed, and not on the device: the generator is a CPU one on
every device, so a trial on a GPU sees exactly the batches the same trial sees on the CPU.

``to(device)`` moves the examples once; every batch is then gathered on that device. Indices are
drawn ``CHUNK_STEPS`` batches at a time (one host-to-device copy per chunk, none per step): the CPU
generator gives the same index sequence drawn in one call or in many (tests/test_device.py checks it).
"""

from __future__ import annotations

import numpy as np
import torch

CHUNK_STEPS = 64
"""Batches of indices drawn (and, on an accelerator, copied) at once."""


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
        self._indices = torch.empty(0, batch_size, dtype=torch.long)  # [S, B] drawn, not yet used
        self._next = 0

    def __len__(self) -> int:
        return len(self.context)

    @property
    def device(self) -> torch.device:
        return self.context.device

    def to(self, device: torch.device | str) -> BatchSampler:
        """Move the examples (and any drawn indices) to `device` once; returns the sampler itself."""
        self.context, self.target = self.context.to(device), self.target.to(device)
        self.action = None if self.action is None else self.action.to(device)
        self._indices = self._indices.to(device)
        return self

    def sample(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(context [B, obs_dim], target [B, obs_dim], action [B, p] or None), on the sampler's device."""
        if self._next == len(self._indices):
            drawn = torch.randint(len(self.context), (CHUNK_STEPS, self.batch_size), generator=self.generator)
            self._indices, self._next = drawn.to(self.device), 0  # [S, B]
        index = self._indices[self._next]  # [B]
        self._next += 1
        action = None if self.action is None else self.action[index]
        return self.context[index], self.target[index], action
