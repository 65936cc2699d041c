"""Planning metrics on a proposed graph (docs/protocol.md#planning): searchability, verified routes, precision, recall.

Every function is pure: a ProposedGraph and [N, N] / [T, 2] arrays in, a float (or a dict) out.
A ratio whose denominator is 0 is NaN, never 0 or 1. All-pairs reachability is scipy's compiled
breadth-first search (mopjepa.graph.plan), a few milliseconds for ~100 cells.
"""

from __future__ import annotations

import numpy as np

from mopjepa.graph.plan import hop_distances, reachability
from mopjepa.graph.types import ProposedGraph


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is 0."""
    return float(numerator) / float(denominator) if denominator else float("nan")


def pair_fraction(reach: np.ndarray) -> float:
    """Fraction of ordered pairs of distinct cells that are True in an [N, N] bool matrix."""
    num_cells = len(reach)
    off_diagonal = int(reach.sum()) - int(np.trace(reach))
    return ratio(off_diagonal, num_cells * (num_cells - 1))


def task_fraction(reach: np.ndarray, tasks: np.ndarray) -> float:
    """Fraction of the [T, 2] (start, goal) pairs that are True in reach (start == goal counts)."""
    return ratio(int(reach[tasks[:, 0], tasks[:, 1]].sum()), len(tasks))


def real_part(graph: ProposedGraph, truth: np.ndarray) -> ProposedGraph:
    """The proposed edges that are real transitions."""
    _check_size(graph, truth)
    return graph.restricted_to(truth)


def plan_all(graph: ProposedGraph) -> float:
    """Fraction of ordered pairs of distinct cells with a directed path in the proposed graph."""
    return pair_fraction(reachability(graph.adjacency()))


def goal_found(graph: ProposedGraph, tasks: np.ndarray) -> float:
    """plan_all over the official (start cell, goal cell) pairs [T, 2]."""
    return task_fraction(reachability(graph.adjacency()), tasks)


def realroute(graph: ProposedGraph, truth: np.ndarray) -> float:
    """Fraction of ordered pairs with a path made only of proposed edges that are real."""
    return plan_all(real_part(graph, truth))


def goal_realroute(graph: ProposedGraph, truth: np.ndarray, tasks: np.ndarray) -> float:
    """realroute over the official (start cell, goal cell) pairs [T, 2]."""
    return goal_found(real_part(graph, truth), tasks)


def realroute_ceiling(truth: np.ndarray, heldout: np.ndarray) -> float:
    """plan_all of the real graph less the held-out edges: the realroute of a model that proposes every
    real transition except the held-out ones (real moves the data never shows included). A model that
    proposes held-out edges can exceed it."""
    _check_square(truth, heldout)
    return pair_fraction(reachability(truth & ~heldout))


def realroute_trained(truth: np.ndarray, trained_pairs: np.ndarray) -> float:
    """plan_all of the trained pairs: the realroute of a model that proposes exactly the transitions it
    trained on (at most realroute_ceiling)."""
    _check_square(truth, trained_pairs)
    return pair_fraction(reachability(truth & trained_pairs))


def realroute_by_dist(graph: ProposedGraph, truth: np.ndarray) -> dict[int, float]:
    """realroute per true shortest-path distance (hops in the truth graph), for every finite
    distance >= 1 that occurs; pairs the truth cannot connect have no distance and are left out."""
    verified = reachability(real_part(graph, truth).adjacency())  # [N, N]
    distance = hop_distances(truth)  # [N, N]
    finite = np.isfinite(distance) & (distance > 0)
    hops = distance[finite].astype(np.int64)  # [P]
    found = verified[finite]  # [P]
    totals = np.bincount(hops)
    hits = np.bincount(hops, weights=found, minlength=len(totals))
    return {int(d): float(hits[d] / totals[d]) for d in np.flatnonzero(totals)}


def precision(graph: ProposedGraph, truth: np.ndarray) -> float:
    """Real proposed edges / proposed edges."""
    _check_size(graph, truth)
    return ratio(int(truth[graph.source, graph.target].sum()), graph.num_edges)


def recall(graph: ProposedGraph, truth: np.ndarray) -> float:
    """Real proposed edges / real edges."""
    _check_size(graph, truth)
    return ratio(int(truth[graph.source, graph.target].sum()), int(truth.sum()))


def precision_heldout(graph: ProposedGraph, truth: np.ndarray, trained_pairs: np.ndarray) -> float:
    """Among proposed edges that are not trained pairs (the model never saw them as examples), the
    fraction that are real [choice: the held-out analogue of precision]."""
    _check_size(graph, truth)
    unseen = ~trained_pairs[graph.source, graph.target]  # [E]
    real = truth[graph.source, graph.target]  # [E]
    return ratio(int((unseen & real).sum()), int(unseen.sum()))


def recall_heldout(graph: ProposedGraph, heldout: np.ndarray) -> float:
    """Held-out edges proposed / held-out edges."""
    _check_size(graph, heldout)
    return ratio(int(heldout[graph.source, graph.target].sum()), int(heldout.sum()))


def _check_square(truth: np.ndarray, heldout: np.ndarray) -> None:
    if truth.shape != heldout.shape or truth.ndim != 2 or truth.shape[0] != truth.shape[1]:
        raise ValueError(f"truth {truth.shape} and heldout {heldout.shape} must be the same [N, N]")


def _check_size(graph: ProposedGraph, matrix: np.ndarray) -> None:
    if matrix.shape != (graph.num_cells, graph.num_cells):
        raise ValueError(f"graph has {graph.num_cells} cells but the truth matrix is {matrix.shape}")
