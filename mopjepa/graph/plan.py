"""Shortest-path planning over a proposed graph (scipy's compiled Dijkstra/BFS)."""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import csgraph_from_dense, dijkstra, shortest_path

from mopjepa.graph.types import ProposedGraph


def plan_path(costs: np.ndarray, source: int, target: int) -> list[int] | None:
    """The cheapest cell sequence source -> target in an [N, N] cost matrix (+inf: no edge), or None.

    Zero-cost edges are edges (csgraph_from_dense with an infinite null value)."""
    if source == target:
        return [source]
    graph = csgraph_from_dense(costs, null_value=np.inf)
    _, predecessors = dijkstra(graph, indices=source, return_predecessors=True)
    if predecessors[target] < 0:
        return None
    path = [target]
    while path[-1] != source:
        path.append(int(predecessors[path[-1]]))
    return path[::-1]


def reachability(adjacency: np.ndarray) -> np.ndarray:
    """[N, N] bool: a directed path exists from row cell to column cell (diagonal True)."""
    hops = hop_distances(adjacency)
    return np.isfinite(hops)


def hop_distances(adjacency: np.ndarray) -> np.ndarray:
    """[N, N] number of edges on the shortest directed path (+inf when unreachable)."""
    graph = csgraph_from_dense(adjacency.astype(np.float64), null_value=0.0)
    return shortest_path(graph, method="D", directed=True, unweighted=True)


def graph_reachability(graph: ProposedGraph) -> np.ndarray:
    return reachability(graph.adjacency())
