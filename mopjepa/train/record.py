"""What every trial keeps of its training, maze or branch sweep alike: the train loop's callback rows, and
the arm's own diagnostics on a fixed batch of its training examples."""

from __future__ import annotations

import numpy as np
import torch

from mopjepa.config import TrainConfig
from mopjepa.model.world_model import WorldModel
from mopjepa.seeding import numpy_rng
from mopjepa.train.loop import MetricsCallback


class TrainingRecord:
    """The `training` table's rows ({"step", "metric", "value"}), kept as the train loop calls back; each call is
    passed on to `forward` (e.g. the tracker's)."""

    def __init__(self, forward: MetricsCallback | None = None):
        self.rows: list[dict] = []
        self.forward = forward

    def __call__(self, step: int, metrics: dict[str, float]) -> None:
        self.rows.extend({"step": step, "metric": key, "value": value} for key, value in metrics.items())
        if self.forward:
            self.forward(step, metrics)


def diagnostic_rows(model: WorldModel, context: np.ndarray, target: np.ndarray, action: np.ndarray | None,
                    seed: int, key: str = "") -> list[dict]:
    """The arm's diagnostics (e.g. mdn_sigma, mdn_resp_max) on TrainConfig.DIAGNOSTIC_EXAMPLES of the training
    examples context [E, obs_dim], target [E, obs_dim], action [E, p] or None, as rows keyed `key`."""
    count = min(TrainConfig.DIAGNOSTIC_EXAMPLES, len(context))
    index = np.sort(numpy_rng(seed, "diagnostics").choice(len(context), count, replace=False))  # [H]

    def batch(array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(array[index]), dtype=torch.float32, device=model.device)

    model.eval()
    values = model.diagnostics(batch(context), batch(target), None if action is None else batch(action))
    return [{"metric": name, "key": key, "value": value} for name, value in values.items()]
