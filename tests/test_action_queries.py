"""Action-conditioned world models (c = [z, a], Eq. 1): queried with an action set, their graph is the union
over actions, gated inside each query; a model that generalizes proposes the held-out transitions."""

from __future__ import annotations

import numpy as np
import pytest

from examples.direction_model import direction_model
from mopjepa.audit import ModelFunctions, audit, query_cells
from mopjepa.audit.actions import action_scale, query_action_set
from mopjepa.config import ConfigError, GraphConfig, TrialConfig
from mopjepa.data import build_cell_data, load_task_data
from mopjepa.evaluate import as_dict
from mopjepa.evaluate.routes import pair_fraction
from mopjepa.experiment import prepare_cells, summary_tables
from mopjepa.graph import ProposedGraph, propose_graph
from mopjepa.graph.plan import reachability
from tests.stand_ins import one_hot_outputs
from tests.test_experiment import _trial


def test_an_action_conditioned_trial_must_be_queried_with_actions():
    with pytest.raises(ConfigError, match="'query_actions' = 'none' is not allowed: must be 'compass4' or"):
        TrialConfig.from_flat({"context_action": "step"})
    with pytest.raises(ConfigError, match="'query_actions' = 'compass8' is not allowed: must be 'none' when"):
        TrialConfig.from_flat({"query_actions": "compass8"})
    with pytest.raises(ConfigError, match="'context_action' = 'always' is not allowed: must be one of"):
        TrialConfig.from_flat({"context_action": "always", "query_actions": "compass4"})


def test_the_union_over_actions_gates_inside_each_query_and_keeps_the_strongest_action():
    # Cell 0, K = 2 per action: action 0 -> cell 1 (0.9), cell 2 (0.1); action 1 -> cell 2 (0.6), cell 3 (0.4).
    first, first_weights, reference = one_hot_outputs([[1, 2], [], [], []], 2, [[0.9, 0.1], [], [], []])
    second, second_weights, _ = one_hot_outputs([[2, 3], [], [], []], 2, [[0.6, 0.4], [], [], []])
    latents = np.concatenate([first, second], axis=1)  # [N, A * K = 4, N] action-major
    weights = np.concatenate([first_weights, second_weights], axis=1)
    blind = propose_graph(latents, weights, reference, GraphConfig(), num_actions=2)
    assert blind.threshold == 0.25  # 0.5 / K with K = 2 outputs per query, not 0.5 / 4
    edges = {(s, t): (w, a) for s, t, w, a in zip(*(getattr(blind.raw, f) for f in
                                                     ("source", "target", "weight", "action")), strict=True)}
    assert edges == {(0, 1): (0.9, 0), (0, 2): (0.6, 1), (0, 3): (0.4, 1)}  # max over actions, never 0.7
    gated = set(zip(blind.gated_graph.source.tolist(), blind.gated_graph.target.tolist(), strict=True))
    assert gated == {(0, 1), (0, 2), (0, 3)}  # (0, 2) passes through action 1, not action 0's 0.1
    assert blind.gated[0].tolist() == [True, False, True, True]
    alone = propose_graph(latents, weights, reference, GraphConfig())  # read as one query of 4 outputs
    assert alone.raw.action is None and dict(zip(alone.raw.target.tolist(), alone.raw.weight.tolist(),
                                                 strict=True))[2] == pytest.approx(0.7)


def test_an_action_model_is_queried_once_per_action_and_rolls_two_steps_over_the_set():
    calls = []

    def encode(observations):
        return np.eye(3)[observations[:, 0].astype(int)]

    def successors(observations, actions):
        calls.append(actions[0].tolist())
        target = (observations[:, 0].astype(int) + (actions[:, 0] > 0).astype(int)) % 3
        return np.eye(3)[target][:, None, :], np.ones((len(observations), 1))

    observations = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    actions = np.array([[1.0, 0.0], [-1.0, 0.0]])
    queries = query_cells(ModelFunctions(encode, successors, takes_actions=True), observations, actions)
    assert calls == actions.tolist() and queries.latents.shape == (3, 2, 3) and queries.num_actions == 2
    assert queries.two_step_latents.shape == (3, 2, 2, 3)
    with pytest.raises(ValueError, match="take actions: query it with an action set"):
        query_cells(ModelFunctions(encode, successors, takes_actions=True), observations)
    with pytest.raises(ValueError, match="take no action"):
        query_cells((encode, lambda o: successors(o, np.zeros((len(o), 2)))), observations, actions)


def test_the_compass_is_scaled_by_the_median_train_action():
    train = np.array([[3.0, 4.0], [0.0, 1.0], [0.0, 2.0]])  # norms 5, 1, 2
    compass = query_action_set("compass8", train)
    np.testing.assert_allclose(np.linalg.norm(compass, axis=1), 2.0, rtol=1e-6)
    assert query_action_set("none", None) is None and query_action_set("compass4", train).shape == (4, 2)
    with pytest.raises(ValueError, match="needs a 2-D action space"):
        query_action_set("compass4", np.ones((3, 8)))


def test_a_model_that_generalizes_proposes_every_held_out_transition(small_data_dir):
    task = load_task_data("pointmaze-medium-stitch-v0", small_data_dir)
    cells = build_cell_data(task, 0.2, 0.05, np.random.default_rng(0))
    assert cells.heldout.sum() > 0
    model = direction_model(task)
    report = as_dict(audit(cells, model, GraphConfig(query_actions="compass8")).metrics)
    assert report[("recall_heldout", "")] == 1.0
    assert report[("realroute", "")] == pair_fraction(reachability(ProposedGraph.from_adjacency(cells.truth)
                                                                   .adjacency()))
    assert report[("realroute_norm", "")] > 1.0  # past the ceiling of a model that never proposes a held-out edge
    with pytest.raises(ConfigError, match="'query_actions' = 'none' is not allowed"):
        audit(cells, model)


@pytest.mark.parametrize("mode", ["step", "to_exit"])
def test_an_action_conditioned_trial_runs_end_to_end_and_records_its_actions(small_data_dir, mode):
    summary, _ = _trial(small_data_dir, context_action=mode, query_actions="compass4")
    tables = summary_tables(summary)
    scale = summary.metric("query_action_scale")
    cells = prepare_cells(summary.config, load_task_data("pointmaze-teleport-navigate-v0", small_data_dir))
    examples = cells.train_examples  # the model's own training actions
    assert scale == pytest.approx(action_scale(examples.context_action(mode)), rel=1e-6)
    assert summary.blind.num_actions == 4 and summary.blind.num_outputs == 4 * 4
    actions = {row["action"] for row in tables["edges"]}
    assert actions <= {0, 1, 2, 3} and len(actions) > 1
    assert len(summary.episodes) == 5 and {"exec_success", "exec_lift"} <= {r["metric"] for r in summary.metrics}
