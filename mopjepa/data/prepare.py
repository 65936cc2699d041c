"""A trial's dataset, ahead of the trial: what the drivers prepare once per task before any trial starts."""

from __future__ import annotations

from collections.abc import Callable

from mopjepa.config import BranchTask, MazeTask, TrialConfig
from mopjepa.data.sources import TaskData, load_task_data


def prepare_data(cfg: TrialConfig, progress=None, load: Callable[..., TaskData] = load_task_data) -> TaskData | None:
    """The dataset `cfg` reads, loaded (or regenerated, with `progress(done, total)`); None for a task
    that generates its own data (the branch sweep)."""
    match cfg.task:
        case MazeTask(name=name):
            extra = {} if progress is None else {"progress": progress}
            return load(name, cfg.data.dataset_dir, cfg.data.data_seed, cfg.data.download, **extra)
        case BranchTask():
            return None
    raise TypeError(f"unknown task type {type(cfg.task).__name__}")
