"""Protocol metrics: hand-made graphs with known answers for every metric, the failure patterns the
protocol exists to catch, reference-vs-fast equivalence, and the report's names and keys."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from mopjepa.config import GraphConfig
from mopjepa.evaluate import (
    Truth,
    as_dict,
    cov_p,
    cov_r,
    goal_found,
    goal_realroute,
    metric_report,
    output_hits,
    plan_all,
    precision,
    precision_heldout,
    realroute,
    realroute_by_dist,
    recall,
    recall_heldout,
    shuffle,
    teleport_modes,
    two_step,
)
from mopjepa.evaluate.coverage import branching_modes
from mopjepa.graph import ProposedGraph, decode_two_step, propose_graph, reachability
from tests.stand_ins import constant_outputs, one_hot_outputs


def adjacency(num_cells, edges):
    matrix = np.zeros((num_cells, num_cells), dtype=bool)
    for s, t in edges:
        matrix[s, t] = True
    return matrix


def graph_of(num_cells, edges):
    return ProposedGraph.from_adjacency(adjacency(num_cells, edges))


def line_truth(num_cells):
    """0 - 1 - ... - (N-1), both directions."""
    forward = [(c, c + 1) for c in range(num_cells - 1)]
    return adjacency(num_cells, forward + [(t, s) for s, t in forward])


def make_truth(truth, successor_modes=None, tasks=((0, 1),), heldout=None, trained=None, two_step_modes=None,
               teleport_in=(), teleport_out=()):
    num_cells = len(truth)
    empty = np.zeros((num_cells, num_cells), dtype=bool)
    return Truth(
        truth=truth,
        heldout=empty.copy() if heldout is None else heldout,
        trained_pairs=truth.copy() if trained is None else trained,
        successor_modes=truth.copy() if successor_modes is None else successor_modes,
        two_step_modes=empty.copy() if two_step_modes is None else two_step_modes,
        tasks=np.asarray(tasks, dtype=np.int64).reshape(-1, 2),
        teleport_in=np.asarray(teleport_in, dtype=np.int64),
        teleport_out=np.asarray(teleport_out, dtype=np.int64),
    )


# ---- planning metrics on hand-made graphs ----------------------------------------------------------


def test_route_metrics_known_answers():
    # Truth: a line of 6 cells. Proposed: the forward chain 0->1->...->5 (real), the real back edge
    # 3->2, and a hallucinated 5->0 wall-crossing edge.
    truth = line_truth(6)
    proposed = graph_of(6, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (3, 2), (5, 0)])
    tasks = np.array([[0, 5], [5, 0], [3, 2], [4, 1]])
    assert plan_all(proposed) == 1.0  # the fake edge closes a cycle through every cell
    assert goal_found(proposed, tasks) == 1.0
    # real part: forward chain + 3->2: 15 forward pairs + (3, 2) = 16 of 30
    assert realroute(proposed, truth) == pytest.approx(16 / 30)
    assert goal_realroute(proposed, truth, tasks) == pytest.approx(2 / 4)
    assert precision(proposed, truth) == pytest.approx(6 / 7)
    assert recall(proposed, truth) == pytest.approx(6 / 10)
    # by distance: d pairs = 2 (6 - d), half forward; distance 1 also has (3, 2)
    assert realroute_by_dist(proposed, truth) == pytest.approx({1: 6 / 10, 2: 0.5, 3: 0.5, 4: 0.5, 5: 0.5})


def test_heldout_precision_and_recall():
    truth = line_truth(4)
    heldout = adjacency(4, [(1, 2), (2, 1), (2, 3)])
    trained = truth & ~heldout
    proposed = graph_of(4, [(0, 1), (1, 2), (2, 1), (0, 3), (3, 0)])
    # unseen proposed edges: (1,2), (2,1) real; (0,3), (3,0) fake -> 2 / 4
    assert precision_heldout(proposed, truth, trained) == pytest.approx(0.5)
    assert recall_heldout(proposed, heldout) == pytest.approx(2 / 3)


def test_empty_graph_and_nan_conventions():
    truth = line_truth(4)
    empty = graph_of(4, [])
    assert plan_all(empty) == 0.0 and realroute(empty, truth) == 0.0
    assert np.isnan(precision(empty, truth))
    assert np.isnan(precision_heldout(empty, truth, truth))
    assert np.isnan(recall_heldout(empty, np.zeros((4, 4), dtype=bool)))
    with pytest.raises(ValueError, match="cells"):
        precision(empty, line_truth(5))


def test_mdn_failure_mode_low_precision_high_plan_all():
    # Every cell proposes its real neighbours plus many hallucinated long jumps, e.g. an MDN whose
    # components spread over the maze: the graph plans everywhere, but through walls.
    num_cells, fakes = 10, 6
    targets = [[(c + j) % num_cells for j in range(2, 2 + fakes)] + [min(c + 1, num_cells - 1)]
               for c in range(num_cells)]
    latents, weights, reference = one_hot_outputs(targets, fakes + 1)
    blind = propose_graph(latents, weights, reference, GraphConfig())
    truth = line_truth(num_cells)
    assert plan_all(blind.gated_graph) == 1.0
    assert precision(blind.gated_graph, truth) < 0.15
    assert realroute(blind.gated_graph, truth) == pytest.approx(0.5)  # only the forward chain is real


def test_reachability_matches_networkx():
    rng = np.random.default_rng(0)
    for _ in range(5):
        matrix = rng.random((30, 30)) < 0.06
        np.fill_diagonal(matrix, False)
        closure = nx.transitive_closure(nx.from_numpy_array(matrix, create_using=nx.DiGraph), reflexive=True)
        expected = nx.to_numpy_array(closure, nodelist=range(30), weight=None).astype(bool)
        assert np.array_equal(reachability(matrix), expected)


# ---- coverage ----------------------------------------------------------------------------------------


def ring(num_cells):
    """Cells on a ring; each cell's successor modes are its two ring neighbours."""
    modes = np.zeros((num_cells, num_cells), dtype=bool)
    for c in range(num_cells):
        modes[c, (c - 1) % num_cells] = modes[c, (c + 1) % num_cells] = True
    return modes


