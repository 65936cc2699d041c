"""Generate a real experiment directory (Parquet results + manifest.json) for the analysis tests, and run
the aggregate CLI on one in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mopjepa.config import TrialConfig
from mopjepa.data import load_task_data
from mopjepa.experiment import run_trial, summary_tables
from mopjepa.results import Lineage, split_studies, trial_id, write_trial_tables

REPO = Path(__file__).resolve().parents[1]


def generate_experiment(storage: Path, name: str, preset: str, trials: list[dict], dataset_dir: Path,
                        skip: int = 0) -> Path:
    """Run `trials` (flat configs with their studies) in-process into storage/name; the last `skip` planned
    trials are not run."""
    experiment = Path(storage) / name
    experiment.mkdir(parents=True, exist_ok=True)
    entries = [split_studies(entry) for entry in trials]
    planned = [{"trial_id": trial_id(TrialConfig.from_flat(flat)), "flat": flat, "studies": list(studies)}
               for flat, studies in entries]
    (experiment / "manifest.json").write_text(json.dumps({"preset": preset, "name": name, "trials": planned}))
    tasks = {}
    for flat, studies in entries[: len(entries) - skip]:
        cfg = TrialConfig.from_flat({**flat, "dataset_dir": str(dataset_dir), "download": False})
        if cfg.data.task not in tasks:
            tasks[cfg.data.task] = load_task_data(cfg.data.task, str(dataset_dir), download=False)
        task = tasks[cfg.data.task]
        summary = run_trial(cfg, task)
        lineage = Lineage(trial_id(cfg), name, task.data_source, task.data_hash, "testcommit", studies).columns(cfg)
        write_trial_tables(experiment / "results", summary_tables(summary), lineage)
    return experiment


def aggregate_in_fresh_python(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    """`pipelines.aggregate.main(args)` in a new interpreter, which then prints `LOADED [...]`: the heavy
    modules (torch, ray, the model and training code) that aggregation imported, none expected."""
    code = (
        "import sys; from pipelines.aggregate import main; "
        f"rc = main({args!r}); "
        "print('LOADED', sorted(m for m in ('torch', 'ray', 'mopjepa.model', 'mopjepa.train') if m in sys.modules)); "
        "sys.exit(rc)"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=timeout)
