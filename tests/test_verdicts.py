"""The numbers a verdict is read against: the execution floor, realroute's ceiling, the curves during
training, the codebook's trained encoder and the MDN's softness."""

from __future__ import annotations

import itertools
import json

import networkx as nx
import numpy as np
import pytest
import torch

from mopjepa.audit import audit
from mopjepa.config import BRANCH_SWEEP_TASK, ExecuteConfig, TrialConfig
from mopjepa.data import load_task_data
from mopjepa.evaluate import Truth, realroute_ceiling
from mopjepa.execute import floor_key, floor_success, run_episodes, success_by_task
from mopjepa.experiment import TrialHooks, execution_rows, prepare_cells, run_trial, train_model
from mopjepa.mechanism import run_branch_sweep

pytestmark = pytest.mark.usefixtures("one_thread")

MEDIUM = "pointmaze-medium-stitch-v0"
TINY = {"steps": 60, "batch_size": 32, "latent_dim": 8, "encoder_hidden": 32, "hidden_dim": 32, "log_every": 20}


# ---- the execution floor ------------------------------------------------------------------------


def self_predicting_model(geometry):
    """An audited model whose every successor is its own cell: its proposed graph has no edges."""
    codes = np.random.default_rng(0).normal(size=(geometry.num_cells, 8))  # [N, 8]

    def encode(observations):
        return codes[geometry.xy_to_cell(observations[:, :2])]  # [N, 8]

    def successors(observations):
        latents = encode(observations)[:, None, :]  # [N, 1, 8]
        return latents, np.ones((len(observations), 1))

    return encode, successors


def test_the_floor_is_the_success_of_an_audited_model_that_proposes_no_edges(small_data_dir):
    task = load_task_data(MEDIUM, small_data_dir)
    cfg = TrialConfig.from_flat({"task": MEDIUM, "episodes_per_task": 2})
    cells = prepare_cells(cfg, task)
    report = audit(cells, self_predicting_model(cells.geometry))
    assert report.blind.raw.num_edges == 0 and report.metric("plan_all_raw") == 0.0
    env = task.name.env_name
    episodes = run_episodes(env, cells.geometry, report.blind.raw, cfg.execute, cfg.seed)
    floor = floor_success(env, cells.geometry, cfg.execute, cfg.seed)
    assert floor == success_by_task(episodes)
    assert all(episode.used_fallback for episode in episodes)
    # On this maze the straight-line fallback alone solves some official tasks and not others.
    assert 0.0 < np.mean(list(floor.values())) < 1.0


def test_lift_is_success_minus_floor_task_by_task():
    class Done:
        def __init__(self, task_id, success):
            self.task_id, self.success, self.used_fallback, self.replans = task_id, success, False, 0

    episodes = [Done(1, True), Done(1, True), Done(2, False), Done(2, True)]
    rows = {(r["metric"], r["key"]): r["value"] for r in execution_rows(episodes, {1: 1.0, 2: 0.0})}
    assert rows[("exec_success", "")] == 0.75 and rows[("exec_floor", "")] == 0.5
    assert rows[("exec_lift", "1")] == 0.0 and rows[("exec_lift", "2")] == 0.5 and rows[("exec_lift", "")] == 0.25
    with pytest.raises(ValueError, match="floor covers tasks"):
        execution_rows(episodes, {1: 1.0})


def test_the_floor_key_ignores_where_episodes_run_and_which_graph_is_planned_in():
    base = ExecuteConfig(episodes_per_task=3)
    same = ExecuteConfig(episodes_per_task=3, execute_workers=4, plan_graph="gated")
    assert floor_key("env", base, 0) == floor_key("env", same, 0)
    assert floor_key("env", base, 0) != floor_key("env", base, 1)
    assert floor_key("env", base, 0) != floor_key("env", ExecuteConfig(episodes_per_task=4), 0)


