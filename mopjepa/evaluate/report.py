"""The whole protocol report of one blind graph, as long-form rows {"metric", "key", "value"}.

Metric names (key "" when a metric has one value; gated graph unless the name ends in _raw):
  plan_all, goal_found, realroute, goal_realroute, precision, recall, precision_heldout,
  recall_heldout, edges                     -- and the same with _raw, on the raw graph
  realroute_by_dist, realroute_by_dist_raw  -- key: true shortest-path distance ("1", "2", ...)
  cov_r, cov_r_raw, cov_p, shuffle          -- key: "branching", and "teleport" in teleport mazes
  cov_r_shuffled                            -- key as cov_r: gated coverage under permuted contexts
                                               (the shuffle test's denominator, the paper's "leakage")
  realroute_ceiling                         -- plan_all of the real graph less the held-out edges: what
                                               realroute reaches when every real transition but the
                                               held-out ones is proposed (the hold-out differs per seed)
  realroute_trained                         -- plan_all of the trained pairs: a model of exactly its data
  realroute_norm, realroute_norm_raw        -- realroute / realroute_ceiling (above 1 only by proposing
                                               held-out transitions)
  active_outputs                            -- mean number of gated outputs per cell
  two_step, two_step_raw                    -- key "mean"; only when a two-step decoding is given

Rows a trial adds beside metric_report's (mopjepa.audit.evaluate), from the same permutations:
  threshold_cov_r, threshold_cov_r_shuffled, threshold_shuffle, threshold_cov_p
                                            -- key "<set>@<t>", e.g. "teleport@0.0625": the same
                                               outputs re-gated at weight threshold t in THRESHOLDS
                                               (1/64 .. 1/4); see evaluate/thresholds.py
  threshold_precision, threshold_active_outputs -- key "<t>", e.g. "0.0625"
"""

from __future__ import annotations

import numpy as np

from mopjepa.config import GraphConfig
from mopjepa.evaluate import coverage, routes
from mopjepa.evaluate.truth import Truth
from mopjepa.graph.propose import BlindGraph, TwoStepDecoding
from mopjepa.graph.types import ProposedGraph

Row = dict[str, str | float]


def row(metric: str, value: float, key: str = "") -> Row:
    return {"metric": metric, "key": key, "value": float(value)}


def route_rows(graph: ProposedGraph, truth: Truth, suffix: str = "") -> list[Row]:
    """Planning, verified-route, precision and recall rows of one graph."""
    rows = [
        row("plan_all" + suffix, routes.plan_all(graph)),
        row("goal_found" + suffix, routes.goal_found(graph, truth.tasks)),
        row("realroute" + suffix, routes.realroute(graph, truth.truth)),
        row("goal_realroute" + suffix, routes.goal_realroute(graph, truth.truth, truth.tasks)),
        row("precision" + suffix, routes.precision(graph, truth.truth)),
        row("recall" + suffix, routes.recall(graph, truth.truth)),
        row("precision_heldout" + suffix, routes.precision_heldout(graph, truth.truth, truth.trained_pairs)),
        row("recall_heldout" + suffix, routes.recall_heldout(graph, truth.heldout)),
        row("edges" + suffix, graph.num_edges),
    ]
    by_dist = routes.realroute_by_dist(graph, truth.truth)
    rows += [row("realroute_by_dist" + suffix, value, str(d)) for d, value in by_dist.items()]
    return rows


