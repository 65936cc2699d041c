"""The matrix end to end on real Ray, real Tune, real MLflow/SQLite (slow group, tiny budgets).

- the smoke preset submitted with `ray job submit` to a head started with `ray start --head`;
- an experiment interrupted part-way and resumed completes with exactly one row set per trial;
- a trial that raises is retried, then reported failed with its error, while the others finish.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from mopjepa.config import TrialConfig
from mopjepa.results import completed_trials, read_table, split_studies, trial_id
from tests.local_ray import start_head, stop_nodes
from tune_spaces import preset_trials

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
TINY = {"steps": 30, "batch_size": 32, "latent_dim": 8, "encoder_hidden": 32, "hidden_dim": 32, "log_every": 10,
        "episodes_per_task": 0}
PYTHON_BIN = str(Path(sys.executable).parent)


def _env(**extra) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = PYTHON_BIN + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO)
    env.pop("RAY_ADDRESS", None)
    env.update(extra)
    return env


def _matrix(args: list[str], **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO / "pipelines" / "full_matrix.py"), *args], cwd=REPO,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def _children(storage: Path, experiment: str):
    client = MlflowClient(f"sqlite:///{storage / 'mlflow.db'}")
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("mopjepa.parent") == "true"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
    return client, parents, children


def test_smoke_preset_through_ray_job_submit(tmp_path, full_data_dir):
    # A head of our own, stopped by process id: `ray stop` would end every Ray on the machine.
    ray_dir = Path(tempfile.mkdtemp(prefix="mopjepa-ray-"))  # short: Ray's socket paths live under it
    env = _env(RAY_AUTH_MODE="token")
    storage = tmp_path / "store"
    try:
        _, dashboard = start_head(ray_dir, num_cpus=2, dashboard=True)
        job = subprocess.run(
            ["ray", "job", "submit", f"--address=http://127.0.0.1:{dashboard}", f"--working-dir={REPO}", "--",
             "python", "pipelines/full_matrix.py", "--preset", "smoke", "--storage", str(storage),
             "--dataset-dir", str(full_data_dir), "--no-download"],
            env=env, capture_output=True, text=True, timeout=1500,
        )
    finally:
        stop_nodes(ray_dir)
        shutil.rmtree(ray_dir, ignore_errors=True)
    assert job.returncode == 0, job.stdout[-4000:] + job.stderr[-4000:]
    assert "done: 10 finished" in job.stdout

    planned = {trial_id(TrialConfig.from_flat(split_studies(flat)[0])) for flat in preset_trials("smoke")}
    results = storage / "smoke" / "results"
    assert completed_trials(results) == planned
    metrics = read_table(results, "metrics")
    assert set(metrics.trial_id) == planned
    assert {"plan_all", "realroute", "precision", "cov_r", "shuffle", "exec_success"} <= set(metrics.metric)
    assert metrics.groupby(["trial_id", "metric", "key"]).size().max() == 1
    assert (metrics.data_source == "regenerated").all() and metrics.git_commit.str.len().min() >= 7
    assert len(read_table(results, "episodes")) == 10 * 5  # 1 episode x 5 tasks per trial

    client, parents, children = _children(storage, "smoke")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert sorted(r.data.tags["trial_id"] for r in children) == sorted(planned)
    child = children[0]
    assert child.info.status == "FINISHED" and "eval/plan_all" in child.data.metrics
    assert child.data.tags["git_commit"] and child.data.tags["data_hash"] and child.data.tags["preset"] == "smoke"
    artifacts = {a.path for a in client.list_artifacts(child.info.run_id)}
    assert "checkpoint.pt" in artifacts and any(path.endswith(".parquet") for path in artifacts)
    assert len(client.get_metric_history(child.info.run_id, "train/loss")) >= 3


def _tiny_trials(tmp_path: Path, flats: list[dict]) -> Path:
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps([{**TINY, **flat} for flat in flats]))
    return path


def test_interrupted_experiment_resumes_in_the_planned_order_without_rerunning_or_duplicating(tmp_path,
                                                                                             full_data_dir):
    trials = _tiny_trials(tmp_path, [{"task": "pointmaze-medium-stitch-v0", "arm": arm, "seed": seed}
                                     for seed in (0, 1, 2, 3) for arm in ("dense", "mop")])
    storage = tmp_path / "store"
    args = ["--trials-file", str(trials), "--storage", str(storage), "--dataset-dir", str(full_data_dir),
            "--no-download", "--local-cpus", "1", "--max-concurrent", "1"]
    results = storage / "matrix" / "results"
    first = _matrix(args, start_new_session=True)
    deadline = time.time() + 600
    while len(completed_trials(results)) < 2 and time.time() < deadline and first.poll() is None:
        time.sleep(1)
    assert first.poll() is None, "the experiment finished before it could be interrupted"
    os.killpg(first.pid, signal.SIGINT)
    first.communicate(timeout=300)
    done_before = completed_trials(results)
    assert 2 <= len(done_before) <= 5, "too few trials left to see their order"
    mtimes = {path: path.stat().st_mtime_ns for path in (results / "metrics").rglob("*.parquet")}

    second = _matrix(args)
    output, _ = second.communicate(timeout=900)
    assert second.returncode == 0, output[-4000:]
    assert "resuming" in output
    # the rest run in the planned order (one at a time), numbered after the trials already done
    ran = re.findall(r"^\[(\d+)/8\] (\w+) +\S+ +seed (\d)", output, re.MULTILINE)
    manifest = json.loads((storage / "matrix" / "manifest.json").read_text())["trials"]
    expected = [(t["flat"]["arm"], str(t["flat"]["seed"])) for t in manifest if t["trial_id"] not in done_before]
    assert [(arm, seed) for _, arm, seed in ran] == expected
    assert [int(k) for k, _, _ in ran] == list(range(len(done_before) + 1, 9))
    metrics = read_table(results, "metrics")
    assert metrics.trial_id.nunique() == 8
    assert metrics.groupby(["trial_id", "metric", "key"]).size().max() == 1
    for path, mtime in mtimes.items():
        assert path.stat().st_mtime_ns == mtime, f"{path.name} was rewritten: a finished trial ran again"
    _, parents, children = _children(storage, "matrix")
    assert len(parents) == 1
    assert sorted(r.data.tags["trial_id"] for r in children) == sorted(set(metrics.trial_id))


def test_a_failing_trial_is_retried_then_reported_while_the_others_finish(tmp_path, full_data_dir):
    good = [{"task": "pointmaze-medium-stitch-v0", "arm": "dense", "seed": s} for s in (0, 1)]
    bad = {"task": "pointmaze-medium-stitch-v0", "arm": "dense", "seed": 2, "lr": 1e30}  # diverges at step 2
    trials = _tiny_trials(tmp_path, [*good, bad])
    storage = tmp_path / "store"
    run = _matrix(["--trials-file", str(trials), "--storage", str(storage), "--dataset-dir", str(full_data_dir),
                   "--no-download", "--local-cpus", "2", "--max-failures", "1"])
    output, _ = run.communicate(timeout=900)
    assert run.returncode == 1, output[-4000:]
    assert "retrying dense" in output
    assert "FAILED dense" in output and "training diverged at step 2" in output
    assert "done: 2 finished" in output and "1 failed" in output
    results = storage / "matrix" / "results"
    bad_id = trial_id(TrialConfig.from_flat({**TINY, **bad}))
    assert bad_id not in completed_trials(results) and len(completed_trials(results)) == 2
    _, parents, children = _children(storage, "matrix")
    assert parents[0].info.status == "FAILED"
    statuses = {r.data.tags["trial_id"]: r.info.status for r in children}
    assert statuses[bad_id] == "FAILED" and list(statuses.values()).count("FINISHED") == 2
