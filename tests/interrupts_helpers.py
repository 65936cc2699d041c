"""Shared by the interrupt and soak tests: a tiny matrix, the real driver in its own session, its runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

from tests.local_ray import node_pids

REPO = Path(__file__).resolve().parents[1]
TINY = {"steps": 30, "batch_size": 32, "latent_dim": 8, "encoder_hidden": 32, "hidden_dim": 32, "log_every": 10,
        "episodes_per_task": 0}
TASK = "pointmaze-medium-stitch-v0"


def tiny_matrix(tmp_path: Path, seeds=(0, 1, 2), arms=("dense",)) -> Path:
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps([{**TINY, "task": TASK, "arm": arm, "seed": s} for s in seeds for arm in arms]))
    return path


def with_default_sigint() -> None:
    """A child's SIGINT as in a terminal. A shell without job control starts a background job (`pytest &`) with
    SIGINT ignored, a disposition its children inherit: there, no Ctrl-C could reach them."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def driver(args: list[str], ray_tmp: Path) -> subprocess.Popen:
    """The real driver in its own session (like a terminal's foreground job); its Ray lives under ray_tmp."""
    env = dict(os.environ, PYTHONPATH=str(REPO), RAY_TMPDIR=str(ray_tmp))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("RAY_ADDRESS", None)
    return subprocess.Popen([sys.executable, str(REPO / "pipelines" / "full_matrix.py"), *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=with_default_sigint)


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