def mode_sets(truth: Truth) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The scored cells and their modes per coverage key."""
    sets = {"branching": coverage.branching_modes(truth.successor_modes)}
    if truth.has_teleports:
        sets["teleport"] = coverage.teleport_modes(truth.teleport_in, truth.teleport_out, truth.num_cells)
    return sets


def coverage_rows(blind: BlindGraph, truth: Truth, permutations: np.ndarray) -> list[Row]:
    """cov_r (gated and raw), cov_p, shuffle and cov_r_shuffled rows for every mode set."""
    everything = np.ones_like(blind.gated)
    rows = []
    for key, (cells, modes) in mode_sets(truth).items():
        rows += [
            row("cov_r", coverage.cov_r(blind.decoded, blind.gated, cells, modes), key),
            row("cov_r_raw", coverage.cov_r(blind.decoded, everything, cells, modes), key),
            row("cov_p", coverage.cov_p(blind.decoded, blind.gated, cells, modes), key),
            row("shuffle", coverage.shuffle(blind.decoded, blind.gated, cells, modes, permutations), key),
        ]
    for key, (cells, modes) in mode_sets(truth).items():
        shuffled = coverage.shuffled_cov_r(blind.decoded, blind.gated, cells, modes, permutations)
        rows.append(row("cov_r_shuffled", shuffled, key))
    return rows


def ceiling_rows(blind: BlindGraph, truth: Truth) -> list[Row]:
    """realroute against its ceiling: the ceiling itself and realroute / ceiling, gated and raw; and the
    realroute of a model of exactly the trained pairs."""
    ceiling = routes.realroute_ceiling(truth.truth, truth.heldout)
    return [
        row("realroute_ceiling", ceiling),
        row("realroute_trained", routes.realroute_trained(truth.truth, truth.trained_pairs)),
        row("realroute_norm", routes.ratio(routes.realroute(blind.gated_graph, truth.truth), ceiling)),
        row("realroute_norm_raw", routes.ratio(routes.realroute(blind.raw, truth.truth), ceiling)),
    ]


def two_step_rows(rollout: TwoStepDecoding, truth: Truth) -> list[Row]:
    everything = np.ones_like(rollout.gated)
    return [
        row("two_step", coverage.two_step(rollout.decoded, rollout.gated, truth.two_step_modes), "mean"),
        row("two_step_raw", coverage.two_step(rollout.decoded, everything, truth.two_step_modes), "mean"),
    ]


def metric_report(
    blind: BlindGraph,
    truth: Truth,
    config: GraphConfig,
    rng: np.random.Generator,
    two_step: TwoStepDecoding | None = None,
) -> list[Row]:
    """Every protocol metric of a blind graph against the truth. `rng` draws the shuffle test's
    config.shuffle_permutations permutations (the same ones for every coverage key)."""
    permutations = coverage.context_permutations(truth.num_cells, config.shuffle_permutations, rng)
    return permuted_report(blind, truth, permutations, two_step)


def permuted_report(
    blind: BlindGraph, truth: Truth, permutations: np.ndarray, two_step: TwoStepDecoding | None = None
) -> list[Row]:
    """metric_report with the shuffle test's [P, N] context permutations given (drawn once by the caller)."""
    if blind.num_cells != truth.num_cells:
        raise ValueError(f"the blind graph has {blind.num_cells} cells, the truth {truth.num_cells}")
    if two_step is not None and two_step.decoded.shape[0] != truth.num_cells:
        raise ValueError(
            f"the two-step rollout has {two_step.decoded.shape[0]} cells, the truth {truth.num_cells}"
        )
    rows = route_rows(blind.gated_graph, truth) + route_rows(blind.raw, truth, "_raw")
    rows += ceiling_rows(blind, truth)
    rows += coverage_rows(blind, truth, permutations)
    rows.append(row("active_outputs", blind.gated.sum(axis=1).mean()))
    if two_step is not None:
        rows += two_step_rows(two_step, truth)
    return rows


def as_dict(rows: list[Row]) -> dict[tuple[str, str], float]:
    """{(metric, key): value}, an error on a duplicate (metric, key)."""
    table: dict[tuple[str, str], float] = {}
    for entry in rows:
        name = (str(entry["metric"]), str(entry["key"]))
        if name in table:
            raise ValueError(f"duplicate metric row {name}")
        table[name] = float(entry["value"])
    return table


def metric_value(rows: list[Row], name: str, key: str = "") -> float:
    """The value of the row (name, key); a KeyError naming them when there is none."""
    for entry in rows:
        if entry["metric"] == name and entry["key"] == key:
            return entry["value"]
    raise KeyError(f"no metric {name!r} with key {key!r}")
