"""The controlled branch sweep: the generated task, the measurements, and Props. 1-3 on trained arms."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from mopjepa.config import (
    BRANCH_SWEEP_TASK,
    MAZE_KEYS,
    BranchSweepConfig,
    BranchTask,
    ConfigError,
    DataConfig,
    ExecuteConfig,
    GraphConfig,
    MazeTask,
    TrialConfig,
    trial_kind,
)
from mopjepa.experiment import run, run_trial
from mopjepa.mechanism import make_branch_task, mechanism_rows, mode_weights, run_branch_sweep

pytestmark = pytest.mark.usefixtures("one_thread")  # single-threaded: fast on a shared 2-core machine

SMALL = {
    "task": BRANCH_SWEEP_TASK,
    "num_states": 8,
    "obs_dim": 8,
    "num_examples": 4000,
    "latent_dim": 16,
    "encoder_hidden": 64,
    "hidden_dim": 64,
    "batch_size": 128,
    "steps": 500,
    "log_every": 100,
}


def values(arm: str, num_modes: int, seed: int = 0, **extra) -> dict[str, float]:
    cfg = TrialConfig.from_flat({**SMALL, "arm": arm, "num_modes": num_modes, "seed": seed, **extra})
    summary = run_branch_sweep(cfg)
    assert {row["key"] for row in summary.rows} == {str(num_modes)}
    return {row["metric"]: row["value"] for row in summary.rows}


# ---- the task ----------------------------------------------------------------------------------


def test_the_task_has_orthonormal_states_distinct_modes_and_is_seeded():
    cfg = BranchSweepConfig(num_modes=4, num_states=8, obs_dim=10, num_examples=3000, weight_skew=1.0)
    task = make_branch_task(cfg, np.random.default_rng(0))
    np.testing.assert_allclose(task.states @ task.states.T, np.eye(8), atol=1e-6)
    assert task.successors.shape == (8, 4)
    for state, modes in enumerate(task.successors):
        assert len(set(modes)) == 4 and state not in modes
    np.testing.assert_allclose(task.weights[0], [12 / 25, 6 / 25, 4 / 25, 3 / 25])  # Zipf, skew 1
    frequency = np.bincount(task.mode, minlength=4) / len(task.mode)
    np.testing.assert_allclose(frequency, task.weights[0], atol=0.03)
    noise = task.target - task.states[task.successors[task.state, task.mode]]
    assert np.linalg.norm(noise, axis=1).mean() == pytest.approx(0.1, rel=0.1)
    again = make_branch_task(cfg, np.random.default_rng(0))
    assert again.content_hash() == task.content_hash()
    assert make_branch_task(cfg, np.random.default_rng(1)).content_hash() != task.content_hash()
    np.testing.assert_allclose(mode_weights(3, 0.0), [1 / 3] * 3)


@pytest.mark.parametrize(
    ("flat", "fragment"),
    [
        ({"num_modes": 3}, "unknown config key(s) ['num_modes'] for arm 'mop' (['num_modes'] need task 'mechanism')"),
        ({"task": BRANCH_SWEEP_TASK, "num_modes": 16}, "'num_modes' = 16 is not allowed: must be < num_states = 16"),
        ({"task": BRANCH_SWEEP_TASK, "num_states": 20}, "'num_states' = 20 is not allowed: must be <= obs_dim = 16"),
        ({"task": BRANCH_SWEEP_TASK, "hit_cosine": 1.0}, "'hit_cosine' = 1.0 is not allowed: must be in (0, 1)"),
        ({"task": BRANCH_SWEEP_TASK, "mode_sigma": -1.0}, "'mode_sigma' = -1.0 is not allowed"),
    ],
)
def test_mechanism_config_errors_name_field_value_and_allowed(flat, fragment):
    with pytest.raises(ConfigError) as error:
        TrialConfig.from_flat({"arm": "mop", **flat})
    assert fragment in str(error.value)


def test_branch_sweep_trials_round_trip_and_maze_trials_keep_their_identity():
    cfg = TrialConfig.from_flat({"task": BRANCH_SWEEP_TASK, "arm": "dense", "num_modes": 3})
    assert cfg.branch_sweep == BranchSweepConfig(num_modes=3)
    assert TrialConfig.from_flat(cfg.to_flat()) == cfg and "num_modes" in cfg.to_flat()
    assert TrialConfig().branch_sweep is None and "num_modes" not in TrialConfig().to_flat()
    assert cfg.task == BranchTask(BranchSweepConfig(num_modes=3))
    assert TrialConfig().task == MazeTask("pointmaze-medium-stitch-v0")
    with pytest.raises(ValueError, match="is not a maze: run any trial with mopjepa.experiment.run"):
        run_trial(cfg, task=None)


# ---- the trial's kind ----------------------------------------------------------------------------


def test_a_branch_sweep_trial_has_no_maze_keys_and_a_maze_trial_has_them_all():
    for arm in ("dense", "mop", "mdn"):
        cfg = TrialConfig.from_flat({"task": BRANCH_SWEEP_TASK, "arm": arm, "num_modes": 2})
        flat = cfg.to_flat()
        assert set(flat) == set(TrialConfig.allowed_keys(arm, BRANCH_SWEEP_TASK))
        assert not set(flat) & MAZE_KEYS
        assert not set(flat) & {f.name for f in dataclasses.fields(ExecuteConfig)}
        assert {"task", "gate_factor", "gate_threshold", "steps", "latent_dim", "num_modes", "seed"} <= set(flat)
        maze = TrialConfig.from_flat({"arm": arm}).to_flat()
        assert MAZE_KEYS <= set(maze) and not {f.name for f in dataclasses.fields(BranchSweepConfig)} & set(maze)


def test_an_older_branch_sweep_config_with_maze_keys_loads_without_them():
    branch = {"task": BRANCH_SWEEP_TASK, "arm": "mop", "K": 4, "num_modes": 3}
    older = {**TrialConfig.from_flat({"arm": "mop", "K": 4}).to_flat(), **branch, "context_action": False,
             "dataset_dir": "/data/ogbench", "download": False, "execute_workers": 4}  # runtime: any value
    assert TrialConfig.from_flat(older) == TrialConfig.from_flat(branch)
    assert TrialConfig.from_flat(older).to_flat() == TrialConfig.from_flat(branch).to_flat()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"plan_graph": "gated"}, "config field 'plan_graph' = 'gated' is not allowed: must be left out of a "
         "branch-sweep trial (task 'mechanism'), which never reads it (or at its default 'raw')"),
        ({"holdout_fraction": 0.1}, "config field 'holdout_fraction' = 0.1 is not allowed: must be left out of a "
         "branch-sweep trial (task 'mechanism'), which never reads it (or at its default 0.2)"),
        ({"context_action": "step", "query_actions": "compass4"}, "config field 'context_action' = 'step'"),
        ({"eval_every": 100}, "config field 'eval_every' = 100 is not allowed: must be left out"),
    ],
)
def test_a_maze_value_on_a_branch_sweep_trial_is_a_one_line_error(extra, message):
    with pytest.raises(ConfigError) as error:
        TrialConfig.from_flat({"task": BRANCH_SWEEP_TASK, "arm": "dense", **extra})
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_a_nested_branch_sweep_trial_keeps_its_maze_fields_at_their_defaults():
    data = DataConfig(task=BRANCH_SWEEP_TASK)
    assert TrialConfig(data=data, branch_sweep=BranchSweepConfig()).to_flat()["task"] == BRANCH_SWEEP_TASK
    with pytest.raises(ConfigError, match="'episodes_per_task' = 50 is not allowed: must be left out"):
        TrialConfig(data=data, branch_sweep=BranchSweepConfig(), execute=ExecuteConfig(episodes_per_task=50))
    with pytest.raises(ConfigError, match="'edge_cost' = 'uniform' is not allowed: must be left out"):
        TrialConfig(data=data, branch_sweep=BranchSweepConfig(), graph=GraphConfig(edge_cost="uniform"))
    with pytest.raises(ConfigError, match="'branch_sweep' = None is not allowed: must be a BranchSweepConfig"):
        TrialConfig(data=data)


def test_the_kind_is_decided_in_one_place():
    """trial_kind is the only code that compares a task with BRANCH_SWEEP_TASK; the rest asks cfg.task."""
    assert trial_kind(BRANCH_SWEEP_TASK) is BranchTask and trial_kind("mechanism") is BranchTask
    assert trial_kind("pointmaze-medium-stitch-v0") is MazeTask and trial_kind(None) is MazeTask
    root = Path(__file__).resolve().parents[1]
    compared = []
    for path in [*root.glob("mopjepa/**/*.py"), *root.glob("pipelines/*.py"), *root.glob("tune_spaces/*.py")]:
        tree = ast.parse(path.read_text())
        allowed = {id(node) for function in ast.walk(tree)
                   if isinstance(function, ast.FunctionDef) and function.name == "trial_kind"
                   for node in ast.walk(function)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare) and id(node) not in allowed:
                operands = [node.left, *node.comparators]
                names = {n.id for o in operands for n in ast.walk(o) if isinstance(n, ast.Name)}
                tasks = {n.attr for o in operands for n in ast.walk(o) if isinstance(n, ast.Attribute)}
                constants = {o.value for o in operands if isinstance(o, ast.Constant)}
                if "BRANCH_SWEEP_TASK" in names or ("task" in tasks and BRANCH_SWEEP_TASK in constants):
                    compared.append(f"{path.relative_to(root)}:{node.lineno}")
    assert compared == []


def test_the_drivers_give_a_branch_sweep_trial_no_maze_keys(tmp_path, capsys):
    from pipelines.full_matrix import parse_args, planned_trials
    from pipelines.mechanism import main

    options = ["--dataset-dir", str(tmp_path), "--no-download", "--execute-workers", "2"]
    branch = planned_trials(parse_args(["--preset", "mechanism", *options]))
    assert branch and not any(set(entry) & MAZE_KEYS for entry in branch)
    maze = planned_trials(parse_args(["--preset", "smoke", *options]))
    assert all(entry["dataset_dir"] == str(tmp_path) and entry["execute_workers"] == 2 for entry in maze)
    assert main(["--out", str(tmp_path), "--plan-graph", "gated"]) == 2
    assert "--plan_graph is a maze trial's key: a branch-sweep trial never reads it" in capsys.readouterr().err


def test_one_run_dispatches_on_the_task_type(small_data_dir):
    branch = run(TrialConfig.from_flat({**SMALL, "arm": "mop", "K": 4, "num_modes": 2, "steps": 50}))
    assert branch.final == "mechanism" and set(branch.tables) == {"training", "mechanism"}
    assert branch.data_source == "generated" and {r["key"] for r in branch.rows} == {"2"}
    maze = run(TrialConfig.from_flat({"task": "pointmaze-teleport-navigate-v0", "arm": "dense", "steps": 20,
                                      "batch_size": 32, "episodes_per_task": 0, "dataset_dir": str(small_data_dir),
                                      "download": False}))
    assert maze.final == "metrics" and "plan_all" in {r["metric"] for r in maze.rows}
    assert maze.data_source == "regenerated" and {"edges", "curves", "training"} <= set(maze.tables)


# ---- the measurements (known answers) ---------------------------------------------------------


def test_measurements_of_outputs_on_the_modes_and_at_the_mean():
    modes = np.eye(4)[None, :3]  # [S=1, M=3, D=4]
    w = np.array([[0.5, 0.3, 0.2]])
    on_modes = np.concatenate([modes, np.eye(4)[None, 3:]], axis=1)  # 3 heads on the modes + one elsewhere
    pi = np.array([[0.5, 0.3, 0.2, 0.0]])
    rows = {r["metric"]: r["value"] for r in mechanism_rows(modes, w, on_modes, pi, pi > 0.5 / 4, 0.9)}
    assert rows["coverage"] == 1.0 and rows["mode_distance"] == 0.0 and rows["router_error"] == 0.0
    assert rows["active_outputs"] == 3 and rows["head_spread"] == pytest.approx(1.0)
    mean = (w[:, :, None] * modes).sum(axis=1, keepdims=True)  # [1, 1, D] the collapse point
    one = np.ones((1, 1))
    rows = {r["metric"]: r["value"] for r in mechanism_rows(modes, w, mean, one, one > 0, 0.9)}
    assert rows["coverage"] == 0.0 and rows["mean_similarity"] == pytest.approx(1.0)
    assert rows["mean_to_mode"] == pytest.approx(0.5 / np.sqrt(0.38))
    assert rows["mode_distance"] == pytest.approx(np.mean(1 - np.array([0.5, 0.3, 0.2]) / np.sqrt(0.38)))
    assert "router_error" not in rows and "head_spread" not in rows


# ---- Props. 1-3 on arms trained through the ordinary loop ---------------------------------------


@pytest.mark.parametrize("arm", ["dense", "m3"])
def test_single_output_arms_collapse_to_the_conditional_mean_as_modes_grow(arm):
    one = values(arm, 1)
    four = values(arm, 4)
    assert one["coverage"] == 1.0
    assert four["coverage"] <= 0.25, "coverage must fall as M grows"
    assert four["mean_similarity"] > 0.95, "Prop. 1: the output sits at the normalized conditional mean"
    assert four["mean_to_mode"] < 0.9 and four["mode_distance"] > 0.3


def test_mop_with_enough_heads_covers_every_mode_and_its_router_learns_the_weights():
    mop = values("mop", 3, K=4, steps=1000)
    assert mop["coverage"] == 1.0 and mop["mode_distance"] < 0.01
    assert mop["router_error"] < 0.08
    assert mop["mean_similarity"] < 0.9, "no head sits at the conditional mean"


def test_the_ensembles_heads_have_zero_spread():
    ensemble = values("ensemble", 3, K=4)
    assert ensemble["head_spread"] < 0.01 and ensemble["mean_similarity"] > 0.95
    assert ensemble["coverage"] <= 0.25 and "router_error" not in ensemble


@pytest.mark.slow
@pytest.mark.parametrize(("extra", "num_modes"), [({"K": 6}, 4), ({"K": 4, "weight_skew": 1.0}, 3)])
def test_mop_covers_more_modes_and_skewed_weights(extra, num_modes):
    mop = values("mop", num_modes, steps=1000, **extra)
    assert mop["coverage"] == 1.0 and mop["router_error"] < 0.08


@pytest.mark.slow
def test_sweep_cli_writes_long_form_rows_and_the_figure_renders(tmp_path, capsys):
    from mopjepa.analysis.artefacts import branch_sweep as figures
    from mopjepa.results import read_table
    from pipelines.mechanism import main

    code = main(
        [
            "--out",
            str(tmp_path),
            "--modes",
            "1,3",
            "--arms",
            "dense,mop",
            "--seeds",
            "2",
            "--steps",
            "60",
            "--K",
            "4",
            "--latent-dim",
            "8",
            "--num-examples",
            "1000",
            "--workers",
            "2",
        ]
    )
    assert code == 0 and "coverage (gated) by M" in capsys.readouterr().out
    frame = read_table(tmp_path / "results", "mechanism")
    assert set(frame.arm) == {"dense", "mop"} and set(frame.key) == {"1", "3"} and set(frame.num_modes) == {1, 3}
    assert (frame[frame.arm == "dense"].K.isna()).all() and (frame[frame.arm == "mop"].K == 4).all()
    assert len(set(frame.trial_id)) == 8 and (frame.data_source == "generated").all()
    paths = figures.render(tmp_path / "results", tmp_path / "figures")
    assert any(path.name == "mechanism_sweep.png" for path in paths)
    assert main(["--out", str(tmp_path), "--num-modes", "3"]) == 2
