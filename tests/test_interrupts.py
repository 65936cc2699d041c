"""Interrupting the matrix driver: a real driver process, a real signal, real Ray, Tune and SQLite MLflow.

SIGINT (Ctrl-C: the whole process group) and SIGTERM (a scheduler: the driver alone) after the first
trial finished: the driver exits 130 / 143 with a summary that counts what finished and what did not
run, the MLflow parent run is KILLED, no Ray process of the driver is left, and the same command then
resumes to completion. A second driver on the same experiment is refused at once, naming the holder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mopjepa.results import completed_trials, read_table
from tests.interrupts_helpers import REPO, driver, leftover_ray, matrix_args, mlflow_runs, tiny_matrix, wait_for

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("signum, whole_group, code", [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)],
                         ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_driver_truthfully_and_the_same_command_resumes(
    tmp_path, full_data_dir, signum, whole_group, code
):
    ray_tmp = Path(tempfile.mkdtemp(prefix="mj-ray-"))  # short: Ray's socket paths live under it
    storage = tmp_path / "store"
    args = matrix_args(tiny_matrix(tmp_path), storage, full_data_dir)
    results = storage / "matrix" / "results"
    first = driver(args, ray_tmp)
    wait_for(lambda: len(completed_trials(results)) >= 1, first)
    assert first.poll() is None, "the experiment ended before it could be interrupted:\n" + first.stdout.read()
    if whole_group:
        os.killpg(first.pid, signum)  # what Ctrl-C in a terminal does
    else:
        os.kill(first.pid, signum)  # what a scheduler or `kill` does
    output, _ = first.communicate(timeout=300)
    assert first.returncode == code, output[-4000:]
    done = len(completed_trials(results))
    assert 1 <= done < 3, output[-4000:]
    name = signal.Signals(signum).name
    assert f"interrupted by {name}: {done} finished (0 already done), 0 failed, {3 - done} not run of 3 planned" \
        in output, output[-4000:]
    assert "run the same command again to resume" in output
    assert "Tuner.restore" not in output  # Tune's own resume advice contradicts that: it is dropped
    assert "done:" not in output
    assert "mlflow ui --backend-store-uri sqlite:///" in output and "workflowType=machine_learning" in output
    assert leftover_ray(ray_tmp) == [], "Ray processes of the interrupted driver are still running"
    _, experiment, parents, children = mlflow_runs(storage, "matrix")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert "preset `custom`" in experiment.tags["mlflow.note.content"]
    assert f"#/experiments/{experiment.experiment_id}?workflowType=machine_learning" in output
    assert [p.info.status for p in parents] == ["KILLED"]
    assert "RUNNING" not in {c.info.status for c in children}

    second = driver(args, ray_tmp)
    output, _ = second.communicate(timeout=900)
    assert second.returncode == 0, output[-4000:]
    assert "resuming" in output, output[-4000:]
    assert f"done: 3 finished ({done} already done), 0 failed, 0 not run of 3 planned" in output, output[-4000:]
    metrics = read_table(results, "metrics")
    assert metrics.trial_id.nunique() == 3 and metrics.groupby(["trial_id", "metric", "key"]).size().max() == 1
    client, _, parents, children = mlflow_runs(storage, "matrix")
    assert [p.info.status for p in parents] == ["FINISHED"]
    assert sorted(c.data.tags["trial_id"] for c in children) == sorted(set(metrics.trial_id))
    for child in children:
        history = client.get_metric_history(child.info.run_id, "train/loss")
        assert len(history) == len({m.step for m in history}), "a training curve was logged twice"
    assert leftover_ray(ray_tmp) == []


def test_a_second_driver_on_the_same_experiment_is_refused_naming_the_holder(tmp_path, full_data_dir):
    ray_tmp = Path(tempfile.mkdtemp(prefix="mj-ray-"))
    storage = tmp_path / "store"
    args = matrix_args(tiny_matrix(tmp_path), storage, full_data_dir)
    first = driver(args, ray_tmp)
    try:
        lock = storage / "matrix" / "driver.lock"
        wait_for(lambda: lock.exists() and str(first.pid) in lock.read_text(), first)
        second = subprocess.run([sys.executable, str(REPO / "pipelines" / "full_matrix.py"), *args], cwd=REPO,
                                env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True,
                                timeout=120)
        assert second.returncode == 2, second.stdout + second.stderr
        message = second.stderr.strip().splitlines()[-1]
        assert message.startswith("error: experiment") and "in use by another driver" in message
        assert f"pid {first.pid} on host {os.uname().nodename}, started 20" in message
    finally:
        os.killpg(first.pid, signal.SIGINT)
        first.communicate(timeout=300)
    assert first.returncode in (0, 130)
    assert leftover_ray(ray_tmp) == []
