"""A world model a user might bring to the audit: transition counts, no neural network.

    python pipelines/audit.py --task pointmaze-teleport-navigate-v0 --model examples.tabular_model:factory
    python pipelines/audit.py --task pointmaze-teleport-navigate-v0 --model examples.tabular_model:marginal_factory

`factory` counts, in the TRAIN split of the dataset, which cell each cell's visits move to next:
    encode(observations [N, obs_dim]) -> [N, C]      one-hot of the maze cell under the agent's xy
    successors(observations) -> ([N, K, C], [N, K])  the K most frequent next cells and their frequencies
It has no rollout function, so the audit's two steps go through the decoded cells. It learns from
all train transitions, the protocol's held-out pairs included, so its *_heldout metrics say nothing
about generalization. It should score precision 1 (every counted move is real) and a shuffle well
above 1 (its outputs depend on the context).

`marginal_factory` is the freeloader the protocol must catch: the same K cells (the most frequent
destinations overall) for every input. Its shuffle is exactly 1.

Both factories take no arguments and read MOPJEPA_AUDIT_TASK / MOPJEPA_AUDIT_DATASET_DIR (which
pipelines/audit.py exports) to load the same dataset as the audit.
"""

from __future__ import annotations

import os

import numpy as np

from mopjepa.data import TaskData, load_task_data
from mopjepa.data.cells import transition_counts

K = 8


def _task() -> TaskData:
    task = os.environ.get("MOPJEPA_AUDIT_TASK", "pointmaze-teleport-navigate-v0")
    dataset_dir = os.environ.get("MOPJEPA_AUDIT_DATASET_DIR", "~/.ogbench/data")
    return load_task_data(task, dataset_dir)


def factory():
    return tabular_model(_task(), K)


def marginal_factory():
    return marginal_model(_task(), K)


def _encoder(task: TaskData):
    geometry = task.geometry
    one_hot = np.eye(geometry.num_cells, dtype=np.float32)  # [C, C]

    def cells_of(observations: np.ndarray) -> np.ndarray:
        cells = geometry.xy_to_cell(observations[:, :2])  # [N]
        if (cells < 0).any():
            raise ValueError(f"{int((cells < 0).sum())} observations lie outside the maze's free cells")
        return cells

    def encode(observations: np.ndarray) -> np.ndarray:
        return one_hot[cells_of(observations)]  # [N, C]

    return cells_of, encode, one_hot


def tabular_model(task: TaskData, num_outputs: int = K):
    """(encode, successors): the num_outputs most frequent next cells of the agent's cell."""
    cells_of, encode, one_hot = _encoder(task)
    counts = transition_counts(task.train, task.geometry).astype(np.float64)  # [C, C]
    np.fill_diagonal(counts, 0.0)
    top = np.argsort(-counts, axis=1, kind="stable")[:, :num_outputs]  # [C, K]
    totals = np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    top_weights = np.take_along_axis(counts, top, axis=1) / totals  # [C, K]
    # A next cell never seen gets weight 0 and, instead of some arbitrary cell, the cell itself
    # (a self-loop: no edge).
    top = np.where(top_weights > 0, top, np.arange(len(top))[:, None])

    def successors(observations: np.ndarray):
        cells = cells_of(observations)  # [N]
        return one_hot[top[cells]], top_weights[cells].astype(np.float32)  # [N, K, C], [N, K]

    return encode, successors


def marginal_model(task: TaskData, num_outputs: int = K):
    """(encode, successors): the num_outputs most frequent next cells overall, whatever the input."""
    _, encode, one_hot = _encoder(task)
    counts = transition_counts(task.train, task.geometry).sum(axis=0).astype(np.float64)  # [C] arrivals
    top = np.argsort(-counts, kind="stable")[:num_outputs]  # [K]
    weights = (np.full(num_outputs, 1.0 / num_outputs)).astype(np.float32)

    def successors(observations: np.ndarray):
        rows = len(observations)
        return np.broadcast_to(one_hot[top], (rows, *one_hot[top].shape)).copy(), np.tile(weights, (rows, 1))

    return encode, successors
