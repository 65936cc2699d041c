"""The gate-threshold sweep and Fig. 2's belief rows: known answers on hand-made outputs."""

from __future__ import annotations

import numpy as np
import pytest

from mopjepa.config import GraphConfig
from mopjepa.evaluate import (
    THRESHOLDS,
    Truth,
    as_dict,
    belief_cells,
    belief_rows,
    context_permutations,
    metric_report,
    mode_sets,
    threshold_rows,
)
from mopjepa.graph import decode_two_step, propose_graph
from tests.stand_ins import one_hot_outputs


def ring_truth(num_cells, modes, two_step_counts=None):
    truth = np.zeros((num_cells, num_cells), dtype=bool)
    for cell, targets in enumerate(modes):
        truth[cell, targets] = True
    successor_modes = truth.copy()
    empty = np.zeros_like(truth)
    two_step_modes = empty.copy() if two_step_counts is None else two_step_counts / np.maximum(
        two_step_counts.sum(1, keepdims=True), 1) >= 0.05
    return Truth(truth=truth, heldout=empty, trained_pairs=truth.copy(), successor_modes=successor_modes,
                 two_step_modes=two_step_modes, tasks=np.array([[0, 1]]), teleport_in=np.zeros(0, np.int64),
                 teleport_out=np.zeros(0, np.int64), two_step_counts=two_step_counts)


def test_regating_at_each_threshold_matches_a_trial_gated_there():
    num_cells = 8
    modes = [[(c + 1) % num_cells, (c + 2) % num_cells, (c + 3) % num_cells] for c in range(num_cells)]
    truth = ring_truth(num_cells, modes)
    weights = [[0.5, 0.3, 0.1, 0.06, 0.04]] * num_cells  # the last two outputs are wrong cells
    targets = [m + [(c + 4) % num_cells, (c + 5) % num_cells] for c, m in enumerate(modes)]
    latents, weights, reference = one_hot_outputs(targets, 5, weights)
    blind = propose_graph(latents, weights, reference, GraphConfig())
    permutations = context_permutations(num_cells, 4, np.random.default_rng(0))
    rows = as_dict(threshold_rows(blind, truth, mode_sets(truth), permutations, GraphConfig()))
    for threshold in THRESHOLDS:
        regated = GraphConfig(gate_threshold=threshold, shuffle_permutations=4)
        direct = as_dict(metric_report(propose_graph(latents, weights, reference, regated), truth, regated,
                                       np.random.default_rng(0)))
        key = f"{threshold:g}"
        assert rows[("threshold_precision", key)] == direct[("precision", "")]
        assert rows[("threshold_cov_r", f"branching@{key}")] == direct[("cov_r", "branching")]
        assert rows[("threshold_cov_p", f"branching@{key}")] == direct[("cov_p", "branching")]
        assert rows[("threshold_shuffle", f"branching@{key}")] == pytest.approx(direct[("shuffle", "branching")])
    # weights 0.5/0.3/0.1/0.06/0.04 (modes first): active outputs 5, 5, 3, 2, 2 at t = 1/64 .. 1/4
    assert [rows[("threshold_active_outputs", f"{t:g}")] for t in THRESHOLDS] == [5, 5, 3, 2, 2]
    third = pytest.approx(2 / 3)
    assert [rows[("threshold_cov_r", f"branching@{t:g}")] for t in THRESHOLDS] == [1, 1, 1, third, third]
    assert [rows[("threshold_precision", f"{t:g}")] for t in THRESHOLDS] == [0.6, 0.6, 1, 1, 1]
    assert ("threshold_cov_r", "branching@0.0625") in rows and ("threshold_cov_r", "teleport@0.0625") not in rows


def test_belief_cells_take_most_modes_then_most_visits():
    modes = np.zeros((5, 5), dtype=bool)
    modes[0, :3] = modes[1, :4] = modes[2, :3] = modes[3, :1] = True
    counts = np.zeros((5, 5))
    counts[modes] = 10
    counts[2, :3] = 50  # more visits than cell 0
    assert belief_cells(modes, counts).tolist() == [1, 2, 0]
    assert belief_cells(modes, counts, count=5).tolist() == [1, 2, 0]  # cell 3 has one mode: no plane


def test_belief_rows_put_truth_and_predictions_in_the_local_plane():
    num_cells = 6
    counts = np.zeros((num_cells, num_cells))
    counts[0, [1, 2, 3]] = [50, 30, 20]  # cell 0: three two-step modes
    truth = ring_truth(num_cells, [[(c + 1) % num_cells] for c in range(num_cells)], counts)
    reference = np.eye(num_cells)  # [N, D = N]
    K = 2
    two_step = np.repeat(reference[:, None, None, :], K, axis=1).repeat(K, axis=2)  # [N, K, K, D]
    two_step[0, 0, 0], two_step[0, 0, 1], two_step[0, 1, 0] = reference[1], reference[2], reference[4]
    first = np.full((num_cells, K), 0.5)
    second = np.full((num_cells, K, K), 0.5)
    rollout = decode_two_step(two_step, first, second, reference, GraphConfig())
    rows = belief_rows(reference, two_step, rollout, truth)
    truth_rows = [r for r in rows if r["kind"] == "truth"]
    predicted = [r for r in rows if r["kind"] == "prediction"]
    assert {r["cell"] for r in rows} == {0} and len(truth_rows) == 3 and len(predicted) == K * K
    assert [r["weight"] for r in truth_rows] == [0.5, 0.3, 0.2] and [r["target_cell"] for r in truth_rows] == [1, 2, 3]
    assert max(r["residual"] for r in truth_rows) < 1e-9  # three points span their plane
    points = np.array([[r["x"], r["y"]] for r in truth_rows])
    assert np.linalg.norm(points[0] - points[1]) == pytest.approx(np.sqrt(2))  # distances are kept
    on_mode = predicted[0]
    assert on_mode["target_cell"] == 1 and on_mode["is_mode"] and on_mode["weight"] == 0.25
    assert np.allclose([on_mode["x"], on_mode["y"]], points[0])
    off = predicted[2]
    assert off["target_cell"] == 4 and not off["is_mode"] and off["residual"] > 0.5
    no_counts = ring_truth(num_cells, [[(c + 1) % num_cells] for c in range(num_cells)])
    assert belief_rows(reference, two_step, rollout, no_counts) == []
