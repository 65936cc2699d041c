"""One episode of the replanning executor in the real environment (docs/protocol.md#6-execution).

The agent plans a cheapest cell path to the goal cell in the proposed graph and steers toward the
next cell's centre (inside the goal cell, toward the goal itself). It replans when it lands in a
cell that is not on the rest of its plan (a teleport, a bump into a side cell) and when it makes no
progress on an edge for `stall_steps` steps; the stalled edge is then dropped for the rest of the
episode. With no path from its cell to the goal cell it takes the fallback, the same for every arm:
it steers straight at the goal (`fallback='straight'`), or explores toward it (`'explore'`,
mopjepa.execute.explore). No ground truth is read: only the proposed graph, the maze coordinates and
what the agent observes.

Definitions the protocol leaves open **[choice]**:
- *progress* on an edge: the distance to the edge's steering point falls below the best distance
  seen on that edge by at least `progress_tol`. Steps without progress add up over every attempt of
  the edge in the episode (so bouncing between the edge's source and a side cell cannot hide a
  stall) and are cleared when the edge is traversed.
- an edge to a cell that is not a grid neighbour (a *jump*, e.g. a teleport) is pursued by steering
  to its source cell's centre, where whatever makes the jump must fire (`jump_steering='source'`);
  `'target'` steers at the far cell's centre instead.
- *replans* counts how often the plan changed after the first one; a teleport counts when the
  agent's position moves more than a quarter cell in one step.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass, fields

import numpy as np

from mopjepa.config import ExecuteConfig
from mopjepa.data.maze import MazeGeometry
from mopjepa.execute.explore import Explorer
from mopjepa.execute.working_graph import WorkingGraph
from mopjepa.graph.types import ProposedGraph


@dataclass(frozen=True)
class Episode:
    """What one episode did; data only."""

    task_id: int
    episode: int
    """Index of the episode within its task."""
    seed: int
    success: bool
    """The environment's own info['success'] at the last step."""
    steps: int
    replans: int
    dropped_edges: int
    added_edges: int
    """Experienced transitions added to the working graph (online repair only)."""
    path_length: int
    """Cells of the first plan, start and goal cell included; 0 when there was none."""
    used_fallback: bool
    """At some point the working graph had no path to the goal cell and the agent steered straight at it."""
    teleports: int
    """Steps on which the agent was moved more than a quarter cell."""
    explore_moves: int = 0
    """Exploratory moves of the 'explore' fallback (not in the episodes table)."""

    TABLE_NAMES: typing.ClassVar[dict[str, str | None]] = {"seed": "episode_seed", "explore_moves": None}
    """Fields named otherwise in the `episodes` table (a trial's rows have a `seed` of their own), or left out."""

    @classmethod
    def table_fields(cls) -> list[tuple[str, str, type]]:
        """(column, field, Python type) of each column of the `episodes` table, in field order."""
        hints = typing.get_type_hints(cls)
        named = ((cls.TABLE_NAMES.get(f.name, f.name), f.name) for f in fields(cls))
        return [(column, name, hints[name]) for column, name in named if column is not None]

    def row(self) -> dict:
        """This episode as a row of the `episodes` table (numpy scalars as Python ones)."""
        return {column: kind(getattr(self, name)) for column, name, kind in self.table_fields()}


class _Layout:
    """Scalar look-ups on the maze grid, precomputed once per episode (the per-step path stays cheap)."""

    def __init__(self, geometry: MazeGeometry):
        self.unit = geometry.maze_unit
        self.offset_x, self.offset_y = geometry.offset
        self.index = geometry.cell_index.tolist()  # [H][W] cell or -1
        self.height, self.width = geometry.maze_map.shape
        self.centre = [tuple(xy) for xy in geometry.ij_to_xy(geometry.free_ij).tolist()]  # [N] (x, y)
        free = geometry.free_ij
        gap = np.abs(free[:, None, :] - free[None, :, :]).max(axis=-1)  # [N, N] Chebyshev distance
        self.neighbours = gap <= 1  # [N, N] the cells touch on the grid (8-neighbourhood)

    def cell(self, x: float, y: float) -> int:
        """OGBench's xy_to_ij (int() truncation), then the cell index; -1 off the free cells."""
        i = int((y + self.offset_y + 0.5 * self.unit) / self.unit)
        j = int((x + self.offset_x + 0.5 * self.unit) / self.unit)
        if 0 <= i < self.height and 0 <= j < self.width:
            return self.index[i][j]
        return -1


