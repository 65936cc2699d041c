"""The gate-threshold sweep ("Coverage of Stochastic Dynamics"): the same outputs re-gated at t.

The model's decoded outputs and weights are kept; only the gate changes, from the trial's own
(gate_factor / K, 0.5 / K by default) to an absolute weight threshold t, exactly as a trial with
GraphConfig(gate_threshold=t) would gate them. For each t this gives, in long form:

    threshold_cov_r           key "<set>@<t>"  gated coverage of the mode set ("branching", "teleport")
    threshold_cov_r_shuffled  key "<set>@<t>"  the same with contexts permuted across cells
    threshold_shuffle         key "<set>@<t>"  their ratio (1.0 = not context-conditional)
    threshold_cov_p           key "<set>@<t>"  fraction of gated outputs on a mode
    threshold_precision       key "<t>"        transition precision of the re-gated graph
    threshold_active_outputs  key "<t>"        mean gated outputs per cell

`<t>` is written with "%g" (1/16 -> "0.0625"). Single-output arms pass every gate (as in
propose.gate), so their rows are flat in t. The permutations are the caller's: a trial passes the
same ones its shuffle metric used.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mopjepa.config import GraphConfig
from mopjepa.evaluate import coverage, routes
from mopjepa.evaluate.truth import Truth
from mopjepa.graph.propose import BlindGraph, edges_from_outputs, gate

THRESHOLDS = (1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4)
"""The paper's sweep over t in [1/64, 1/4]."""

Row = dict[str, str | float]


def threshold_key(threshold: float, mode_set: str | None = None) -> str:
    """"0.0625" or "teleport@0.0625"."""
    text = f"{threshold:g}"
    return text if mode_set is None else f"{mode_set}@{text}"


def threshold_rows(
    blind: BlindGraph,
    truth: Truth,
    mode_sets: dict[str, tuple[np.ndarray, np.ndarray]],
    permutations: np.ndarray,
    config: GraphConfig,
    thresholds: tuple[float, ...] = THRESHOLDS,
) -> list[Row]:
    """Re-gate blind.decoded [N, K] / blind.weights [N, K] at every t and score it (see the module doc).
    `mode_sets` maps a set name to its scored cells [B] and modes [B, N] (report.mode_sets)."""
    rows: list[Row] = []
    for threshold in thresholds:
        regated = dataclasses.replace(config, gate_threshold=threshold)
        active, _ = gate(blind.weights, regated, blind.num_actions)  # [N, A * K]
        graph = edges_from_outputs(blind.decoded, blind.weights, active, regated.edge_cost, blind.num_actions)
        key = threshold_key(threshold)
        rows.append(_row("threshold_precision", routes.precision(graph, truth.truth), key))
        rows.append(_row("threshold_active_outputs", active.sum(axis=1).mean(), key))
        for name, (cells, modes) in mode_sets.items():
            key = threshold_key(threshold, name)
            true = coverage.cov_r(blind.decoded, active, cells, modes)
            shuffled = coverage.shuffled_cov_r(blind.decoded, active, cells, modes, permutations)
            rows += [
                _row("threshold_cov_r", true, key),
                _row("threshold_cov_r_shuffled", shuffled, key),
                _row("threshold_shuffle", routes.ratio(true, shuffled) if len(cells) else float("nan"), key),
                _row("threshold_cov_p", coverage.cov_p(blind.decoded, active, cells, modes), key),
            ]
    return rows


def _row(metric: str, value: float, key: str) -> Row:
    return {"metric": metric, "key": key, "value": float(value)}
