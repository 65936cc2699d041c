"""Soak: the driver of a small matrix is SIGKILLed at random moments and rerun each time (slow group).

Nothing can run on SIGKILL, so this checks what the files and the store hold afterwards: every kill
leaves a state the same command resumes from (the dead driver's lock is taken over), and at the end
every planned trial has exactly one set of Parquet rows and one MLflow child run, and no run holds a
metric entry (key, step) twice.
"""

from __future__ import annotations

import os
import random
import signal
import tempfile
import time
from pathlib import Path

import pytest

from mopjepa.results import TABLES, completed_trials, read_table
from tests.interrupts_helpers import driver, matrix_args, mlflow_runs, tiny_matrix
from tests.local_ray import node_pids, stop_nodes

pytestmark = pytest.mark.slow

KILLS = 3


def test_sigkilled_driver_reruns_to_one_set_of_rows_and_runs_per_trial(tmp_path, full_data_dir):
    rng = random.Random(int(os.environ.get("MOPJEPA_SOAK_SEED", "0")))
    ray_tmp = Path(tempfile.mkdtemp(prefix="mj-ray-"))
    storage = tmp_path / "store"
    args = matrix_args(tiny_matrix(tmp_path), storage, full_data_dir)
    results = storage / "matrix" / "results"
    for kill in range(KILLS):
        run = driver(args, ray_tmp)
        moment = rng.uniform(1.0, 45.0)
        deadline = time.time() + moment
        while run.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        if run.poll() is None:
            os.kill(run.pid, signal.SIGKILL)
        output, _ = run.communicate(timeout=120)
        if kill > 0 and "experiment matrix:" in output:
            assert "error: experiment" not in output, output[-3000:]  # the dead driver's lock was taken over
        # SIGKILL runs no clean-up; Ray's reaper ends the node. Stop what is left (by pid) before the rerun.
        deadline = time.time() + 60
        while node_pids(ray_tmp) and time.time() < deadline:
            time.sleep(0.5)
        stop_nodes(ray_tmp)
    final = driver(args, ray_tmp)
    output, _ = final.communicate(timeout=900)
    assert final.returncode == 0, output[-4000:]
    assert "done: 3 finished" in output and "0 not run of 3 planned" in output, output[-4000:]
    stop_nodes(ray_tmp)

    planned = completed_trials(results)
    assert len(planned) == 3
    metrics = read_table(results, "metrics")
    assert metrics.trial_id.nunique() == 3 and metrics.groupby(["trial_id", "metric", "key"]).size().max() == 1
    for table in TABLES:
        files = list((results / table).glob("task=*/arm=*/*.parquet"))
        assert len(files) == len({path.stem for path in files}) and {path.stem for path in files} <= planned
    client, _, parents, children = mlflow_runs(storage, "matrix")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert sorted(run.data.tags["trial_id"] for run in children) == sorted(planned)
    for run in children:
        assert run.info.status == "FINISHED"
        for key in run.data.metrics:
            steps = [metric.step for metric in client.get_metric_history(run.info.run_id, key)]
            assert len(steps) == len(set(steps)), f"{key} of {run.info.run_name} was logged twice"