class _Navigator:
    """The executor's state within one episode: plan, working graph, per-edge progress, counters."""

    def __init__(self, layout: _Layout, graph: ProposedGraph, goal_xy: np.ndarray, cfg: ExecuteConfig, seed: int):
        self.layout = layout
        self.cfg = cfg
        self.goal_xy = (float(goal_xy[0]), float(goal_xy[1]))
        self.goal_cell = layout.cell(*self.goal_xy)
        worst_case = cfg.jump_planning == "worst_case"
        self.graph = WorkingGraph(graph.cost_matrix(), max(self.goal_cell, 0), layout.neighbours, worst_case)
        self.repair_cost = float(np.min(graph.cost)) if graph.num_edges else 1.0
        self.jump_distance = layout.unit / 4
        self.records: dict[tuple[int, int], list] = {}  # edge or explore key -> [best distance, stalled steps]
        self.replans = self.dropped_edges = self.added_edges = self.teleports = self.explore_moves = 0
        self.used_fallback = False
        exploring = cfg.fallback == "explore"
        self.explorer = Explorer(layout.centre, layout.unit, self.goal_cell, seed) if exploring else None
        self.exploring: int | None = None
        """The direction (index in explore.COMPASS) of the exploratory run under way, if any."""
        self.plan: list[int] | None = None
        self.position = 0
        self.on_plan: dict[int, int] = {}
        self.pursued: tuple[int, int] | None = None
        self.steer = self.goal_xy
        self.stale = True
        """The pursued edge and steering point must be recomputed: the cell or the plan changed."""

    # -- planning -------------------------------------------------------------------------------

    def start(self, x: float, y: float) -> int:
        """Place the agent, make the first plan; returns its length in cells (0: none)."""
        self.x, self.y = x, y
        self.cell = self.layout.cell(x, y)
        self._replan(count=False)
        return len(self.plan) if self.plan is not None and not self.used_fallback else 0

    def _route(self) -> tuple[list[int] | None, bool]:
        """(the plan from the agent's cell, whether it is the fallback's: the goal cell is out of reach).

        The fallback's plan is None (steer at the goal), or with 'explore' the path to the subgoal
        ([cell]: head on toward the goal from here)."""
        route = self.graph.route(self.cell) if self.goal_cell >= 0 else None
        if route is not None or self.explorer is None or self.cell < 0 or self.goal_cell < 0:
            return route, route is None
        return self.explorer.subgoal_route(self.graph, self.cell), True

    def _replan(self, count: bool = True) -> None:
        route, fallback = self._route()
        if count and route != (self.plan[self.position:] if self.plan is not None else None):
            self.replans += 1
        self.plan, self.position = route, 0
        self.stale = True
        self.on_plan = {cell: k for k, cell in enumerate(route)} if route is not None else {}
        self.used_fallback |= fallback

    # -- steering -------------------------------------------------------------------------------

    def _edge(self) -> tuple[int, int] | None:
        """The planned edge being pursued, or None (goal cell, fallback, end of plan)."""
        if self.cell == self.goal_cell or self.plan is None or self.position >= len(self.plan) - 1:
            return None
        return self.plan[self.position], self.plan[self.position + 1]

    def _steer_point(self, edge: tuple[int, int] | None) -> tuple[float, float]:
        if edge is None and self.exploring is not None:
            return self.explorer.move_point(self.cell, self.exploring)
        if edge is None:
            return self.goal_xy
        source, target = edge
        if self.cfg.jump_steering == "target" or self.layout.neighbours[source, target]:
            return self.layout.centre[target]
        return self.layout.centre[source]

    def action(self) -> np.ndarray:
        """[2] unit vector from the agent toward its steering point (zero on the point itself)."""
        if self.stale:  # the edge and point only change with the cell or the plan (in observe())
            self.pursued = self._edge()  # kept for _track_progress
            self.steer = self._steer_point(self.pursued)
            self.stale = False
            heading = self.pursued is None and self.exploring is None
            if heading and self.explorer is not None and 0 <= self.cell != self.goal_cell:
                self.explorer.spend(self.cell)
        steer_x, steer_y = self.steer
        dx, dy = steer_x - self.x, steer_y - self.y
        norm = math.hypot(dx, dy)
        if norm < 1e-9:
            return np.zeros(2)
        return np.array([dx / norm, dy / norm])

    # -- observing ------------------------------------------------------------------------------

    def observe(self, x: float, y: float) -> None:
        """Update the state after an environment step that left the agent at (x, y)."""
        if math.hypot(x - self.x, y - self.y) > self.jump_distance:
            self.teleports += 1
        previous = self.cell
        self.x, self.y = x, y
        self.cell = self.layout.cell(x, y)
        if self.cell != previous:
            self.stale = True
            run, self.exploring = self.exploring, None
            self._changed_cell(previous)
            if run is not None and self._edge() is None and 0 <= self.cell != self.goal_cell:
                self.exploring = run  # an exploratory run goes on while there is no plan to follow
        elif self.cfg.replan or self.explorer is not None:
            self._track_progress()

    def _changed_cell(self, previous: int) -> None:
        cfg, cell = self.cfg, self.cell
        repaired = False
        if cfg.online_repair and previous >= 0 and cell >= 0 and not self.graph.has_edge(previous, cell):
            self.graph.add(previous, cell, self.repair_cost)
            self.added_edges += 1
            repaired = True
        if cell == self.goal_cell:  # steering is toward the goal itself; nothing to plan
            self.position = self.on_plan.get(cell, self.position)
            return
        if self.plan is not None:
            index = self.on_plan.get(cell, -1)
            if index > self.position:  # on the rest of the plan: follow it from there
                if index == self.position + 1:
                    self.records.pop((self.plan[self.position], cell), None)  # edge traversed
                self.position = index
                if repaired:
                    self._replan()
            elif cfg.replan:  # an unplanned cell
                self._replan()
            # the no-replan control keeps pursuing its planned edge
        elif cfg.replan:  # fallback: look for a path again from each new cell
            self._replan()

    def _track_progress(self) -> None:
        """Called after a step within the same cell, so the edge and point of the last action still hold."""
        edge = self.pursued
        if edge is not None:
            if self.cfg.replan and self._stalled(edge):
                self.graph.drop(*edge)
                self.dropped_edges += 1
                self._replan()
        elif self.explorer is not None and 0 <= self.cell != self.goal_cell:
            self._track_exploration()

    def _stalled(self, key: tuple[int, int]) -> bool:
        """Count a step toward the steering point under `key`; True (and the count is cleared) on a stall."""
        steer_x, steer_y = self.steer
        distance = math.hypot(steer_x - self.x, steer_y - self.y)
        record = self.records.get(key)
        if record is None:
            self.records[key] = [distance, 0]
        elif distance < record[0] - self.cfg.progress_tol:
            record[0], record[1] = distance, 0
        else:
            record[1] += 1
            if record[1] >= self.cfg.stall_steps:
                del self.records[key]
                return True
        return False

    def _track_exploration(self) -> None:
        """The 'explore' fallback with nothing to follow: heading for the goal (progress key (cell, -1)) or
        on an exploratory run in direction d (key (cell, -2 - d))."""
        if self.exploring is None:
            if self._stalled((self.cell, -1)):  # leave the wall: a seeded run in an untried direction
                self.explorer.mark_tried(self.cell, self.steer[0] - self.x, self.steer[1] - self.y)
                self.exploring = self.explorer.next_move(self.cell)
                self.explore_moves += 1
                self.stale = True
        elif self._stalled((self.cell, -2 - self.exploring)):  # the run met a wall: head on for the goal
            self.explorer.mark_tried(self.cell, *self.explorer.direction(self.exploring))
            self.exploring = None
            self.stale = True


