"""The action set an action-conditioned model is queried with (GraphConfig.query_actions).

'compass4' and 'compass8' are the unit compass directions (east, north, west, south, then the
diagonals), scaled by the median norm of the actions the model's contexts carried in training (the
train split's, under the trial's context mode), so a query asks for a typical move in each direction.
Only the train split's actions are read: the action set is blind like the rest of the query.
"""

from __future__ import annotations

import numpy as np

COMPASS = {
    "compass4": [(1, 0), (0, 1), (-1, 0), (0, -1)],
    "compass8": [(1, 0), (0, 1), (-1, 0), (0, -1), (1, 1), (-1, 1), (-1, -1), (1, -1)],
}


def action_scale(train_actions: np.ndarray) -> float:
    """Median norm of the [E, p] actions the model trained with."""
    return float(np.median(np.linalg.norm(train_actions, axis=1)))


def query_action_set(kind: str, train_actions: np.ndarray | None) -> np.ndarray | None:
    """[A, p] the actions every cell is queried with, or None for 'none' (an action-free model)."""
    if kind == "none":
        return None
    if kind not in COMPASS:
        raise ValueError(f"query_actions {kind!r} is not one of {('none', *COMPASS)}")
    if train_actions is None:
        raise ValueError(f"query_actions {kind!r} needs a model whose context has an action (context_action "
                         "'step' or 'to_exit'); an action-free model is queried with 'none'")
    if train_actions.ndim != 2 or train_actions.shape[1] != 2:
        raise ValueError(f"query_actions {kind!r} needs a 2-D action space (pointmaze); the data's actions "
                         f"have shape {list(train_actions.shape)}")
    directions = np.asarray(COMPASS[kind], dtype=np.float64)  # [A, 2]
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return (directions * action_scale(train_actions)).astype(np.float32)
