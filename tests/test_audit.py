"""The audit API: any model as numpy functions, blind; our own arms go through the same code."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mopjepa.audit import ModelFunctions, ModelOutputError, audit, query_cells
from mopjepa.config import TrialConfig
from mopjepa.data import build_cell_data, load_task_data
from mopjepa.evaluate import as_dict, plan_all
from mopjepa.experiment import run_trial
from mopjepa.graph import ProposedGraph
from mopjepa.model.functions import numpy_functions
from mopjepa.train import load_checkpoint

TELEPORT = "pointmaze-teleport-navigate-v0"
NOT_PROTOCOL = {"seconds", "train_examples_per_s", "train_device", "successor_modes_per_cell"}


def cell_encoder(cells):
    eye = np.eye(cells.num_cells, dtype=np.float32)
    return lambda observations: eye[cells.geometry.xy_to_cell(observations[:, :2])], eye


def oracle(cells):
    """Every real transition of the agent's cell, uniform weights (a test device: it reads the truth)."""
    encode, eye = cell_encoder(cells)
    targets = [np.flatnonzero(row) for row in cells.truth]
    K = max(len(t) for t in targets)
    latents = np.repeat(eye[:, None, :], K, axis=1)  # [N, K, N]; padding = the cell itself (no edge)
    weights = np.zeros((cells.num_cells, K), dtype=np.float32)
    for cell, target in enumerate(targets):
        latents[cell, : len(target)] = eye[target]
        weights[cell, : max(len(target), 1)] = 1.0 / max(len(target), 1)  # no exit: itself, weight 1

    def successors(observations):
        index = cells.geometry.xy_to_cell(observations[:, :2])
        return latents[index], weights[index]

    return encode, successors


def input_agnostic(cells, targets):
    """The same latents (the reference latents of `targets`) for every input, uniform weights."""
    encode, eye = cell_encoder(cells)

    def successors(observations):
        rows = len(observations)
        return np.repeat(eye[targets][None], rows, axis=0), np.full((rows, len(targets)), 1.0 / len(targets))

    return encode, successors


def test_an_oracle_scores_realroute_and_precision_one(small_data_dir):
    task = load_task_data("pointmaze-medium-stitch-v0", small_data_dir)
    cells = build_cell_data(task, 0.2, 0.05, np.random.default_rng(0))
    report = as_dict(audit(cells, oracle(cells)).metrics)
    assert report[("realroute", "")] == 1.0 and report[("precision", "")] == 1.0
    assert report[("recall", "")] == 1.0 and report[("goal_realroute", "")] == 1.0


def test_on_teleport_an_oracle_reaches_the_truth_graphs_own_ceiling(small_cells):
    """A teleport exit of the teleport maze is a walled-in cell no visit ever leaves: no model can
    route out of it, so the oracle's realroute is the truth graph's own reachability (< 1)."""
    report = as_dict(audit(small_cells, oracle(small_cells)).metrics)
    ceiling = plan_all(ProposedGraph.from_adjacency(small_cells.truth))
    assert report[("realroute", "")] == ceiling and report[("precision", "")] == 1.0
    assert report[("cov_r", "teleport")] == 1.0 and report[("recall", "")] == 1.0


@pytest.mark.parametrize("outputs", ["constant", "codebook"])
def test_models_that_ignore_their_input_score_shuffle_one(small_cells, outputs):
    exits = small_cells.geometry.cells_of(small_cells.geometry.teleport_out).tolist()
    targets = exits[:1] if outputs == "constant" else exits
    report = audit(small_cells, input_agnostic(small_cells, targets))
    values = as_dict(report.metrics)
    assert values[("shuffle", "teleport")] == pytest.approx(1.0)
    assert values[("cov_r", "teleport")] == pytest.approx(len(targets) / len(exits))
    for (metric, key), value in values.items():
        if metric == "threshold_shuffle" and values[("threshold_cov_r", key)] > 0:
            assert value == pytest.approx(1.0), key


def test_the_model_sees_only_query_observations_and_its_own_latents(small_cells):
    encode, successors = oracle(small_cells)
    seen = {"encode": [], "successors": [], "rollout": []}
    returned = []

    def spy_encode(observations):
        seen["encode"].append(observations.copy())
        return encode(observations)

    def spy_successors(observations):
        seen["successors"].append(observations.copy())
        observations[:] = 0.0  # a model scribbling on its input must not change what is measured
        latents, weights = successors(seen["successors"][-1])
        returned.append(latents)
        return latents, weights

    def spy_rollout(latents):
        seen["rollout"].append(latents.copy())
        index = latents.argmax(axis=1)  # one-hot latents: back to the cell
        return successors(small_cells.query_observations[index])

    report = audit(small_cells, (spy_encode, spy_successors, spy_rollout))
    for name in ("encode", "successors"):
        assert len(seen[name]) == 1
        np.testing.assert_array_equal(seen[name][0], small_cells.query_observations)
    assert len(seen["rollout"]) == 1
    np.testing.assert_array_equal(seen["rollout"][0], returned[0].reshape(-1, returned[0].shape[-1]))
    assert report.queries.two_step_source == "rollout"
    assert as_dict(report.metrics)[("precision", "")] == 1.0