def run_episode(
    env,
    geometry: MazeGeometry,
    graph: ProposedGraph,
    task_id: int,
    episode_index: int,
    seed: int,
    cfg: ExecuteConfig,
) -> Episode:
    """Run official task `task_id` (1-based) once in `env` (an OGBench maze env made with its step limit).

    Seeds the env (`reset(seed=...)`) and numpy's legacy global RNG, from which OGBench draws its
    start/goal noise and teleport exits, so the same seed gives the same episode in any process."""
    _check_inputs(env, geometry, graph)
    legacy_seed = int(seed) % 2**32
    np.random.seed(legacy_seed)  # noqa: NPY002  (OGBench draws its noise from the legacy RNG)
    env.action_space.seed(legacy_seed)
    observation, info = env.reset(seed=int(seed), options=dict(task_id=int(task_id)))
    navigator = _Navigator(_Layout(geometry), graph, np.asarray(info["goal"])[:2], cfg, int(seed))
    path_length = navigator.start(float(observation[0]), float(observation[1]))

    limit = env.spec.max_episode_steps
    steps, success = 0, False
    while True:
        observation, _, terminated, truncated, info = env.step(navigator.action())
        steps += 1
        success = bool(info["success"])
        if terminated or truncated:
            break
        if steps >= limit:
            raise RuntimeError(f"{env.spec.id} ran past its max_episode_steps={limit} without truncating")
        navigator.observe(float(observation[0]), float(observation[1]))

    return Episode(
        task_id=int(task_id),
        episode=int(episode_index),
        seed=int(seed),
        success=success,
        steps=steps,
        replans=navigator.replans,
        dropped_edges=navigator.dropped_edges,
        added_edges=navigator.added_edges,
        path_length=path_length,
        used_fallback=navigator.used_fallback,
        teleports=navigator.teleports,
        explore_moves=navigator.explore_moves,
    )


def _check_inputs(env, geometry: MazeGeometry, graph: ProposedGraph) -> None:
    if env.spec is None or env.spec.max_episode_steps is None:
        raise ValueError("the executor needs an env made with its step limit (mopjepa.data.maze.make_env)")
    if geometry.env_name and env.spec.id != geometry.env_name:
        raise ValueError(f"geometry of {geometry.env_name!r} given with environment {env.spec.id!r}")
    if graph.num_cells != geometry.num_cells:
        raise ValueError(f"graph has {graph.num_cells} cells, the maze {geometry.num_cells} free cells")
    if env.action_space.shape != (2,):
        raise ValueError(
            f"the executor steers a point agent (2-D xy action); {env.spec.id} has action shape "
            f"{env.action_space.shape} (an ant would need a low-level policy)"
        )
