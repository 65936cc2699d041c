"""The executor's working copy of a proposed graph: routes to one goal cell from every cell, kept current.

Routes are tables computed once per change of the graph (an edge dropped after a stall, or added by
online repair), so replanning after landing in an unplanned cell is a look-up.

**Jumps [choice].** An edge to a cell that is not a grid neighbour of its source is a *jump* (a
teleport, or an error of the graph). A cell with two or more jumps is a *chance* cell: the agent can
wait for a jump there but cannot pick which one happens (a single jump is an ordinary, chosen edge).
With `worst_case=True` the planner values entering a chance cell by its worst jump (Knuth's
generalisation of Dijkstra: an AND node over its jump targets, an OR node elsewhere), so it takes a
route through a teleport only if every exit still reaches the goal. Cells with no such route follow
the plain cheapest path, which is also the only table when `worst_case=False`.
"""

from __future__ import annotations

import heapq

import numpy as np
from scipy.sparse.csgraph import csgraph_from_dense, dijkstra


class WorkingGraph:
    def __init__(self, costs: np.ndarray, goal: int, neighbours: np.ndarray, worst_case: bool = True):
        """`costs`: [N, N] edge costs, +inf where there is no edge (copied; self-loops ignored).
        `neighbours`: [N, N] bool, the cells touch on the grid (edges elsewhere are jumps)."""
        self.costs = np.array(costs, dtype=np.float64)  # [N, N]
        np.fill_diagonal(self.costs, np.inf)
        self.goal = int(goal)
        self.neighbours = np.asarray(neighbours, dtype=bool)  # [N, N]
        self.worst_case = worst_case
        self.shortest_next = np.full(len(self.costs), -1, dtype=np.int64)  # [N] -1: no path
        self.safe_next = np.full(len(self.costs), -1, dtype=np.int64)  # [N] -1: no safe route
        self._refresh()

    @property
    def num_cells(self) -> int:
        return len(self.costs)

    # -- tables ---------------------------------------------------------------------------------

    def _refresh(self) -> None:
        reversed_graph = csgraph_from_dense(self.costs.T, null_value=np.inf)  # zero costs stay edges
        _, predecessors = dijkstra(reversed_graph, indices=self.goal, return_predecessors=True)
        # In the reversed shortest-path tree a cell's predecessor is its next hop toward the goal.
        self.shortest_next[:] = np.where(predecessors < 0, -1, predecessors)
        self.shortest_next[self.goal] = self.goal
        if self.worst_case:
            self._refresh_worst_case()

    def _refresh_worst_case(self) -> None:
        count = self.num_cells
        edges = np.isfinite(self.costs)  # [N, N]
        jumps = edges & ~self.neighbours  # [N, N]
        chance = jumps.sum(axis=1) >= 2  # [N] a single jump is an ordinary (chosen) edge
        chance[self.goal] = False
        entry, rank = self._entry_values(edges, jumps, chance)  # [N] worst-case cost of entering, order

        # The choice of an agent standing in a cell: an ordinary edge, or waiting in a chance cell for a
        # jump, any of whose targets may follow.
        chance_jumps = jumps & chance[:, None]  # [N, N]
        step = np.where(edges & ~chance_jumps, self.costs + entry[None, :], np.inf)  # [N, N]
        step_value = step.min(axis=1)
        step_target = np.where(step == step_value[:, None], rank[None, :], count + 1).argmin(axis=1)
        step_rank = rank[step_target]
        jump_all = np.where(chance_jumps, self.costs + entry[None, :], -np.inf)  # [N, N]
        jump_value = np.where(chance, jump_all.max(axis=1), np.inf)
        jump_rank = np.where(chance_jumps, rank[None, :], -1).max(axis=1)
        jump_target = jump_all.argmax(axis=1)
        take_jump = (jump_value < step_value) | ((jump_value == step_value) & (jump_rank < step_rank))
        value = np.where(take_jump, jump_value, step_value)
        self.safe_next[:] = np.where(np.isfinite(value), np.where(take_jump, jump_target, step_target), -1)
        self.safe_next[self.goal] = self.goal

    def _entry_values(
        self, edges: np.ndarray, jumps: np.ndarray, chance: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Knuth-Dijkstra from the goal: min over edges for ordinary cells, max over jumps for chance cells.

        Returns ([N] value, [N] rank: the order in which values were final, N for unreachable cells).
        Breaking ties by rank makes every choice point to an earlier-final cell, so routes end."""
        sources, targets = np.nonzero(edges)
        incoming: list[list[tuple[int, float]]] = [[] for _ in range(self.num_cells)]
        for source, target in zip(sources.tolist(), targets.tolist(), strict=True):
            if not chance[source] or jumps[source, target]:
                incoming[target].append((source, float(self.costs[source, target])))
        pending = jumps.sum(axis=1).tolist()  # jump targets a chance cell still waits for
        worst = [0.0] * self.num_cells
        tentative = [np.inf] * self.num_cells
        entry = np.full(self.num_cells, np.inf)
        rank = np.full(self.num_cells, self.num_cells, dtype=np.int64)
        done = [False] * self.num_cells
        order = 0
        tentative[self.goal] = 0.0
        heap = [(0.0, self.goal)]
        while heap:
            value, cell = heapq.heappop(heap)
            if done[cell]:
                continue
            done[cell] = True
            entry[cell], rank[cell] = value, order
            order += 1
            for source, cost in incoming[cell]:
                if done[source]:
                    continue
                if chance[source]:
                    worst[source] = max(worst[source], cost + value)
                    pending[source] -= 1
                    if pending[source] == 0:
                        heapq.heappush(heap, (worst[source], source))
                elif cost + value < tentative[source]:
                    tentative[source] = cost + value
                    heapq.heappush(heap, (cost + value, source))
        return entry, rank

    # -- queries and changes --------------------------------------------------------------------

    def route(self, cell: int) -> list[int] | None:
        """The cell sequence the executor would follow cell -> goal, or None (also for cell -1).

        Worst-case-safe choices where a cell has one, the cheapest path otherwise."""
        if cell < 0:
            return None
        path = [int(cell)]
        while path[-1] != self.goal:
            current = path[-1]
            following = self.safe_next[current] if self.worst_case else -1
            if following < 0:
                following = self.shortest_next[current]
            if following < 0 or len(path) > self.num_cells:
                if len(path) > self.num_cells:
                    raise RuntimeError(f"route from cell {cell} does not reach goal {self.goal}: {path}")
                return None
            path.append(int(following))
        return path

    def paths_from(self, cell: int) -> tuple[np.ndarray, np.ndarray]:
        """Cheapest paths out of `cell` (plain Dijkstra, whatever the goal): ([N] path cost, +inf where no
        path; [N] the cell before each on its path, -1 at `cell` and where no path)."""
        graph = csgraph_from_dense(self.costs, null_value=np.inf)  # zero costs stay edges
        costs, predecessors = dijkstra(graph, indices=int(cell), return_predecessors=True)
        return costs, np.where(predecessors < 0, -1, predecessors)

    def has_edge(self, source: int, target: int) -> bool:
        return bool(np.isfinite(self.costs[source, target]))

    def drop(self, source: int, target: int) -> None:
        self.costs[source, target] = np.inf
        self._refresh()

    def add(self, source: int, target: int, cost: float) -> None:
        self.costs[source, target] = cost
        self._refresh()
