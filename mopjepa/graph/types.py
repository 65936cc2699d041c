"""A proposed transition graph over the free cells: directed edges with router weights and costs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ProposedGraph:
    num_cells: int
    source: np.ndarray
    """[E] int cell an edge leaves."""
    target: np.ndarray
    """[E] int cell an edge enters."""
    weight: np.ndarray
    """[E] router mass behind the edge (summed over the outputs of `source` that decode to `target`)."""
    cost: np.ndarray
    """[E] planning cost of the edge (-log weight, or 1 for the uniform-cost ablation)."""
    action: np.ndarray | None = None
    """[E] int index, in the query's action set, of the action that realizes the edge (its largest
    mass); None for a graph proposed without actions."""

    def __post_init__(self):
        lengths = {len(self.source), len(self.target), len(self.weight), len(self.cost)}
        if self.action is not None:
            lengths.add(len(self.action))
        if len(lengths) != 1:
            raise ValueError(f"edge arrays disagree in length: {lengths}")

    @property
    def num_edges(self) -> int:
        return len(self.source)

    def adjacency(self) -> np.ndarray:
        """[N, N] bool."""
        matrix = np.zeros((self.num_cells, self.num_cells), dtype=bool)
        matrix[self.source, self.target] = True
        return matrix

    def cost_matrix(self) -> np.ndarray:
        """[N, N] float, +inf where there is no edge."""
        matrix = np.full((self.num_cells, self.num_cells), np.inf)
        matrix[self.source, self.target] = self.cost
        return matrix

    def restricted_to(self, keep: np.ndarray) -> ProposedGraph:
        """The subgraph of edges whose (source, target) is True in the [N, N] bool `keep`."""
        mask = keep[self.source, self.target]
        action = None if self.action is None else self.action[mask]
        return ProposedGraph(
            self.num_cells, self.source[mask], self.target[mask], self.weight[mask], self.cost[mask], action
        )

    @classmethod
    def from_adjacency(cls, adjacency: np.ndarray) -> ProposedGraph:
        """Unit-weight, unit-cost edges (plans minimise hops) from an [N, N] bool matrix, e.g. the truth."""
        source, target = np.nonzero(adjacency)
        ones = np.ones(len(source))
        return cls(len(adjacency), source, target, ones, ones.copy())
