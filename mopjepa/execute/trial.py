"""All episodes of a trial: 5 official tasks x `episodes_per_task`, through an injected map.

`map_episodes(fn, jobs)` must return `[fn(job) for job in jobs]` in job order; `serial_map` does
exactly that in this process, `pipelines.ray_episodes` does it on a pool of Ray actors. `fn` is
`run_episode_job`, a module-level function, so a job runs the same in any process: each process
keeps one environment per env name (`cached_env`) and every episode reseeds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mopjepa.config import ExecuteConfig
from mopjepa.data.maze import MazeGeometry, make_env
from mopjepa.execute.episode import Episode, run_episode
from mopjepa.graph.types import ProposedGraph
from mopjepa.seeding import stream_seed

MapEpisodes = Callable[[Callable[["EpisodeJob"], Episode], Sequence["EpisodeJob"]], Sequence[Episode]]


@dataclass(frozen=True)
class EpisodeJob:
    """Everything one episode needs, picklable (a few KB: the graph is an edge list)."""

    env_name: str
    geometry: MazeGeometry
    graph: ProposedGraph
    cfg: ExecuteConfig
    task_id: int
    episode: int
    seed: int


_ENVS: dict[str, object] = {}


def cached_env(env_name: str):
    """This process's environment for `env_name`, made on first use (one per process and env name)."""
    env = _ENVS.get(env_name)
    if env is None:
        env = _ENVS[env_name] = make_env(env_name)
    return env


def run_episode_job(job: EpisodeJob) -> Episode:
    env = cached_env(job.env_name)
    return run_episode(env, job.geometry, job.graph, job.task_id, job.episode, job.seed, job.cfg)


def serial_map(fn: Callable[[EpisodeJob], Episode], jobs: Sequence[EpisodeJob]) -> list[Episode]:
    return [fn(job) for job in jobs]


def episode_jobs(
    env_name: str, geometry: MazeGeometry, graph: ProposedGraph, cfg: ExecuteConfig, seed: int
) -> list[EpisodeJob]:
    """Task-major job list; job seed = stream_seed(seed, 'episodes', task_id, index)."""
    return [
        EpisodeJob(env_name, geometry, graph, cfg, task_id, index,
                   stream_seed(seed, "episodes", task_id, index))
        for task_id in range(1, len(geometry.tasks) + 1)
        for index in range(cfg.episodes_per_task)
    ]


def run_episodes(
    env_name: str,
    geometry: MazeGeometry,
    graph: ProposedGraph,
    cfg: ExecuteConfig,
    seed: int,
    map_episodes: MapEpisodes = serial_map,
) -> list[Episode]:
    """Every episode of a trial, in job order (task 1 episodes 0.., task 2 ...)."""
    jobs = episode_jobs(env_name, geometry, graph, cfg, seed)
    episodes = list(map_episodes(run_episode_job, jobs))
    if len(episodes) != len(jobs):
        raise RuntimeError(f"map_episodes returned {len(episodes)} episodes for {len(jobs)} jobs")
    for job, episode in zip(jobs, episodes, strict=True):
        if (episode.task_id, episode.episode, episode.seed) != (job.task_id, job.episode, job.seed):
            raise RuntimeError(
                f"map_episodes returned episode (task {episode.task_id}, #{episode.episode}) where "
                f"(task {job.task_id}, #{job.episode}) was due: results must come back in job order"
            )
    return episodes
