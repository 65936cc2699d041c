"""Maze geometry read once from the OGBench environment: free cells, coordinates, teleports, tasks.

Everything downstream (cells, graphs, planning) works on this plain record, so it never needs a
MuJoCo environment; only regeneration and execution step one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def make_env(env_name: str, **kwargs):
    """An OGBench maze environment by env name (e.g. 'pointmaze-medium-v0'); registers ogbench's envs."""
    import gymnasium
    import ogbench.locomaze  # noqa: F401  (registers the environments)

    return gymnasium.make(env_name, **kwargs)


@dataclass(frozen=True)
class MazeGeometry:
    env_name: str
    maze_map: np.ndarray
    """[H, W] 1 = wall, 0 = free, as in OGBench."""
    maze_unit: float
    offset: tuple[float, float]
    """(offset_x, offset_y): xy = (j * unit - offset_x, i * unit - offset_y)."""
    goal_tol: float
    teleport_in: tuple[tuple[int, int], ...]
    teleport_out: tuple[tuple[int, int], ...]
    tasks: tuple[tuple[tuple[int, int], tuple[int, int]], ...]
    """The 5 official (init_ij, goal_ij) pairs, task_id 1..5."""

    @classmethod
    def from_env(cls, env) -> MazeGeometry:
        maze = env.unwrapped
        teleport = maze._teleport_info or {}
        return cls(
            env_name=env.spec.id if env.spec is not None else "",
            maze_map=np.asarray(maze.maze_map, dtype=np.int64),
            maze_unit=float(maze._maze_unit),
            offset=(float(maze._offset_x), float(maze._offset_y)),
            goal_tol=float(maze._goal_tol),
            teleport_in=tuple(tuple(ij) for ij in teleport.get("teleport_in_ijs", ())),
            teleport_out=tuple(tuple(ij) for ij in teleport.get("teleport_out_ijs", ())),
            tasks=tuple((tuple(t["init_ij"]), tuple(t["goal_ij"])) for t in maze.task_infos),
        )

    @classmethod
    def from_env_name(cls, env_name: str) -> MazeGeometry:
        env = make_env(env_name)
        try:
            return cls.from_env(env)
        finally:
            env.close()

    # -- cells ----------------------------------------------------------------------------------

    @property
    def free_ij(self) -> np.ndarray:
        """[N, 2] (i, j) of the free cells in row-major order; N indexes cells everywhere."""
        return np.argwhere(self.maze_map == 0)

    @property
    def num_cells(self) -> int:
        return int((self.maze_map == 0).sum())

    @property
    def cell_index(self) -> np.ndarray:
        """[H, W] cell index of each free (i, j), -1 on walls."""
        index = np.full(self.maze_map.shape, -1, dtype=np.int64)
        free = self.free_ij
        index[free[:, 0], free[:, 1]] = np.arange(len(free))
        return index

    def ij_to_xy(self, ij: np.ndarray) -> np.ndarray:
        """[..., 2] (i, j) -> [..., 2] (x, y) cell centres, as OGBench's ij_to_xy."""
        ij = np.asarray(ij, dtype=np.float64)
        x = ij[..., 1] * self.maze_unit - self.offset[0]
        y = ij[..., 0] * self.maze_unit - self.offset[1]
        return np.stack([x, y], axis=-1)

    def xy_to_ij(self, xy: np.ndarray) -> np.ndarray:
        """[..., 2] (x, y) -> [..., 2] int (i, j), vectorized OGBench xy_to_ij (which truncates with int()).

        np.trunc matches int() also for the negative values outside the maze."""
        xy = np.asarray(xy, dtype=np.float64)
        i = np.trunc((xy[..., 1] + self.offset[1] + 0.5 * self.maze_unit) / self.maze_unit)
        j = np.trunc((xy[..., 0] + self.offset[0] + 0.5 * self.maze_unit) / self.maze_unit)
        return np.stack([i, j], axis=-1).astype(np.int64)

    def xy_to_cell(self, xy: np.ndarray) -> np.ndarray:
        """[...] cell index of each (x, y); -1 outside the free cells."""
        ij = self.xy_to_ij(xy)
        height, width = self.maze_map.shape
        inside = (ij[..., 0] >= 0) & (ij[..., 0] < height) & (ij[..., 1] >= 0) & (ij[..., 1] < width)
        cells = np.full(ij.shape[:-1], -1, dtype=np.int64)
        lookup = self.cell_index
        cells[inside] = lookup[ij[..., 0][inside], ij[..., 1][inside]]
        return cells

    def cells_of(self, ijs) -> np.ndarray:
        """Cell indices of a sequence of (i, j)."""
        ijs = np.asarray(ijs, dtype=np.int64).reshape(-1, 2)
        return self.cell_index[ijs[:, 0], ijs[:, 1]]

    def neighbour_edges(self) -> np.ndarray:
        """[E, 2] directed 4-neighbour moves between free cells."""
        index = self.cell_index
        edges = []
        for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            src = index[max(0, -di) : index.shape[0] - max(0, di), max(0, -dj) : index.shape[1] - max(0, dj)]
            dst = index[max(0, di) : index.shape[0] + min(0, di), max(0, dj) : index.shape[1] + min(0, dj)]
            both = (src >= 0) & (dst >= 0)
            edges.append(np.stack([src[both], dst[both]], axis=1))
        return np.concatenate(edges)

    def teleport_edges(self) -> np.ndarray:
        """[E, 2] every (teleport-in cell -> teleport-out cell) edge; empty without teleports."""
        pairs = [(a, b) for a in self.cells_of(self.teleport_in) for b in self.cells_of(self.teleport_out)]
        return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
