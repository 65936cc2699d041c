"""The 'explore' fallback's memory within one episode (ExecuteConfig.fallback, docs/protocol.md#6-execution).

When the working graph has no path to the goal cell, the agent heads for the *subgoal*: the cell its
working graph reaches from its own cell whose centre is nearest the goal cell's centre (euclidean; no
walls are known), then on toward the goal. When heading for the goal makes no progress for
`stall_steps` it leaves the wall on an exploratory run: in a compass direction not yet tried from its
cell (the heading that stalled counts as tried; when all four are tried all are open again), drawn
from the episode's own generator, steering at the centre of the grid square one cell ahead, cell after
cell, until the run stalls against a wall (its direction then counts as tried there) or a plan appears
(a subgoal, or with online repair a path to the goal); then it heads on for the goal. **[choice]** A
run rather than a one-cell move: a move that ends where it leaves its cell is pulled straight back
into the pocket it left by heading for the goal again.

**[choice]** A cell the agent has headed on from is *spent*: it is no subgoal any more, and the agent
never turns back to a subgoal farther from the goal than its own cell. Otherwise a nearest-to-the-goal
rule pulls it back into the same pocket against a wall from every cell around it. Only the working
graph (the proposal, what was dropped, and with online repair what the agent experienced) and the
agent's own positions are read.
"""

from __future__ import annotations

import math

import numpy as np

from mopjepa.execute.working_graph import WorkingGraph

COMPASS = ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))
"""Exploratory directions in (x, y): east, north, west, south."""
EXPLORE_SALT = 0x6578706C
"""Appended to the episode seed: the explorer's generator is independent of OGBench's legacy one."""


def nearest_compass(dx: float, dy: float) -> int:
    """The index in COMPASS of the direction closest to (dx, dy)."""
    return int(np.argmax([dx * cx + dy * cy for cx, cy in COMPASS]))


class Explorer:
    def __init__(self, centres: list[tuple[float, float]], unit: float, goal_cell: int, seed: int):
        """`centres`: [N] (x, y) of every free cell; `goal_cell`: the goal's cell (-1: none, nothing to explore for)."""
        self.centres = centres
        self.unit = unit
        goal_x, goal_y = centres[goal_cell] if goal_cell >= 0 else (0.0, 0.0)
        self.closeness = np.array([math.hypot(x - goal_x, y - goal_y) for x, y in centres])  # [N]
        self.spent = np.zeros(len(centres), dtype=bool)  # [N]
        self.tried: dict[int, set[int]] = {}
        self.rng = np.random.default_rng([int(seed), EXPLORE_SALT])

    def subgoal_route(self, graph: WorkingGraph, cell: int) -> list[int]:
        """The cheapest path from `cell` to its subgoal; [cell] (head on from here) when no unspent cell it
        reaches is nearer the goal. Ties: the cheaper path, then the lower cell index."""
        costs, predecessors = graph.paths_from(cell)  # [N], [N]
        candidates = np.flatnonzero(np.isfinite(costs) & ~self.spent)
        if len(candidates) == 0:
            return [cell]
        subgoal = int(candidates[np.lexsort((candidates, costs[candidates], self.closeness[candidates]))[0]])
        if self.closeness[subgoal] >= self.closeness[cell]:
            return [cell]
        path = [subgoal]
        while path[-1] != cell:
            path.append(int(predecessors[path[-1]]))
        return path[::-1]

    def spend(self, cell: int) -> None:
        """The agent heads on toward the goal from `cell`."""
        self.spent[cell] = True

    def mark_tried(self, cell: int, dx: float, dy: float) -> None:
        """Steering along (dx, dy) from `cell` made no progress: its compass direction counts as tried there."""
        self.tried.setdefault(cell, set()).add(nearest_compass(dx, dy))

    @staticmethod
    def direction(index: int) -> tuple[float, float]:
        return COMPASS[index]

    def next_move(self, cell: int) -> int:
        """A seeded direction (index in COMPASS) not yet tried from `cell`; all four again once all are tried."""
        tried = self.tried.setdefault(cell, set())
        if len(tried) == len(COMPASS):
            tried.clear()
        untried = [d for d in range(len(COMPASS)) if d not in tried]
        direction = untried[int(self.rng.integers(len(untried)))]
        tried.add(direction)
        return direction

    def move_point(self, cell: int, direction: int) -> tuple[float, float]:
        """Where an exploratory run steers from `cell`: one cell from its centre in `direction` (a wall or not)."""
        x, y = self.centres[cell]
        dx, dy = COMPASS[direction]
        return x + self.unit * dx, y + self.unit * dy
