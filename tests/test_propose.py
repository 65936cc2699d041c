"""Blind graph proposal: decoding, gating, merging, costs, two-step decoding, and input checks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mopjepa.config import GraphConfig
from mopjepa.graph import (
    decode,
    decode_two_step,
    edges_from_outputs,
    gate,
    gate_threshold,
    plan_path,
    propose_graph,
)
from mopjepa.graph.propose import TIE_BREAK, WEIGHT_FLOOR, edge_costs
from tests.stand_ins import one_hot_outputs


def random_outputs(rng, num_cells=12, num_outputs=5, dim=4):
    latents = rng.normal(size=(num_cells, num_outputs, dim))  # [N, K, D]
    weights = rng.dirichlet(np.ones(num_outputs), size=num_cells)  # [N, K]
    reference = rng.normal(size=(num_cells, dim))  # [N, D]
    return latents, weights, reference


# ---- reference-vs-fast ----------------------------------------------------------------------


def decode_loop(latents, reference):
    flat = latents.reshape(-1, latents.shape[-1])
    cells = []
    for u in flat:
        best, best_similarity = -1, -np.inf
        for m, r in enumerate(reference):
            similarity = float(u @ r) / (np.linalg.norm(u) * np.linalg.norm(r))
            if similarity > best_similarity:
                best, best_similarity = m, similarity
        cells.append(best)
    return np.array(cells).reshape(latents.shape[:-1])


def edges_loop(decoded, weights, keep):
    merged = {}
    for c in range(decoded.shape[0]):
        for k in range(decoded.shape[1]):
            if keep[c, k] and decoded[c, k] != c:
                merged[(c, int(decoded[c, k]))] = merged.get((c, int(decoded[c, k])), 0.0) + weights[c, k]
    return merged


@pytest.mark.parametrize("seed", range(5))
def test_decode_matches_loop(seed):
    rng = np.random.default_rng(seed)
    latents, _, reference = random_outputs(rng)
    latents *= rng.uniform(0.1, 3.0, size=latents.shape[:2] + (1,))  # cosine ignores the norm
    assert np.array_equal(decode(latents, reference), decode_loop(latents, reference))


@pytest.mark.parametrize("seed", range(5))
def test_edges_match_loop(seed):
    rng = np.random.default_rng(seed)
    decoded = rng.integers(0, 6, size=(6, 7))  # many duplicates and self-loops
    weights = rng.dirichlet(np.ones(7), size=6)
    keep = rng.random((6, 7)) < 0.7
    graph = edges_from_outputs(decoded, weights, keep, "neglog")
    expected = edges_loop(decoded, weights, keep)
    got = {(int(s), int(t)): w for s, t, w in zip(graph.source, graph.target, graph.weight, strict=True)}
    assert got.keys() == expected.keys()
    for edge, weight in expected.items():
        assert got[edge] == pytest.approx(weight)
    assert np.allclose(graph.cost, -np.log(graph.weight) + TIE_BREAK)


def test_two_step_matches_loop():
    rng = np.random.default_rng(3)
    num_cells, num_outputs = 9, 3
    latents = rng.normal(size=(num_cells, num_outputs, num_outputs, 4))
    first = rng.dirichlet(np.ones(num_outputs), size=num_cells)
    second = rng.dirichlet(np.ones(num_outputs), size=(num_cells, num_outputs))
    reference = rng.normal(size=(num_cells, 4))
    rollout = decode_two_step(latents, first, second, reference, GraphConfig())
    threshold = 0.5 / num_outputs
    for c in range(num_cells):
        for k1 in range(num_outputs):
            for k2 in range(num_outputs):
                assert rollout.decoded[c, k1, k2] == decode_loop(latents[c, k1, k2][None], reference)[0]
                both = first[c, k1] > threshold and second[c, k1, k2] > threshold
                assert rollout.gated[c, k1, k2] == both
                assert rollout.pair_weights[c, k1, k2] == pytest.approx(first[c, k1] * second[c, k1, k2])


# ---- gate, merge, costs ------------------------------------------------------------------------


def test_gate_threshold_rules():
    assert gate_threshold(8, GraphConfig()) == pytest.approx(0.5 / 8)
    assert gate_threshold(8, GraphConfig(gate_factor=1.0)) == pytest.approx(1 / 8)
    assert gate_threshold(8, GraphConfig(gate_threshold=0.2)) == pytest.approx(0.2)
    weights = np.array([[0.5, 0.25, 0.125, 0.125]])
    active, threshold = gate(weights, GraphConfig())
    assert threshold == 0.125
    assert active.tolist() == [[True, True, False, False]]  # strictly above t = 0.5 / K
    one_output, _ = gate(np.array([[1e-9], [0.0]]), GraphConfig(gate_threshold=0.5))
    assert one_output.all()  # K = 1 arms are always gated


def test_propose_raw_gated_merge_and_self_loops():
    # cell 0: two outputs to cell 1 (merged: 0.3 + 0.3), one to cell 2 (0.35), one to itself;
    # cell 1: one strong output to 2, one weak to 0 (raw only); cell 2: everything to itself.
    latents, weights, reference = one_hot_outputs(
        [[1, 1, 2, 0], [2, 0], [2]], 4, [[0.3, 0.3, 0.35, 0.05], [0.95, 0.05], [1.0]]
    )
    blind = propose_graph(latents, weights, reference, GraphConfig())
    assert blind.threshold == 0.125
    assert blind.decoded.tolist() == [[1, 1, 2, 0], [2, 0, 1, 1], [2, 2, 2, 2]]
    assert blind.gated.tolist() == [[True, True, True, False], [True] + [False] * 3, [True] + [False] * 3]
    assert sorted(zip(blind.raw.source.tolist(), blind.raw.target.tolist(), strict=True)) == [
        (0, 1), (0, 2), (1, 0), (1, 2)]
    gated = dict(zip(zip(blind.gated_graph.source.tolist(), blind.gated_graph.target.tolist(), strict=True),
                     blind.gated_graph.weight.tolist(), strict=True))
    assert gated == pytest.approx({(0, 1): 0.6, (0, 2): 0.35, (1, 2): 0.95})
    assert dataclasses.is_dataclass(blind)
    with pytest.raises(dataclasses.FrozenInstanceError):
        blind.threshold = 0.0


def test_zero_weight_raw_edge_has_finite_cost_and_uniform_costs():
    costs = edge_costs(np.array([0.0, 1.0, 0.5]), "neglog")
    assert costs[0] == pytest.approx(-np.log(WEIGHT_FLOOR) + TIE_BREAK)
    assert costs[1] == pytest.approx(TIE_BREAK)  # certain edges still cost something
    assert costs[2] == pytest.approx(np.log(2) + TIE_BREAK)
    assert edge_costs(np.array([0.0, 0.7]), "uniform").tolist() == [1.0, 1.0]
    latents, weights, reference = one_hot_outputs([[1], [2], [0]], 1, [[1.0], [1.0], [1.0]])
    uniform = propose_graph(latents, weights, reference, GraphConfig(edge_cost="uniform"))
    assert uniform.gated_graph.cost.tolist() == [1.0, 1.0, 1.0]


def test_tie_break_prefers_fewer_hops_at_equal_probability():
    # 0 -> 3 directly with probability 0.5, or 0 -> 1 -> 2 -> 3 with probability 0.5 * 1 * 1.
    latents, weights, reference = one_hot_outputs([[3, 1], [2], [3], []], 2, [[0.5, 0.5], [1.0], [1.0], []])
    blind = propose_graph(latents, weights, reference, GraphConfig())
    assert plan_path(blind.gated_graph.cost_matrix(), 0, 3) == [0, 3]


# ---- input checks --------------------------------------------------------------------------


@pytest.mark.parametrize("corrupt, message", [
    (lambda lat, w, ref: (lat, -w, ref), "weights must lie in"),
    (lambda lat, w, ref: (lat, w * np.nan, ref), "non-finite"),
    (lambda lat, w, ref: (lat * 0.0, w, ref), "zero norm"),
    (lambda lat, w, ref: (lat, w[:, :2], ref), "weights have shape"),
    (lambda lat, w, ref: (lat[:-1], w[:-1], ref), "expected latents"),
    (lambda lat, w, ref: (lat, w, ref[:, :2]), "latent dim"),
])
def test_bad_inputs_fail_loudly(corrupt, message):
    latents, weights, reference = random_outputs(np.random.default_rng(0))
    with pytest.raises(ValueError, match=message):
        propose_graph(*corrupt(latents, weights, reference), GraphConfig())


def test_two_step_shape_check():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"\[N, K, K, D\]"):
        decode_two_step(rng.normal(size=(4, 2, 3, 5)), np.full((4, 2), 0.5), np.full((4, 2, 2), 0.5),
                        rng.normal(size=(4, 5)), GraphConfig())
