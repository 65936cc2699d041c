"""Episodes on Ray actors: the same records as serial execution, in job order; dead actors replaced."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from mopjepa.config import ExecuteConfig  # noqa: E402
from mopjepa.data import MazeGeometry  # noqa: E402
from mopjepa.execute import cached_env, run_episode_job, run_episodes, serial_map  # noqa: E402
from mopjepa.graph.types import ProposedGraph  # noqa: E402
from pipelines.ray_episodes import EpisodeActorPool, ray_map_episodes  # noqa: E402

ENV_NAME = "pointmaze-medium-v0"


@pytest.fixture(scope="module")
def ray_session():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def trial():
    geometry = MazeGeometry.from_env(cached_env(ENV_NAME))
    truth = np.zeros((geometry.num_cells, geometry.num_cells), dtype=bool)
    edges = geometry.neighbour_edges()
    truth[edges[:, 0], edges[:, 1]] = True
    return geometry, ProposedGraph.from_adjacency(truth), ExecuteConfig(episodes_per_task=2)


def test_ray_and_serial_give_identical_records(ray_session, trial):
    geometry, graph, cfg = trial
    serial = run_episodes(ENV_NAME, geometry, graph, cfg, seed=3, map_episodes=serial_map)
    with EpisodeActorPool(num_workers=2) as pool:
        parallel = run_episodes(ENV_NAME, geometry, graph, cfg, seed=3, map_episodes=pool)
        again = run_episodes(ENV_NAME, geometry, graph, cfg, seed=3, map_episodes=pool)  # warm actors
        workers = pool.describe()
    assert parallel == serial and again == serial
    assert len({worker["pid"] for worker in workers}) == 2 and os.getpid() not in {w["pid"] for w in workers}
    for worker in workers:
        assert worker["OMP_NUM_THREADS"] == worker["MKL_NUM_THREADS"] == worker["OPENBLAS_NUM_THREADS"] == "1"
    assert run_episodes(ENV_NAME, geometry, graph, cfg, 3, ray_map_episodes(2)) == serial


def exit_once(marker: Path, task_id: int, episode: int):
    """A test-only episode function whose process dies the first time it meets one job."""

    def run(job):
        if (job.task_id, job.episode) == (task_id, episode) and not marker.exists():
            marker.touch()
            os._exit(1)
        return run_episode_job(job)

    return run


def test_a_dead_actor_is_replaced_and_its_episode_rerun(ray_session, trial, tmp_path):
    geometry, graph, cfg = trial
    serial = run_episodes(ENV_NAME, geometry, graph, cfg, seed=4)
    dying = exit_once(tmp_path / "died", task_id=3, episode=1)
    with EpisodeActorPool(num_workers=2) as pool:
        episodes = run_episodes(ENV_NAME, geometry, graph, cfg, 4,
                                map_episodes=lambda fn, jobs: pool(dying, jobs))
        assert pool.replaced == 1 and (tmp_path / "died").exists()
    assert episodes == serial


def test_an_actor_that_keeps_dying_fails_loudly(ray_session, trial, tmp_path):
    geometry, graph, cfg = trial

    def always_dies(job):
        os._exit(1)

    with EpisodeActorPool(num_workers=1, max_attempts=2) as pool:
        with pytest.raises(RuntimeError, match="lost its actor 2 times"):
            pool(always_dies, [0])
        assert pool.replaced == 1


def test_an_error_inside_an_episode_is_raised_not_retried(ray_session):
    def broken(job):
        raise ValueError(f"bad job {job}")

    with EpisodeActorPool(num_workers=1) as pool:
        with pytest.raises(ValueError, match="bad job 7"):
            pool(broken, [7])
        assert pool.replaced == 0
        assert pool(lambda job: job * 2, [1, 2, 3]) == [2, 4, 6]


@pytest.mark.parametrize("queue_depth, max_chunk", [(1, 1), (2, 8), (3, 2)])
def test_queue_depth_and_chunks_keep_job_order(ray_session, queue_depth, max_chunk):
    with EpisodeActorPool(num_workers=2, queue_depth=queue_depth, max_chunk=max_chunk) as pool:
        chunks = pool._chunks(37)  # 37 // (6 * 2) = 3 jobs per call, at most max_chunk
        assert [first for first, _ in chunks] == list(range(0, 37, min(3, max_chunk)))
        assert pool(lambda job: job * 3, list(range(37))) == [3 * job for job in range(37)]
