"""The protocol on any model: query it blind, propose its graph, then (and only then) check it.

    1. query     query_cells: the model sees each free cell's query observation, nothing else
    2. propose   propose: the blind graph and the decoded two-step rollout (arrays only)
    3. evaluate  evaluate: the metric report (one draw of the shuffle permutations) + the threshold sweep
                 + Fig. 2's belief rows; ground truth enters here
experiment.run_trial runs these three stages on its trained arm; `audit` runs them on any model.

An action-conditioned model is queried once per action of a set (mopjepa.audit.actions): a cell's
outputs are its A queries' K outputs, action-major (output a * K + k), and the graph is their union
(mopjepa.graph.propose). Two steps roll each first output with every action of the set again.

Two steps: with a `rollout` function, output k2 of rollout(output k1) (a latent rollout, what our
arms do). Without one, the model never sees latents it did not make: the second step of output k1
is the model's own successor set of the cell k1 decodes to (a rollout through decoded cells'
query observations, so no further model call) [choice].
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mopjepa.audit.actions import query_action_set
from mopjepa.audit.interface import ModelFunctions
from mopjepa.config import GraphConfig
from mopjepa.config.checks import check
from mopjepa.data import CellData, TaskData, build_cell_data
from mopjepa.evaluate import (
    Truth,
    belief_rows,
    context_permutations,
    metric_value,
    mode_sets,
    permuted_report,
    threshold_rows,
)
from mopjepa.graph import BlindGraph, TwoStepDecoding, decode, decode_two_step, propose_graph
from mopjepa.seeding import numpy_rng


@dataclass(frozen=True)
class CellQueries:
    """The model's answers for every free cell, as arrays (what the blind graph is built from)."""

    latents: np.ndarray
    """[N, K, D] successor latents of each cell's query."""
    weights: np.ndarray
    """[N, K] their weights (router pi, mixture weights, or uniform)."""
    reference: np.ndarray
    """[N, D] the model's encoding (for our arms: the target encoder's) of each cell's query."""
    two_step_latents: np.ndarray
    """[N, K, K, D] successors of each first-step output."""
    two_step_weights: np.ndarray
    """[N, K, K] their weights."""
    two_step_source: str = "rollout"
    """'rollout' (the model's latent rollout) or 'decoded' (through the decoded cell's own query)."""
    actions: np.ndarray | None = None
    """[A, p] the action set each cell was queried with; None for an action-free model (A = 1)."""

    @property
    def num_actions(self) -> int:
        return 1 if self.actions is None else len(self.actions)


@dataclass(frozen=True)
class AuditReport:
    metrics: list[dict]
    """Long-form {"metric", "key", "value"} rows, the names of evaluate/report.py's docstring."""
    edges: list[dict]
    outputs: list[dict]
    beliefs: list[dict]
    blind: BlindGraph = field(repr=False)
    two_step: TwoStepDecoding = field(repr=False)
    queries: CellQueries = field(repr=False)

    def metric(self, name: str, key: str = "") -> float:
        return metric_value(self.metrics, name, key)


def query_cells(
    model: ModelFunctions | tuple, query_observations: np.ndarray, query_actions: np.ndarray | None = None
) -> CellQueries:
    """Ask the model about every cell, blind: query_observations [N, obs_dim] is all it receives, with
    each action of query_actions [A, p] in turn when the model takes actions."""
    functions = ModelFunctions.of(model)
    observations = np.asarray(query_observations)
    reference = functions.call_encode(observations)  # [N, D]
    latent_dim = reference.shape[1]
    actions = [None] if query_actions is None else list(query_actions)
    answers = [functions.call_successors(observations, latent_dim, actions[0])]
    K = answers[0][1].shape[1]
    answers += [functions.call_successors(observations, latent_dim, action, K) for action in actions[1:]]
    latents = np.concatenate([latent for latent, _ in answers], axis=1)  # [N, A * K, D] action-major
    weights = np.concatenate([weight for _, weight in answers], axis=1)  # [N, A * K]
    num_cells, width = weights.shape
    if functions.rollout is not None:
        flat = latents.reshape(num_cells * width, latent_dim)  # [N * A * K, D]
        rolled = [functions.call_rollout(flat, K, action) for action in actions]  # A x ([M, K, D], [M, K])
        second = np.concatenate([latent for latent, _ in rolled], axis=1)  # [M, A * K, D]
        second_weights = np.concatenate([weight for _, weight in rolled], axis=1)  # [M, A * K]
        second = second.reshape(num_cells, width, width, latent_dim)  # [N, A * K, A * K, D]
        second_weights = second_weights.reshape(num_cells, width, width)  # [N, A * K, A * K]
        source = "rollout"
    else:
        through = decode(latents, reference)  # [N, A * K] the cell each output decodes to
        second, second_weights, source = latents[through], weights[through], "decoded"
    action_set = None if query_actions is None else np.asarray(query_actions)
    return CellQueries(latents, weights, reference, second, second_weights, source, action_set)


