"""Generate a real experiment directory (Parquet results + manifest.json) for the analysis tests."""

from __future__ import annotations

import json
from pathlib import Path

from mopjepa.config import TrialConfig
from mopjepa.data import load_task_data
from mopjepa.experiment import run_trial, summary_tables
from mopjepa.results import Lineage, trial_id, write_trial_tables


def generate_experiment(storage: Path, name: str, preset: str, trials: list[dict], dataset_dir: Path,
                        skip: int = 0) -> Path:
    """Run `trials` (flat configs) in-process into storage/name; the last `skip` planned trials are not run."""
    experiment = Path(storage) / name
    experiment.mkdir(parents=True, exist_ok=True)
    planned = [{"trial_id": trial_id(TrialConfig.from_flat(flat)), "flat": flat} for flat in trials]
    (experiment / "manifest.json").write_text(json.dumps({"preset": preset, "name": name, "trials": planned}))
    tasks = {}
    for flat in trials[: len(trials) - skip]:
        cfg = TrialConfig.from_flat({**flat, "dataset_dir": str(dataset_dir), "download": False})
        if cfg.data.task not in tasks:
            tasks[cfg.data.task] = load_task_data(cfg.data.task, str(dataset_dir), download=False)
        task = tasks[cfg.data.task]
        summary = run_trial(cfg, task)
        lineage = Lineage(trial_id(cfg), name, task.data_source, task.data_hash, "testcommit").columns(cfg)
        write_trial_tables(experiment / "results", summary_tables(summary), lineage)
    return experiment