def test_coverage_known_answers_and_shuffle_with_a_given_permutation():
    num_cells = 8
    modes = ring(num_cells)
    cells, cell_modes = branching_modes(modes)
    latents, weights, reference = one_hot_outputs(
        [[(c - 1) % 8, (c + 1) % 8] for c in range(num_cells)], 2)  # a mode-faithful mixture
    blind = propose_graph(latents, weights, reference, GraphConfig())
    assert cov_r(blind.decoded, blind.gated, cells, cell_modes) == 1.0
    assert cov_p(blind.decoded, blind.gated, cells, cell_modes) == 1.0
    shift = np.roll(np.arange(num_cells), -2)[None]  # cell c is scored with the outputs of c + 2
    # outputs of c + 2 = {c + 1, c + 3}: one of the two modes {c - 1, c + 1} -> 0.5
    assert shuffle(blind.decoded, blind.gated, cells, cell_modes, shift) == pytest.approx(2.0)
    identity = np.arange(num_cells)[None]
    assert shuffle(blind.decoded, blind.gated, cells, cell_modes, identity) == 1.0


def test_dense_like_collapse_decodes_between_modes():
    # Reference latents on a circle; a K=1 head outputs the mean of the two ring-neighbour modes,
    # which points at the query cell itself: a state that is no successor. The self-loop is dropped.
    num_cells = 8
    angles = 2 * np.pi * np.arange(num_cells) / num_cells
    reference = np.stack([np.cos(angles), np.sin(angles)], axis=1)  # [N, 2]
    mean = (np.roll(reference, 1, axis=0) + np.roll(reference, -1, axis=0)) / 2  # [N, 2]
    blind = propose_graph(mean[:, None, :], np.ones((num_cells, 1)), reference, GraphConfig())
    cells, cell_modes = branching_modes(ring(num_cells))
    assert blind.decoded[:, 0].tolist() == list(range(num_cells))
    assert blind.gated_graph.num_edges == 0 and plan_all(blind.gated_graph) == 0.0
    assert cov_r(blind.decoded, blind.gated, cells, cell_modes) == 0.0
    assert cov_p(blind.decoded, blind.gated, cells, cell_modes) == 0.0


