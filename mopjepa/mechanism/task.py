"""The controlled branch sweep's generated task (Fig. 4 middle): M successor modes per context.

    states     S orthonormal unit vectors in R^obs_dim (a seeded random rotation of the basis)
    modes      state s has M successor modes: M other states, a seeded draw per s, with weights
               w_m proportional to (m + 1) ** -weight_skew (uniform by default)
    examples   context = states[s] + noise, target = states[successor of s drawn from w] + noise,
               noise = mode_sigma * eps / sqrt(obs_dim) with eps ~ N(0, I) (so |noise| ~ mode_sigma)

Every mode centre is itself a context, so the encoder is trained to tell all of them apart, as in a
maze where every next cell is also a cell. Plain numpy: the same arrays feed every arm through the
ordinary WorldModel, BatchSampler and training loop.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from mopjepa.config import BranchSweepConfig


@dataclass(frozen=True)
class BranchSweepData:
    """The generated arrays of one branch-sweep trial (its config: mopjepa.config.BranchTask's spec)."""

    states: np.ndarray
    """[S, obs_dim] float32 orthonormal state vectors (the noise-free contexts and mode centres)."""
    successors: np.ndarray
    """[S, M] int the states that are each state's successor modes."""
    weights: np.ndarray
    """[S, M] float mode weights w (rows sum to 1)."""
    context: np.ndarray
    """[E, obs_dim] float32 training contexts."""
    target: np.ndarray
    """[E, obs_dim] float32 training targets."""
    state: np.ndarray
    """[E] int state of each example's context."""
    mode: np.ndarray
    """[E] int which of its state's modes each example's target drew."""

    @property
    def num_modes(self) -> int:
        return self.successors.shape[1]

    def content_hash(self) -> str:
        """sha256 of the generated arrays (the task's `data_hash`)."""
        digest = hashlib.sha256()
        for array in (self.states, self.successors, self.weights, self.context, self.target):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()


def mode_weights(num_modes: int, skew: float) -> np.ndarray:
    """[M] w_m proportional to (m + 1) ** -skew."""
    raw = (np.arange(num_modes) + 1.0) ** -skew
    return raw / raw.sum()


def make_branch_task(cfg: BranchSweepConfig, rng: np.random.Generator) -> BranchSweepData:
    """The task of one trial, every draw from `rng` (the trial's 'task' stream)."""
    S, M, obs_dim = cfg.num_states, cfg.num_modes, cfg.obs_dim
    rotation, _ = np.linalg.qr(rng.normal(size=(obs_dim, obs_dim)))
    states = rotation[:, :S].T.astype(np.float32)  # [S, obs_dim]
    successors = np.stack([
        np.delete(np.arange(S), s)[rng.permutation(S - 1)[:M]] for s in range(S)
    ])  # [S, M]
    weights = np.broadcast_to(mode_weights(M, cfg.weight_skew), (S, M)).copy()  # [S, M]
    state = rng.integers(S, size=cfg.num_examples)  # [E]
    mode = rng.choice(M, size=cfg.num_examples, p=weights[0])  # [E]
    scale = cfg.mode_sigma / np.sqrt(obs_dim)
    context = states[state] + scale * rng.normal(size=(cfg.num_examples, obs_dim))  # [E, obs_dim]
    target = states[successors[state, mode]] + scale * rng.normal(size=(cfg.num_examples, obs_dim))
    return BranchSweepData(
        states=states,
        successors=successors,
        weights=weights,
        context=context.astype(np.float32),
        target=target.astype(np.float32),
        state=state,
        mode=mode,
    )