def propose(queries: CellQueries, config: GraphConfig) -> tuple[BlindGraph, TwoStepDecoding]:
    """The blind graph and the decoded two-step rollout (docs/protocol.md#4-the-blind-graph): arrays in, no truth."""
    blind = propose_graph(queries.latents, queries.weights, queries.reference, config, queries.num_actions)
    rollout = decode_two_step(
        queries.two_step_latents, queries.weights, queries.two_step_weights, queries.reference, config,
        queries.num_actions,
    )
    return blind, rollout


def evaluate(
    queries: CellQueries, blind: BlindGraph, rollout: TwoStepDecoding, truth: Truth, config: GraphConfig, seed: int
) -> tuple[list[dict], list[dict]]:
    """(metric rows, belief rows); with actions, query_action_scale: the norm of the queried actions."""
    metrics = evaluate_metrics(blind, rollout, truth, config, seed)
    if queries.actions is not None:
        scale = float(np.linalg.norm(queries.actions, axis=1).max())
        metrics.append({"metric": "query_action_scale", "key": "", "value": scale})
    return metrics, belief_rows(queries.reference, queries.two_step_latents, rollout, truth)


def evaluate_metrics(
    blind: BlindGraph, rollout: TwoStepDecoding, truth: Truth, config: GraphConfig, seed: int
) -> list[dict]:
    """Every metric row. The shuffle test, the shuffled coverage and the threshold sweep share one draw
    of the permutations from the trial's 'shuffle' stream."""
    permutations = context_permutations(truth.num_cells, config.shuffle_permutations, numpy_rng(seed, "shuffle"))
    metrics = permuted_report(blind, truth, permutations, two_step=rollout)
    return metrics + threshold_rows(blind, truth, mode_sets(truth), permutations, config)


def audit(
    task: TaskData | CellData,
    model: ModelFunctions | tuple,
    graph: GraphConfig | None = None,
    seed: int = 0,
    holdout_fraction: float = 0.2,
    mode_threshold: float = 0.05,
    context_action: str = "step",
) -> AuditReport:
    """The protocol's full report on `model` for a task. A TaskData is cut into cells as a trial
    does (the seeded hold-out of `seed`); the model sees only the cells' query observations, and with
    graph.query_actions each action of the set (scaled by the train split's `context_action` actions)."""
    graph = graph or GraphConfig()
    if isinstance(task, TaskData):
        task = build_cell_data(task, holdout_fraction, mode_threshold, numpy_rng(seed, "holdout"))
    if not isinstance(task, CellData):
        raise TypeError(f"audit needs a TaskData or CellData; got {type(task).__name__}")
    model = ModelFunctions.of(model)
    allowed = "'compass4' or 'compass8' for a model whose successors take actions" if model.takes_actions else \
        "'none' for a model whose successors take no action"
    check((graph.query_actions != "none") == model.takes_actions, "query_actions", graph.query_actions, allowed)
    actions = query_action_set(graph.query_actions, task.train_examples.context_action(context_action))
    queries = query_cells(model, task.query_observations, actions)
    blind, rollout = propose(queries, graph)
    metrics, beliefs = evaluate(queries, blind, rollout, Truth.from_cell_data(task), graph, seed)
    return AuditReport(metrics, edge_rows(blind, task), output_rows(blind, queries), beliefs, blind, rollout, queries)


def edge_rows(blind: BlindGraph, cells: CellData) -> list[dict]:
    """Every edge of the raw and gated graphs, with its cells' (i, j), whether it is real/held out, and
    the index of the queried action that realizes it (None without actions)."""
    free = cells.geometry.free_ij
    rows = []
    for name, graph in (("raw", blind.raw), ("gated", blind.gated_graph)):
        actions = [None] * graph.num_edges if graph.action is None else graph.action.tolist()
        edges = zip(graph.source, graph.target, graph.weight, graph.cost, actions, strict=True)
        for source, target, weight, cost, action in edges:
            rows.append(
                {
                    "graph": name,
                    "source": int(source),
                    "target": int(target),
                    "source_i": int(free[source, 0]),
                    "source_j": int(free[source, 1]),
                    "target_i": int(free[target, 0]),
                    "target_j": int(free[target, 1]),
                    "weight": float(weight),
                    "cost": float(cost),
                    "real": bool(cells.truth[source, target]),
                    "heldout": bool(cells.heldout[source, target]),
                    "action": action,
                }
            )
    return rows


def output_rows(blind: BlindGraph, queries: CellQueries) -> list[dict]:
    """Each cell's outputs with their cosine similarity to every cell's reference latent."""
    reference = queries.reference / np.linalg.norm(queries.reference, axis=1, keepdims=True)  # [N, D]
    latents = queries.latents / np.linalg.norm(queries.latents, axis=-1, keepdims=True)  # [N, K, D]
    similarity = np.einsum("nkd,md->nkm", latents, reference).astype(np.float32)  # [N, K, N]
    num_cells, K = queries.weights.shape
    return [
        {
            "query": "context",
            "cell": n,
            "output": k,
            "weight": float(queries.weights[n, k]),
            "gated": bool(blind.gated[n, k]),
            "decoded": int(blind.decoded[n, k]),
            "similarity": similarity[n, k].tolist(),
        }
        for n in range(num_cells)
        for k in range(K)
    ]
