"""An action-conditioned world model to audit: where a move in a direction leads, read off the maze map.

    python pipelines/audit.py --task pointmaze-medium-stitch-v0 --model examples.direction_model:factory \
        --query-actions compass8

`factory` knows the maze's layout and nothing of its data: asked about an observation and an action,
    encode(observations [N, obs_dim]) -> [N, C]                 one-hot of the maze cell under the agent's xy
    successors(observations, actions [N, 2]) -> ([N, 1, C], [N, 1])
        the cell one maze unit away in the action's compass direction (one of 8), weight 1; the cell
        itself (a self-loop: no edge) when that is a wall
It never reads a transition of the dataset, so it proposes the protocol's held-out transitions as
readily as the trained ones: every real move between neighbouring cells is some direction's answer,
so its recall_heldout is 1 and its realroute that of the real graph. Its diagonal answers that cross
a wall corner are its false edges (precision below 1). It is what an action-conditioned model that
generalizes perfectly looks like to the audit, and why a model must be queried with actions to show it.
"""

from __future__ import annotations

import numpy as np

from examples.tabular_model import _encoder, _task
from mopjepa.audit import ModelFunctions
from mopjepa.data import TaskData


def factory() -> ModelFunctions:
    return direction_model(_task())


def direction_model(task: TaskData) -> ModelFunctions:
    """The free cell one maze unit away in each action's compass direction (takes_actions)."""
    geometry = task.geometry
    cells_of, encode, one_hot = _encoder(task)
    centres = geometry.ij_to_xy(geometry.free_ij)  # [C, 2]

    def successors(observations: np.ndarray, actions: np.ndarray):
        cells = cells_of(observations)  # [N]
        angle = np.round(np.arctan2(actions[:, 1], actions[:, 0]) / (np.pi / 4)) * (np.pi / 4)  # [N]
        step = np.round(np.stack([np.cos(angle), np.sin(angle)], axis=1))  # [N, 2] in {-1, 0, 1}
        target = geometry.xy_to_cell(centres[cells] + geometry.maze_unit * step)  # [N], -1 off the free cells
        target = np.where(target >= 0, target, cells)
        return one_hot[target][:, None, :], np.ones((len(cells), 1), dtype=np.float32)  # [N, 1, C], [N, 1]

    return ModelFunctions(encode, successors, takes_actions=True)