def test_a_trial_reads_its_floor_through_the_cache_hook(small_data_dir):
    task = load_task_data(MEDIUM, small_data_dir)
    asked = []

    def cache(key, compute):
        asked.append(key)
        return {task_id: 0.25 for task_id in range(1, 6)}

    cfg = TrialConfig.from_flat({"task": MEDIUM, "arm": "dense", "episodes_per_task": 1, **TINY})
    summary = run_trial(cfg, task, hooks=TrialHooks(floor_cache=cache))
    # the floor first, then the two ceilings, each under its own key (the floor's, the data and the graph)
    assert asked[0] == floor_key(task.name.env_name, cfg.execute, cfg.seed)
    assert [json.loads(key)["reference"] for key in asked[1:]] == ["ceiling", "truth"]
    assert all(json.loads(key)["data_hash"] == task.data_hash for key in asked[1:])
    assert summary.metric("exec_floor") == 0.25 and summary.metric("exec_truth") == 0.25
    assert summary.metric("exec_lift") == pytest.approx(summary.metric("exec_success") - 0.25)


# ---- realroute against its ceiling --------------------------------------------------------------


def networkx_pair_fraction(adjacency: np.ndarray) -> float:
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(adjacency)))
    graph.add_edges_from(zip(*np.nonzero(adjacency), strict=True))
    pairs = list(itertools.permutations(range(len(adjacency)), 2))
    return sum(nx.has_path(graph, u, v) for u, v in pairs) / len(pairs)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_ceiling_matches_networkx_reachability(seed):
    rng = np.random.default_rng(seed)
    truth = rng.random((12, 12)) < 0.15
    np.fill_diagonal(truth, False)
    heldout = truth & (rng.random((12, 12)) < 0.3)
    assert realroute_ceiling(truth, heldout) == pytest.approx(networkx_pair_fraction(truth & ~heldout))


def test_the_ceiling_on_real_cells_and_realroute_norm(small_cells):
    truth = Truth.from_cell_data(small_cells)
    expected = networkx_pair_fraction(truth.truth & ~truth.heldout)
    assert realroute_ceiling(truth.truth, truth.heldout) == pytest.approx(expected)
    oracle = oracle_model(small_cells, truth.truth & ~truth.heldout)
    report = audit(small_cells, oracle)
    # Proposing every real transition but the held-out ones reaches the ceiling, no more; a model of
    # exactly the trained pairs (no real move the data never shows) stays at realroute_trained.
    assert report.metric("realroute") == pytest.approx(expected)
    trained = networkx_pair_fraction(truth.truth & truth.trained_pairs)
    assert report.metric("realroute_trained") == pytest.approx(trained) and trained <= expected
    assert report.metric("realroute_ceiling") == pytest.approx(expected)
    assert report.metric("realroute_norm") == pytest.approx(1.0)


def oracle_model(cells, adjacency: np.ndarray):
    """Proposes exactly the edges of `adjacency` (one-hot latents per cell, equal weights)."""
    num_cells = cells.num_cells
    K = int(adjacency.sum(axis=1).max())
    eye = np.eye(num_cells)

    def encode(observations):
        return eye[cells.geometry.xy_to_cell(observations[:, :2])]  # [N, N]

    def successors(observations):
        cell = cells.geometry.xy_to_cell(observations[:, :2])  # [N]
        latents = np.repeat(eye[cell][:, None, :], K, axis=1)  # [N, K, N] self by default (dropped)
        for row, c in enumerate(cell):
            for k, target in enumerate(np.flatnonzero(adjacency[c])):
                latents[row, k] = eye[target]
        return latents, np.full((len(cell), K), 1.0 / K)

    return encode, successors


# ---- curves -------------------------------------------------------------------------------------


@pytest.mark.parametrize("arm", ["mop", "var"])
def test_the_last_curve_point_is_the_final_metrics_and_curves_do_not_perturb_them(small_data_dir, arm):
    task = load_task_data(MEDIUM, small_data_dir)
    with_curves = run_trial(TrialConfig.from_flat({"task": MEDIUM, "arm": arm, "episodes_per_task": 0,
                                                   "eval_every": 20, **TINY}), task)
    assert sorted({row["step"] for row in with_curves.curves}) == [20, 40, 60]
    final = {(r["metric"], r["key"]): r["value"] for r in with_curves.metrics}
    last = {(r["metric"], r["key"]): r["value"] for r in with_curves.curves if r["step"] == 60}
    first = {(r["metric"], r["key"]) for r in with_curves.curves if r["step"] == 20}
    assert first == set(last) and ("plan_all", "") in last and ("realroute_norm", "") in last
    assert all(final[name] == value or (np.isnan(value) and np.isnan(final[name])) for name, value in last.items())
    # Evaluating during training changes nothing the final model computes (var samples included).
    without = run_trial(TrialConfig.from_flat({"task": MEDIUM, "arm": arm, "episodes_per_task": 0,
                                               "eval_every": 60, **TINY}), task)
    assert {r["step"] for r in without.curves} == {60}
    protocol = {(r["metric"], r["key"]): r["value"] for r in without.metrics if r["metric"] != "seconds"}
    for name, value in protocol.items():
        if name[0] != "train_examples_per_s":
            assert final[name] == value or (np.isnan(value) and np.isnan(final[name])), name