def test_input_agnostic_codebook_freeloads_raw_coverage_but_shuffle_is_one():
    # 10 cells; teleport-in cells 1 and 2; global exits 7, 8, 9. Every cell outputs the exits.
    num_cells = 10
    latents, weights, reference = constant_outputs(num_cells, [7, 8, 9], 3)
    blind = propose_graph(latents, weights, reference, GraphConfig())
    cells, modes = teleport_modes(np.array([1, 2]), np.array([7, 8, 9]), num_cells)
    everything = np.ones_like(blind.gated)
    assert cov_r(blind.decoded, everything, cells, modes) == 1.0
    permutations = np.stack([np.random.default_rng(s).permutation(num_cells) for s in range(10)])
    assert shuffle(blind.decoded, blind.gated, cells, modes, permutations) == 1.0
    # and it plans through walls: 27 edges, of which only 6->7, 7->8, 8->7, 8->9, 9->8 are real
    assert precision(blind.gated_graph, line_truth(num_cells)) == pytest.approx(5 / 27)


def coverage_loop(decoded, active, cells, modes, sources):
    fractions = []
    for b in range(len(cells)):
        outputs = {int(decoded[sources[b], k]) for k in range(decoded.shape[1]) if active[sources[b], k]}
        fractions.append(sum(1 for m in np.flatnonzero(modes[b]) if m in outputs) / modes[b].sum())
    return float(np.mean(fractions))


def precision_of_outputs_loop(decoded, active, cells, modes):
    on_mode = total = 0
    for b, cell in enumerate(cells):
        for k in range(decoded.shape[1]):
            if active[cell, k]:
                total += 1
                on_mode += bool(modes[b, decoded[cell, k]])
    return on_mode / total


@pytest.mark.parametrize("seed", range(5))
def test_coverage_matches_loop(seed):
    rng = np.random.default_rng(seed)
    num_cells, num_outputs = 15, 4
    decoded = rng.integers(0, num_cells, size=(num_cells, num_outputs))
    active = rng.random((num_cells, num_outputs)) < 0.6
    successor_modes = rng.random((num_cells, num_cells)) < 0.2
    cells, modes = branching_modes(successor_modes)
    hits = output_hits(decoded, active)
    for c in range(num_cells):
        assert set(np.flatnonzero(hits[c])) == set(decoded[c][active[c]].tolist())
    perm = rng.permutation(num_cells)
    assert cov_r(decoded, active, cells, modes) == pytest.approx(
        coverage_loop(decoded, active, cells, modes, cells))
    assert cov_r(decoded, active, cells, modes, perm[cells]) == pytest.approx(
        coverage_loop(decoded, active, cells, modes, perm[cells]))
    assert cov_p(decoded, active, cells, modes) == pytest.approx(
        precision_of_outputs_loop(decoded, active, cells, modes))


def test_two_step_known_answer():
    num_cells, num_outputs = 5, 2
    modes = np.zeros((num_cells, num_cells), dtype=bool)
    modes[0, [1, 2, 3, 4]] = True  # 4 two-step modes
    modes[1, [0, 2, 3]] = True  # 3 two-step modes
    modes[2, [0, 1]] = True  # 2: not scored
    decoded = np.zeros((num_cells, num_outputs, num_outputs), dtype=np.int64)
    decoded[0] = [[1, 2], [3, 0]]  # recovers 1, 2, 3 of 4
    decoded[1] = [[0, 0], [2, 3]]
    active = np.ones_like(decoded, dtype=bool)
    active[1, 1, :] = False  # the pair (k1 = 1, .) is gated out: only 0 is recovered
    assert two_step(decoded, active, modes) == pytest.approx((3 / 4 + 1 / 3) / 2)
    assert np.isnan(two_step(decoded, active, np.zeros_like(modes)))


# ---- the report ---------------------------------------------------------------------------------------


