"""Offline regeneration of pointmaze datasets with OGBench's own recipe.

This is the procedure of OGBench's `data_gen_scripts/generate_locomaze.py` for the point agent: the
action is the oracle subgoal direction (a BFS over maze cells) plus Gaussian noise, clipped to
[-1, 1]; `navigate` episodes draw a new random vertex-cell goal on success, `stitch` episodes go to
a goal 4 cells away by BFS. Sizes come from `DatasetName.recipe()` (OGBench's commands.sh).

Differences that change no number the recipe defines:
- every episode is seeded from (seed, episode index), so episodes can run on any worker in any
  order and the file is bit-for-bit repeatable; OGBench's env draws its noise and teleports from
  numpy's legacy global RNG, so each episode seeds that RNG in its own worker process;
- the BFS oracle is cached per goal cell (a test checks it against the env's get_oracle_subgoal);
- the environment is stepped unwrapped with the episode length counted here, which is what
  gymnasium's TimeLimit(max_episode_steps) does around it.

An interrupted regeneration (Ctrl-C, or any error) stops its worker processes before the interrupt goes on:
the workers ignore SIGINT themselves, and the parent cancels the chunks not started and ends the running ones.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from multiprocessing import get_context

import numpy as np

from mopjepa.data.maze import MazeGeometry, make_env
from mopjepa.data.names import DatasetName

_STEP_OFFSETS = ((-1, 0), (0, -1), (1, 0), (0, 1))  # OGBench's BFS neighbour order


def episode_seed(seed: int, episode: int) -> int:
    """The 32-bit seed of one episode (numpy's legacy RNG takes 32 bits)."""
    return int(np.random.SeedSequence([seed, episode]).generate_state(1, dtype=np.uint32)[0])


def bfs(maze_map: np.ndarray, source_ij: tuple[int, int]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """BFS over free cells in OGBench's neighbour order: ([H, W] steps, -1 unreachable; discovery order)."""
    distances = np.full(maze_map.shape, -1, dtype=np.int64)
    distances[source_ij] = 0
    queue = [tuple(source_ij)]
    head = 0
    while head < len(queue):
        i, j = queue[head]
        head += 1
        for di, dj in _STEP_OFFSETS:
            ni, nj = i + di, j + dj
            if (
                0 <= ni < maze_map.shape[0]
                and 0 <= nj < maze_map.shape[1]
                and maze_map[ni, nj] == 0
                and distances[ni, nj] == -1
            ):
                distances[ni, nj] = distances[i, j] + 1
                queue.append((ni, nj))
    return distances, queue


class OracleSubgoals:
    """OGBench's `get_oracle_subgoal`, with the BFS from each goal cell computed once."""

    def __init__(self, geometry: MazeGeometry):
        self.geometry = geometry
        self._tables: dict[tuple[int, int], np.ndarray] = {}

    def _table(self, goal_ij: tuple[int, int]) -> np.ndarray:
        """[H, W, 2] subgoal (i, j) for a start in each cell."""
        maze_map = self.geometry.maze_map
        distances, _ = bfs(maze_map, goal_ij)
        height, width = maze_map.shape
        table = np.zeros((height, width, 2), dtype=np.int64)
        for i in range(height):
            for j in range(width):
                best = (i, j)
                for di, dj in _STEP_OFFSETS:
                    ni, nj = i + di, j + dj
                    if (
                        0 <= ni < height
                        and 0 <= nj < width
                        and maze_map[ni, nj] == 0
                        and distances[ni, nj] < distances[best]
                    ):
                        best = (ni, nj)
                table[i, j] = best
        return table

    def _ij(self, xy) -> tuple[int, int]:
        unit, (offset_x, offset_y) = self.geometry.maze_unit, self.geometry.offset
        return int((xy[1] + offset_y + 0.5 * unit) / unit), int((xy[0] + offset_x + 0.5 * unit) / unit)

    def __call__(self, start_xy, goal_xy) -> np.ndarray:
        goal_ij = self._ij(goal_xy)
        table = self._tables.get(goal_ij)
        if table is None:
            table = self._tables[goal_ij] = self._table(goal_ij)
        subgoal_ij = table[self._ij(start_xy)]
        return np.asarray(self.geometry.ij_to_xy(subgoal_ij))


def vertex_and_all_cells(maze_map: np.ndarray) -> tuple[list, list]:
    """OGBench's start cells (all free cells) and goal cells (free cells that are not hallways)."""
    all_cells, vertex_cells = [], []
    for i in range(maze_map.shape[0]):
        for j in range(maze_map.shape[1]):
            if maze_map[i, j] != 0:
                continue
            all_cells.append((i, j))
            vertical_hall = (
                maze_map[i - 1, j] == 0
                and maze_map[i + 1, j] == 0
                and maze_map[i, j - 1] == 1
                and maze_map[i, j + 1] == 1
            )
            horizontal_hall = (
                maze_map[i, j - 1] == 0
                and maze_map[i, j + 1] == 0
                and maze_map[i - 1, j] == 1
                and maze_map[i + 1, j] == 1
            )
            if not (vertical_hall or horizontal_hall):
                vertex_cells.append((i, j))
    return all_cells, vertex_cells


class _EpisodeWriter:
    """Generates episodes of one dataset inside one process (one environment, reused)."""

    def __init__(self, name: DatasetName):
        self.name = name
        wrapped = make_env(name.env_name, terminate_at_goal=False)
        self.env = wrapped.unwrapped
        self.geometry = MazeGeometry.from_env(wrapped)
        self.oracle = OracleSubgoals(self.geometry)
        self.all_cells, self.vertex_cells = vertex_and_all_cells(self.geometry.maze_map)
        _, self.max_steps, self.noise = name.recipe()

    def _goal_for(self, init_ij) -> tuple[int, int]:
        if self.name.dataset_type == "navigate":
            return self.vertex_cells[np.random.randint(len(self.vertex_cells))]
        distances, order = bfs(self.geometry.maze_map, init_ij)
        adjacent = [ij for ij in order if distances[ij] == 4]  # OGBench keeps BFS discovery order
        return adjacent[np.random.randint(len(adjacent))] if adjacent else init_ij

    def episode(self, seed: int) -> dict[str, np.ndarray]:
        np.random.seed(seed)
        self.env.action_space.seed(seed)
        init_ij = self.all_cells[np.random.randint(len(self.all_cells))]
        goal_ij = self._goal_for(init_ij)
        ob, _ = self.env.reset(seed=seed, options=dict(task_info=dict(init_ij=init_ij, goal_ij=goal_ij)))
        columns = {key: [] for key in ("observations", "actions", "terminals", "qpos", "qvel")}
        for step in range(self.max_steps):
            xy = self.env.get_xy()
            subgoal_dir = self.oracle(xy, self.env.cur_goal_xy) - xy
            subgoal_dir = subgoal_dir / (np.linalg.norm(subgoal_dir) + 1e-6)
            action = np.clip(subgoal_dir + np.random.normal(0, self.noise, subgoal_dir.shape), -1, 1)
            next_ob, _, _, _, info = self.env.step(action)
            done = step + 1 == self.max_steps
            if info["success"] and self.name.dataset_type == "navigate":
                self.env.set_goal(self.vertex_cells[np.random.randint(len(self.vertex_cells))])
            columns["observations"].append(ob)
            columns["actions"].append(action)
            columns["terminals"].append(done)
            columns["qpos"].append(info["prev_qpos"])
            columns["qvel"].append(info["prev_qvel"])
            ob = next_ob
        return columns


_WRITERS: dict[str, _EpisodeWriter] = {}


def _generate_chunk(job: tuple[str, int, list[int]]) -> dict[str, np.ndarray]:
    name, seed, episodes = job
    writer = _WRITERS.get(name)
    if writer is None:
        from mopjepa.data.names import parse_dataset_name

        writer = _WRITERS[name] = _EpisodeWriter(parse_dataset_name(name))
    merged: dict[str, list] = {}
    for episode in episodes:
        for key, values in writer.episode(episode_seed(seed, episode)).items():
            merged.setdefault(key, []).extend(values)
    return {
        "observations": np.asarray(merged["observations"], dtype=np.float32),
        "actions": np.asarray(merged["actions"], dtype=np.float32),
        "terminals": np.asarray(merged["terminals"], dtype=bool),
        "qpos": np.asarray(merged["qpos"], dtype=np.float32),
        "qvel": np.asarray(merged["qvel"], dtype=np.float32),
    }


def regenerate(
    name: DatasetName,
    seed: int,
    workers: int = 0,
    num_episodes: int | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_episodes: int = 50,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Generate (train, val) arrays in OGBench's layout; val has num_episodes // 10 episodes.

    `workers` = 0 uses every core; `progress(n)` is called with the episodes finished by each chunk.
    `num_episodes` overrides the recipe's count (tests use small datasets)."""
    if not name.can_regenerate:
        raise ValueError(f"{name.name} cannot be regenerated offline")
    train_episodes = name.recipe()[0] if num_episodes is None else num_episodes
    total = train_episodes + train_episodes // 10
    chunks = [
        list(range(start, min(start + chunk_episodes, total))) for start in range(0, total, chunk_episodes)
    ]
    jobs = [(name.name, seed, chunk) for chunk in chunks]
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if workers == 1:
        results = []
        for job in jobs:
            results.append(_generate_chunk(job))
            if progress:
                progress(len(job[2]))
    else:
        results = _generate_in_pool(jobs, workers, progress)
    arrays = {key: np.concatenate([r[key] for r in results]) for key in results[0]}
    train_steps = train_episodes * name.recipe()[1]
    train = {key: value[:train_steps] for key, value in arrays.items()}
    val = {key: value[train_steps:] for key, value in arrays.items()}
    return train, val


def _generate_in_pool(jobs: list, workers: int, progress: Callable[[int], None] | None) -> list[dict]:
    """The chunks' arrays in job order, from `workers` spawned processes; stopped at once if interrupted.

    multiprocessing's Pool, not concurrent.futures: its terminate() ends the workers and its own threads
    at once, where an executor's management thread could keep the interpreter from exiting after an
    interrupt (its exit hook joins that thread)."""
    with _sigint_ignored():  # the workers start with Ctrl-C ignored (a disposition that survives exec)
        pool = get_context("spawn").Pool(workers, initializer=_leave_sigint)
    try:
        results = []
        for job, result in zip(jobs, pool.imap(_generate_chunk, jobs), strict=True):
            results.append(result)
            if progress:
                progress(len(job[2]))
    except BaseException:
        with _sigint_ignored():  # a second Ctrl-C while the workers are ended would orphan them
            pool.terminate()
            pool.join()
        raise
    pool.close()
    pool.join()
    return results


def _leave_sigint() -> None:
    """A worker leaves Ctrl-C (sent to the whole process group) to its parent, which stops the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Hold off SIGINT while the workers are stopped (a second Ctrl-C there would orphan them); the process is
    unwinding from the first interrupt anyway."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