def test_without_rollout_two_steps_go_through_the_decoded_cells(small_cells):
    report = audit(small_cells, oracle(small_cells))
    queries = report.queries
    assert queries.two_step_source == "decoded"
    through = report.blind.decoded  # [N, K]
    np.testing.assert_array_equal(queries.two_step_latents, queries.latents[through])
    with_rollout = audit(
        small_cells,
        (*oracle(small_cells), lambda z: oracle(small_cells)[1](small_cells.query_observations[z.argmax(axis=1)])),
    )
    assert as_dict(with_rollout.metrics)[("two_step", "mean")] == as_dict(report.metrics)[("two_step", "mean")]


@pytest.mark.parametrize("arm", ["mop", "var"])
def test_our_trained_arm_audited_from_its_checkpoint_reports_what_run_trial_reports(
    small_data_dir, tmp_path, one_thread, arm
):
    flat = {
        "task": TELEPORT,
        "arm": arm,
        "steps": 30,
        "batch_size": 32,
        "latent_dim": 8,
        "encoder_hidden": 16,
        "hidden_dim": 16,
        "episodes_per_task": 0,
        "seed": 3,
        **({"K": 4} if arm == "mop" else {}),
    }
    cfg = TrialConfig.from_flat(flat)
    task = load_task_data(TELEPORT, small_data_dir)
    summary = run_trial(cfg, task, workdir=tmp_path)
    model = load_checkpoint(summary.checkpoint)
    report = audit(
        task, numpy_functions(model), cfg.graph, cfg.seed, cfg.data.holdout_fraction, cfg.data.mode_threshold
    )
    trial = as_dict([row for row in summary.metrics if row["metric"] not in NOT_PROTOCOL])
    audited = as_dict(report.metrics)
    assert audited.keys() == trial.keys()
    for name, value in trial.items():
        assert value == audited[name] or (np.isnan(value) and np.isnan(audited[name])), name
    assert report.edges == summary.edges and report.beliefs == summary.beliefs
    assert {"threshold_cov_r", "threshold_precision", "cov_r_shuffled"} <= {metric for metric, _ in audited}
    assert ("threshold_cov_r", "teleport@0.0625") in audited


# ---- bad model outputs -------------------------------------------------------------------------

N, OBS, D, K = 5, 2, 4, 3
OBSERVATIONS = np.arange(N * OBS, dtype=np.float32).reshape(N, OBS)
GOOD_LATENTS = np.tile(np.eye(K, D, dtype=np.float32), (N, 1, 1)) + 0.1  # [N, K, D]
GOOD_WEIGHTS = np.full((N, K), 1.0 / K, dtype=np.float32)


def encode_ok(observations):
    return np.ones((len(observations), D), dtype=np.float32)


def answer(latents=GOOD_LATENTS, weights=GOOD_WEIGHTS):
    return lambda observations: (latents, weights)


def with_nan(array):
    array = array.copy()
    array.flat[3] = np.nan
    return array


BAD = [
    ("not a pair", lambda o: GOOD_LATENTS, "successors must return a pair (latents [N=5, K, D=4]"),
    ("latents 2-D", answer(GOOD_LATENTS[:, 0]), "got latents of shape [5, 4]"),
    ("wrong D", answer(GOOD_LATENTS[..., :3]), "got latents of shape [5, 3, 3]"),
    ("wrong N", answer(GOOD_LATENTS[:4], GOOD_WEIGHTS[:4]), "got latents of shape [4, 3, 4]"),
    ("K = 0", answer(GOOD_LATENTS[:, :0], GOOD_WEIGHTS[:, :0]), "returned K = 0 outputs"),
    ("weights shape", answer(GOOD_LATENTS, GOOD_WEIGHTS[:, :2]), "got weights of shape [5, 2]"),
    ("NaN latents", answer(with_nan(GOOD_LATENTS)), "1 non-finite latent entries"),
    ("NaN weights", answer(GOOD_LATENTS, with_nan(GOOD_WEIGHTS)), "1 non-finite weights"),
    ("weights > 1", answer(GOOD_LATENTS, GOOD_WEIGHTS * 4), "weights in [1.333, 1.333]; weights must lie in [0, 1]"),
    ("negative weights", answer(GOOD_LATENTS, -GOOD_WEIGHTS), "weights must lie in [0, 1]"),
    ("zero latent", answer(GOOD_LATENTS * 0), "15 zero latents"),
    ("torch", answer(torch.as_tensor(GOOD_LATENTS)), "must return numpy arrays (latents); got Tensor"),
    ("strings", answer(np.full((N, K, D), "a")), "must return real numbers (latents)"),
]