def test_report_names_keys_and_values():
    truth_matrix = line_truth(6)
    truth = make_truth(truth_matrix, tasks=[(0, 5), (5, 0)], teleport_in=[2], teleport_out=[4, 5],
                       heldout=adjacency(6, [(2, 3)]), two_step_modes=adjacency(6, [(0, 2), (0, 3), (0, 4)]))
    latents, weights, reference = one_hot_outputs([[1], [2, 0], [3, 1], [4, 2], [5, 3], [4]], 2)
    blind = propose_graph(latents, weights, reference, GraphConfig())
    # a faithful rollout: step two from output k1 = the outputs of the cell that k1 decodes to
    rollout = decode_two_step(latents[blind.decoded], weights, weights[blind.decoded], reference,
                              GraphConfig())
    table = as_dict(metric_report(blind, truth, GraphConfig(), np.random.default_rng(0), rollout))
    plain = ["plan_all", "goal_found", "realroute", "goal_realroute", "precision", "recall",
             "precision_heldout", "recall_heldout", "edges"]
    expected = {(name + suffix, "") for name in plain for suffix in ("", "_raw")}
    expected |= {(f"realroute_by_dist{suffix}", str(d)) for d in range(1, 6) for suffix in ("", "_raw")}
    coverage_names = ("cov_r", "cov_r_raw", "cov_p", "shuffle")
    expected |= {(m, key) for m in coverage_names for key in ("branching", "teleport")}
    expected |= {("cov_r_shuffled", key) for key in ("branching", "teleport")}
    expected |= {("realroute_ceiling", ""), ("realroute_trained", ""), ("realroute_norm", ""),
                 ("realroute_norm_raw", "")}
    expected |= {("active_outputs", ""), ("two_step", "mean"), ("two_step_raw", "mean")}
    assert set(table) == expected
    # Without the held-out 2 -> 3 the line splits: 0-2 reach 3-5 no more (21 of 30 ordered pairs).
    assert table[("realroute_ceiling", "")] == pytest.approx(21 / 30)
    assert table[("realroute_norm", "")] == pytest.approx(30 / 21)  # this model proposed the held-out edge
    assert table[("plan_all", "")] == 1.0 and table[("precision", "")] == 1.0 and table[("recall", "")] == 1.0
    assert table[("edges", "")] == 10 and table[("recall_heldout", "")] == 1.0
    assert table[("cov_r", "teleport")] == 0.0 and table[("cov_p", "teleport")] == 0.0
    # only cell 0 has >= 3 two-step modes {2, 3, 4}; its pairs reach {0, 2} (via 1): 1 of 3
    assert table[("two_step", "mean")] == pytest.approx(1 / 3)
    no_teleports = make_truth(truth_matrix)
    assert not any(key == "teleport" for _, key in as_dict(
        metric_report(blind, no_teleports, GraphConfig(), np.random.default_rng(0))))
    with pytest.raises(ValueError, match="cells"):
        metric_report(blind, make_truth(line_truth(5)), GraphConfig(), np.random.default_rng(0))


def test_report_is_seeded():
    truth = make_truth(line_truth(6))
    latents, weights, reference = one_hot_outputs([[1], [2, 0], [3, 1], [4, 2], [5, 3], [4]], 2)
    blind = propose_graph(latents, weights, reference, GraphConfig())
    first = metric_report(blind, truth, GraphConfig(), np.random.default_rng(7))
    np.testing.assert_equal(first, metric_report(blind, truth, GraphConfig(), np.random.default_rng(7)))


def test_a_metric_added_as_the_architecture_page_says_reaches_the_trial_its_curves_and_the_tables(
        small_data_dir, tmp_path, monkeypatch):
    """docs/architecture.md#5-how-to-add-a-metric, step by step."""
    from mopjepa.analysis.evidence import gather
    from mopjepa.audit import protocol
    from mopjepa.config import TrialConfig
    from mopjepa.data import load_task_data
    from mopjepa.evaluate.report import permuted_report
    from mopjepa.experiment import run_trial, summary_tables
    from mopjepa.results import Lineage, trial_id, write_trial_tables
    from tests.test_verdicts import MEDIUM, TINY

    def edge_density(graph: ProposedGraph) -> float:  # step 2: a pure function of a graph
        return graph.num_edges / graph.num_cells

    def with_density(blind, truth, permutations, two_step=None):  # ... and its row beside the others
        return [*permuted_report(blind, truth, permutations, two_step),
                {"metric": "edge_density", "key": "", "value": edge_density(blind.gated_graph)}]

    monkeypatch.setattr(protocol, "permuted_report", with_density)
    cfg = TrialConfig.from_flat({"task": MEDIUM, "arm": "mop", **TINY})
    summary = run_trial(cfg, load_task_data(MEDIUM, small_data_dir))
    expected = summary.blind.gated_graph.num_edges / summary.blind.num_cells
    assert summary.metric("edge_density") == pytest.approx(expected)
    assert {row["step"] for row in summary.curves if row["metric"] == "edge_density"} >= {cfg.train.steps}
    # step 5: long-form rows, so the Parquet schema is unchanged and a table reads it by name
    lineage = Lineage(trial_id(cfg), "exp", "regenerated", "h", "c", ("main",)).columns(cfg)
    write_trial_tables(tmp_path / "exp" / "results", summary_tables(summary), lineage)
    evidence = gather(tmp_path / "exp")
    assert evidence.main("mop", MEDIUM, "edge_density").mean == pytest.approx(expected)
