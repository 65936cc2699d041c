"""Interrupting the matrix driver: a real driver process, a real signal, real Ray, Tune and SQLite MLflow.

SIGINT (Ctrl-C: the whole process group) and SIGTERM (a scheduler: the driver alone) after the first
trial finished: the driver exits 130 / 143 with a summary that counts what finished and what did not
run, the MLflow parent run is KILLED, no Ray process of the driver is left, and the same command then
resumes to completion. A second driver on the same experiment is refused at once, naming the holder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from mopjepa.results import completed_trials, read_table
from tests.local_ray import node_pids

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
TINY = {"steps": 30, "batch_size": 32, "latent_dim": 8, "encoder_hidden": 32, "hidden_dim": 32, "log_every": 10,
        "episodes_per_task": 0}
TASK = "pointmaze-medium-stitch-v0"


def tiny_matrix(tmp_path: Path, seeds=(0, 1, 2), arms=("dense",)) -> Path:
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps([{**TINY, "task": TASK, "arm": arm, "seed": s} for s in seeds for arm in arms]))
    return path


def driver(args: list[str], ray_tmp: Path) -> subprocess.Popen:
    """The real driver in its own session (like a terminal's foreground job); its Ray lives under ray_tmp."""
    env = dict(os.environ, PYTHONPATH=str(REPO), RAY_TMPDIR=str(ray_tmp))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("RAY_ADDRESS", None)
    return subprocess.Popen([sys.executable, str(REPO / "pipelines" / "full_matrix.py"), *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def matrix_args(trials: Path, storage: Path, data_dir: Path) -> list[str]:
    return ["--trials-file", str(trials), "--storage", str(storage), "--dataset-dir", str(data_dir), "--no-download",
            "--local-cpus", "1", "--max-concurrent", "1"]


def wait_for(condition, process: subprocess.Popen, limit: float = 600) -> None:
    deadline = time.time() + limit
    while not condition() and process.poll() is None and time.time() < deadline:
        time.sleep(0.5)


def leftover_ray(ray_tmp: Path, limit: float = 30) -> list[int]:
    """Processes of the driver's Ray still alive once the driver has exited (given a moment to go)."""
    deadline = time.time() + limit
    while node_pids(ray_tmp) and time.time() < deadline:
        time.sleep(0.5)
    return node_pids(ray_tmp)


def mlflow_runs(storage: Path, name: str):
    client = MlflowClient(f"sqlite:///{storage / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(name)
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("mopjepa.parent") == "true"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
    return client, experiment, parents, children


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
    assert f"interrupted by {name}: {done} of 3 finished" in output, output[-4000:]
    assert f"{3 - done} not run" in output and "run the same command again to resume" in output
    assert "done:" not in output
    assert "mlflow ui --backend-store-uri sqlite:///" in output and "workflowType=machine_learning" in output
    assert leftover_ray(ray_tmp) == [], "Ray processes of the interrupted driver are still running"
    _, _, parents, children = mlflow_runs(storage, "matrix")
    assert [p.info.status for p in parents] == ["KILLED"]
    assert "RUNNING" not in {c.info.status for c in children}

    second = driver(args, ray_tmp)
    output, _ = second.communicate(timeout=900)
    assert second.returncode == 0, output[-4000:]
    assert "resuming" in output and "done: 3 of 3 finished" in output, output[-4000:]
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