@pytest.mark.parametrize(("case", "successors", "fragment"), BAD, ids=[case for case, _, _ in BAD])
def test_bad_successor_outputs_are_clear_errors(case, successors, fragment):
    with pytest.raises(ModelOutputError) as error:
        query_cells((encode_ok, successors), OBSERVATIONS)
    assert fragment in str(error.value)


def test_bad_encode_and_rollout_outputs_and_bad_models_are_clear_errors():
    with pytest.raises(ModelOutputError, match=r"encode\(observations \[5, 2\]\) must return latents \[N=5, D\]"):
        query_cells((lambda o: np.ones((4, D)), answer()), OBSERVATIONS)
    with pytest.raises(ModelOutputError, match="encode returned 1 non-finite"):
        query_cells((lambda o: with_nan(np.ones((N, D))), answer()), OBSERVATIONS)
    short_rollout = answer(np.ones((N * K, 2, D)), np.full((N * K, 2), 0.5))
    with pytest.raises(ModelOutputError, match=r"rollout must return .*K=3.* \(the same K as successors\); got K = 2"):
        query_cells((encode_ok, answer(), short_rollout), OBSERVATIONS)
    with pytest.raises(ModelOutputError, match="a model is \\(encode, successors\\)"):
        ModelFunctions.of(encode_ok)
    with pytest.raises(ModelOutputError, match="the model's successors must be callable; got int"):
        ModelFunctions.of((encode_ok, 3))


def test_good_outputs_pass_with_float64_and_a_single_output():
    queries = query_cells((encode_ok, answer(GOOD_LATENTS[:, :1].astype(np.float64), np.ones((N, 1)))), OBSERVATIONS)
    assert queries.latents.shape == (N, 1, D) and queries.two_step_latents.shape == (N, 1, 1, D)


# ---- the command line ---------------------------------------------------------------------------


def nan_factory():
    """A user factory whose successors return NaN latents."""
    return lambda o: np.ones((len(o), D)), lambda o: (np.full((len(o), K, D), np.nan), np.full((len(o), K), 1 / K))


@pytest.fixture
def audit_env(monkeypatch):
    for name in ("MOPJEPA_AUDIT_TASK", "MOPJEPA_AUDIT_DATASET_DIR", "MOPJEPA_AUDIT_SEED"):
        monkeypatch.setenv(name, "unset")  # restored after the test


def test_audit_cli_writes_run_trials_tables_for_a_user_model(small_data_dir, tmp_path, audit_env, capsys):
    from mopjepa.results import read_table
    from pipelines.audit import main

    common = ["--task", TELEPORT, "--dataset-dir", str(small_data_dir), "--no-download", "--out", str(tmp_path)]
    assert main([*common, "--model", "examples.tabular_model:factory", "--seed", "1"]) == 0
    assert "precision" in capsys.readouterr().out
    assert main([*common, "--model", "examples.tabular_model:marginal_factory", "--gate-factor", "0.25"]) == 0
    metrics = read_table(tmp_path / "results", "metrics")
    tabular = metrics[metrics.arm == "examples.tabular_model.factory"].set_index(["metric", "key"]).value
    marginal = metrics[metrics.arm == "examples.tabular_model.marginal_factory"].set_index(["metric", "key"]).value
    assert tabular[("precision", "")] == 1.0 and tabular[("shuffle", "branching")] > 2
    assert marginal[("shuffle", "branching")] == pytest.approx(1.0)
    assert (metrics[metrics.arm == "examples.tabular_model.marginal_factory"].gate_factor == 0.25).all()
    assert set(metrics[metrics.arm == "examples.tabular_model.factory"].seed) == {1}
    protocol = {"plan_all", "realroute", "precision_heldout", "cov_r_raw", "two_step", "threshold_cov_r"}
    assert protocol <= set(tabular.index.get_level_values(0))
    for table in ("edges", "outputs", "beliefs"):
        assert not read_table(tmp_path / "results", table).empty, table


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["--model", "examples.tabular_model"], "--model must be 'package.module:factory'"),
        (["--model", "examples.nothing:factory"], "cannot import 'examples.nothing'"),
        (["--model", "examples.tabular_model:nothing"], "has no callable 'nothing'"),
        (["--model", "tests.test_audit:nan_factory"], "successors returned"),
        (["--model", "examples.tabular_model:factory", "--name", "mop"], "is a registered arm"),
        (["--model", "examples.tabular_model:factory", "--K", "3"], "unknown argument '--K'"),
        (["--model", "examples.tabular_model:factory", "--gate-factor", "-1"], "'gate_factor' = -1.0"),
    ],
)
def test_audit_cli_errors_exit_2_with_a_message(small_data_dir, tmp_path, audit_env, capsys, arguments, fragment):
    from pipelines.audit import main

    common = ["--task", TELEPORT, "--dataset-dir", str(small_data_dir), "--no-download", "--out", str(tmp_path)]
    assert main([*common, *arguments]) == 2
    assert fragment in capsys.readouterr().err
