"""Stand-in model outputs for graph and metric tests: one-hot reference latents (D = N), so an
output that *is* cell m's reference latent decodes to m exactly."""

from __future__ import annotations

import numpy as np


def one_hot_outputs(targets: list[list[int]], num_outputs: int, weights: list[list[float]] | None = None):
    """latents [N, K, N], weights [N, K], reference [N, N] for cell c emitting the reference latents
    of targets[c] (weights: given, or uniform 1/len), padded to K with zero-weight copies of its
    own latent (a self-loop, which the graph drops)."""
    num_cells = len(targets)
    reference = np.eye(num_cells)  # [N, D=N]
    latents = np.repeat(reference[:, None, :], num_outputs, axis=1)  # [N, K, N]
    out_weights = np.zeros((num_cells, num_outputs))  # [N, K]
    for cell, cell_targets in enumerate(targets):
        if len(cell_targets) > num_outputs:
            raise ValueError(f"cell {cell} has {len(cell_targets)} targets > K = {num_outputs}")
        latents[cell, : len(cell_targets)] = reference[cell_targets]
        uniform = [1.0 / len(cell_targets)] * len(cell_targets) if cell_targets else []
        out_weights[cell, : len(cell_targets)] = weights[cell] if weights is not None else uniform
    return latents, out_weights, reference


def oracle_outputs(successor_modes: np.ndarray, successor_counts: np.ndarray, num_outputs: int):
    """The oracle stand-in: each cell emits its true successor modes with their empirical frequencies."""
    totals = np.maximum(successor_counts.sum(axis=1, keepdims=True), 1)
    frequency = successor_counts / totals  # [N, N]
    targets = [np.flatnonzero(row).tolist() for row in successor_modes]
    weights = [frequency[cell, cell_targets].tolist() for cell, cell_targets in enumerate(targets)]
    return one_hot_outputs(targets, num_outputs, weights)


def constant_outputs(num_cells: int, targets: list[int], num_outputs: int):
    """Every cell emits the same latents (an input-agnostic codebook), uniform weights."""
    return one_hot_outputs([list(targets)] * num_cells, num_outputs)
