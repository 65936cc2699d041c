"""One trial end to end: experiment.run_trial and the single-trial CLI (pipelines/run_trial.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mopjepa.config import TrialConfig
from mopjepa.data import load_task_data
from mopjepa.evaluate import headline
from mopjepa.experiment import TrialHooks, run_trial, summary_tables
from mopjepa.results import read_table

REPO = Path(__file__).resolve().parents[1]
TINY = {"steps": 20, "batch_size": 32, "latent_dim": 8, "encoder_hidden": 32, "hidden_dim": 32, "log_every": 10}
PROTOCOL_METRICS = set(headline.PROTOCOL_METRICS)


def _trial(small_data_dir, **flat):
    task = load_task_data("pointmaze-teleport-navigate-v0", small_data_dir)
    cfg = TrialConfig.from_flat(
        {"task": "pointmaze-teleport-navigate-v0", "arm": "mop", "K": 4, "episodes_per_task": 1, **TINY, **flat}
    )
    jobs = []

    def recording_map(fn, batch):
        jobs.extend(batch)
        return [fn(job) for job in batch]

    return run_trial(cfg, task, hooks=TrialHooks(map_episodes=recording_map)), jobs


def test_a_trial_reports_every_protocol_metric_and_is_seeded(small_data_dir):
    first, jobs = _trial(small_data_dir)
    second, _ = _trial(small_data_dir)
    names = {row["metric"] for row in first.metrics}
    assert PROTOCOL_METRICS <= names
    assert {row["key"] for row in first.metrics if row["metric"] == "cov_r"} == {"branching", "teleport"}
    # 5 episodes, then the same 5 seeds on the empty graph, the ceiling's graph and the truth's
    assert len(first.episodes) == 5 and len(jobs) == 20

    def deterministic(summary):
        return [r for r in summary.metrics if r["metric"] not in ("seconds", "train_examples_per_s")]

    assert [(r["metric"], r["key"]) for r in deterministic(first)] == [
        (r["metric"], r["key"]) for r in deterministic(second)
    ]
    np.testing.assert_array_equal(
        [r["value"] for r in deterministic(first)], [r["value"] for r in deterministic(second)]
    )
    assert first.episodes == second.episodes
    tables = summary_tables(first)
    assert tables["edges"] and tables["training"] and tables["outputs"] and len(tables["episodes"]) == 5


@pytest.mark.parametrize("plan_graph", ["raw", "gated"])
def test_the_executor_plans_in_the_configured_graph(small_data_dir, plan_graph):
    summary, jobs = _trial(small_data_dir, plan_graph=plan_graph)
    expected = summary.blind.raw if plan_graph == "raw" else summary.blind.gated_graph
    executed, floor, ceiling, truth = jobs[:5], jobs[5:10], jobs[10:15], jobs[15:]
    for job in executed:
        np.testing.assert_array_equal(job.graph.source, expected.source)
        np.testing.assert_array_equal(job.graph.target, expected.target)
    # The floor and the ceilings: the same episode seeds on an empty graph and on ground truth's graphs.
    for reference in (floor, ceiling, truth):
        assert [job.seed for job in reference] == [job.seed for job in executed]
    assert all(job.graph.num_edges == 0 for job in floor)
    assert 0 < ceiling[0].graph.num_edges < truth[0].graph.num_edges


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "pipelines" / "run_trial.py"), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_run_trial_cli_writes_long_form_parquet_and_prints_a_summary(small_data_dir, tmp_path):
    out = tmp_path / "out"
    run = _cli(
        "--task",
        "pointmaze-medium-stitch-v0",
        "--arm",
        "mop",
        "--seed",
        "1",
        "--steps",
        "20",
        "--dataset-dir",
        str(small_data_dir),
        "--out",
        str(out),
        "--no-download",
        "--K",
        "4",
        "--lam-route",
        "0.5",
        "--batch-size",
        "32",
        "--episodes-per-task",
        "1",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "plan_all" in run.stdout and "realroute" in run.stdout and "exec_success" in run.stdout
    metrics = read_table(out / "results", "metrics")
    assert {"metric", "key", "value", "arm", "seed", "K", "lam_route", "trial_id", "data_hash"} <= set(metrics.columns)
    assert (metrics.K == 4).all() and (metrics.lam_route == 0.5).all() and (metrics.seed == 1).all()
    # Where it ran, on every row: the versions that can move its numbers, and the processor.
    assert metrics.environment.nunique() == 1
    environment = json.loads(metrics.environment.iloc[0])
    assert set(environment) == {"python", "torch", "numpy", "mujoco", "ogbench", "ray", "processor"}
    assert environment["numpy"] == np.__version__ and environment["torch"] == torch.__version__
    assert environment["processor"] and environment["mujoco"] != "absent"
    assert metrics.groupby(["metric", "key"]).size().max() == 1
    assert not read_table(out / "results", "edges").empty
    assert len(list((out / "trials").glob("*/checkpoint.pt"))) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--arm", "dense", "--K", "4"], "unknown config key 'K' for arm 'dense'"),
        (["--arm", "mop", "--lam-rout", "1"], "unknown config key 'lam_rout'"),
        (["--arm", "mop", "--K", "zero"], "'K' = 'zero' is not allowed"),
        (["--task", "pointmaze-huge-stitch-v0"], "unknown maze 'huge'"),
        (["--task", "antmaze-teleport-navigate-v0"], "antmaze-teleport-navigate-v0.npz"),
    ],
)
def test_run_trial_cli_rejects_bad_input_with_a_clear_message(tmp_path, args, message):
    run = _cli(*args, "--dataset-dir", str(tmp_path), "--no-download", "--out", str(tmp_path / "out"))
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr


@pytest.mark.slow
def test_run_trial_cli_prepares_a_missing_dataset(tmp_path):
    run = _cli(
        "--task",
        "pointmaze-medium-stitch-v0",
        "--arm",
        "dense",
        "--steps",
        "10",
        "--batch-size",
        "16",
        "--episodes-per-task",
        "0",
        "--dataset-dir",
        str(tmp_path / "data"),
        "--no-download",
        "--out",
        str(tmp_path / "out"),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "regenerated" in run.stdout
    assert (tmp_path / "data" / "regenerated" / "seed-0" / "pointmaze-medium-stitch-v0.npz").exists()
