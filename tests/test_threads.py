"""A trial's torch thread count is its config's `threads`, wherever it runs (issue 14, item 9).

- the library: run_trial trains under cfg.train.threads and gives the previous count back;
- end to end: one small trial through run_trial.py and through the matrix (a trial with 2 CPUs) gives
  the same metrics, and both record threads = 1 in their rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

from mopjepa.config import TrialConfig
from mopjepa.data import load_task_data
from mopjepa.experiment import TrialHooks, run_trial
from mopjepa.results import read_table
from tests.interrupts_helpers import driver
from tests.local_ray import stop_nodes

REPO = Path(__file__).resolve().parents[1]
TASK = "pointmaze-medium-stitch-v0"
SMALL = {"steps": 60, "batch_size": 128, "latent_dim": 16, "encoder_hidden": 64, "hidden_dim": 64, "log_every": 20,
         "episodes_per_task": 0}
TIMING = {"seconds", "train_examples_per_s"}


@pytest.mark.parametrize("threads", [1, 2])
def test_run_trial_trains_under_the_configs_threads_and_restores_the_count(full_data_dir, threads):
    flat = {**SMALL, "steps": 20, "task": TASK, "arm": "dense", "seed": 0, "threads": threads,
            "dataset_dir": str(full_data_dir), "download": False}
    cfg = TrialConfig.from_flat(flat)
    task = load_task_data(TASK, str(full_data_dir), download=False)
    seen = []
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        run_trial(cfg, task, hooks=TrialHooks(on_train_metrics=lambda step, _: seen.append(torch.get_num_threads())))
        assert seen and set(seen) == {threads}
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


def _comparable(frame):
    frame = frame[~frame.metric.isin(TIMING)]
    return {(row.metric, row.key): row.value for row in frame.itertuples()}


@pytest.mark.slow
def test_one_trial_gives_the_same_metrics_in_run_trial_py_and_in_the_matrix(tmp_path, full_data_dir):
    flat = {**SMALL, "task": TASK, "arm": "mop", "seed": 0}
    keys = [f"--{key}={value}" for key, value in flat.items() if key not in ("task", "arm", "seed")]
    single = subprocess.run(
        [sys.executable, str(REPO / "pipelines" / "run_trial.py"), "--task", TASK, "--arm", "mop", "--seed", "0",
         *keys, "--dataset-dir", str(full_data_dir), "--no-download", "--out", str(tmp_path / "single")],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=600,
    )
    assert single.returncode == 0, single.stdout[-3000:] + single.stderr[-3000:]
    trials = tmp_path / "matrix.json"
    trials.write_text(json.dumps([flat]))
    ray_tmp = Path(tempfile.mkdtemp(prefix="mj-ray-"))
    matrix = driver(["--trials-file", str(trials), "--storage", str(tmp_path / "store"), "--dataset-dir",
                     str(full_data_dir), "--no-download", "--local-cpus", "2", "--cpus-per-trial", "2"], ray_tmp)
    output, _ = matrix.communicate(timeout=900)
    stop_nodes(ray_tmp)
    assert matrix.returncode == 0, output[-4000:]
    alone = read_table(tmp_path / "single" / "results", "metrics")
    in_matrix = read_table(tmp_path / "store" / "matrix" / "results", "metrics")
    assert list(alone.trial_id.unique()) == list(in_matrix.trial_id.unique())
    assert (alone.threads == 1).all() and (in_matrix.threads == 1).all()
    assert _comparable(alone) == _comparable(in_matrix)