# ---- the codebook's encoder ---------------------------------------------------------------------


def test_the_codebook_trains_its_encoder_and_stays_input_agnostic(small_data_dir):
    task = load_task_data(MEDIUM, small_data_dir)
    cfg = TrialConfig.from_flat({"task": MEDIUM, "arm": "codebook", **TINY})
    cells = prepare_cells(cfg, task)
    before = {}

    def snapshot(model, step):
        before.setdefault("encoder", [p.detach().clone() for p in model.encoder.parameters()])

    model, summary = train_model(cfg, cells, None, snapshot)
    assert "train/encoder_distance" in summary.final_metrics
    moved = [not torch.equal(a, b) for a, b in zip(before["encoder"], model.encoder.parameters(), strict=True)]
    assert all(moved)
    untrained = train_model(cfg.replace(steps=1), cells, None)[0]
    assert not torch.equal(next(untrained.encoder.parameters()), next(model.encoder.parameters()))
    z = model.encode(torch.as_tensor(cells.query_observations, dtype=torch.float32))
    latents, weights = model.successors(z)
    assert torch.equal(latents[0], latents[-1]) and torch.equal(weights[0], weights[-1])


def test_the_codebook_loss_sends_no_gradient_between_codebook_and_encoder_head(small_data_dir):
    task = load_task_data(MEDIUM, small_data_dir)
    cfg = TrialConfig.from_flat({"task": MEDIUM, "arm": "codebook", **TINY})
    predictor = train_model(cfg.replace(steps=1), prepare_cells(cfg, task), None)[0].predictor
    c = torch.randn(16, 8)  # [B, D]
    z_plus = torch.nn.functional.normalize(torch.randn(16, 8), dim=-1)  # [B, D]
    head = list(predictor.encoder_head.parameters())

    def gradients():
        loss, _ = predictor.loss(c, z_plus, 0.5)
        grads = torch.autograd.grad(loss, [predictor.codes, *head])
        return grads[0], grads[1:]

    codes_grad, head_grads = gradients()
    with torch.no_grad():
        for parameter in head:
            parameter.add_(torch.randn_like(parameter))
    torch.testing.assert_close(gradients()[0], codes_grad, rtol=0, atol=0)  # the head never reaches the codes
    with torch.no_grad():
        predictor.codes.add_(torch.randn_like(predictor.codes))
    _, moved_head_grads = gradients()
    # ... and the codes never reach the head: its gradient depends on the head alone
    again = [g.clone() for g in moved_head_grads]
    with torch.no_grad():
        predictor.codes.add_(torch.randn_like(predictor.codes))
    for first, second in zip(again, gradients()[1], strict=True):
        torch.testing.assert_close(first, second, rtol=0, atol=0)
    assert all(g.abs().sum() > 0 for g in head_grads)


# ---- the MDN's softness -------------------------------------------------------------------------

BRANCH = {"task": BRANCH_SWEEP_TASK, "num_states": 8, "obs_dim": 8, "num_examples": 4000, "num_modes": 3,
          "latent_dim": 16, "encoder_hidden": 64, "hidden_dim": 64, "batch_size": 128, "steps": 600,
          "log_every": 100, "arm": "mdn", "K": 4}


def responsibility(**extra) -> dict[str, float]:
    rows = run_branch_sweep(TrialConfig.from_flat({**BRANCH, **extra})).rows
    return {row["metric"]: row["value"] for row in rows}


def test_mdn_responsibilities_are_sharp_with_a_learned_sigma_and_soft_with_a_large_fixed_one():
    learned = responsibility()
    soft = responsibility(sigma_fixed=1.0)
    assert learned["mdn_resp_max"] > 0.95
    assert soft["mdn_resp_max"] < 0.8
    assert soft["mdn_sigma"] == pytest.approx(1.0)
    assert learned["mdn_sigma"] < soft["mdn_sigma"]
