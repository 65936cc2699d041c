"""Executor throughput: environment steps/s of the replanning executor, per Ray actor, over the bare
wrapped environment's steps/s, in one run.

    python -m benchmarks.executor_throughput [--dataset-dir DIR] [--task pointmaze-large-stitch-v0]
        [--actors 2] [--rounds 5]

- executor: `mopjepa.execute` episodes on the task's truth graph
  (`ProposedGraph.from_adjacency(build_cell_data(...).truth)`), official tasks 1-5, the trial's
  jobs (`episode_jobs`), run (a) in this process (`serial_map`) and (b) on an `EpisodeActorPool` of
  `--actors` actors (what a trial with --execute-workers uses); per actor = steps / wall / actors.
- bare: the same wrapped env (`cached_env`: gymnasium.make with its TimeLimit) stepping uniform
  random actions, resetting on truncation, (a) in this process and (b) inside each actor of the pool.
- Interleaved rounds: serial executor, bare env here, actor pool executor, bare env in the actors;
  medians of each.
- The per-actor figure divides by the bare env measured *in the actors*: Ray starts workers at
  nice 15 (RAY_worker_niceness), so on a machine shared with other work an actor gets less CPU than
  this process, whatever it runs; on an idle machine both bare figures agree (both are printed).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.common import DEFAULT_DATASET_DIR, figure, interleaved, median, print_machine, spread
from mopjepa.config import ExecuteConfig
from mopjepa.data import build_cell_data, load_task_data
from mopjepa.execute import cached_env, episode_jobs, run_episode_job, serial_map
from mopjepa.graph.types import ProposedGraph

TARGET = 0.8


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset-dir", default=DEFAULT_DATASET_DIR)
    parser.add_argument("--task", default="pointmaze-large-stitch-v0")
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--episodes-per-task", type=int, default=2, help="in-process side, per round")
    parser.add_argument("--actor-episodes-per-task", type=int, default=8, help="actor side, per round")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--bare-steps", type=int, default=3000)
    parser.add_argument("--compare-before", action="store_true",
                        help="also time a pool as before: one episode per call, one call in flight per actor")
    return parser.parse_args()


def bare_steps_per_s(env_name: str, steps: int, seed: int) -> float:
    env = cached_env(env_name)
    actions = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(steps, 2))
    env.reset(seed=seed, options=dict(task_id=1))
    start = time.perf_counter()
    for index in range(steps):
        _, _, terminated, truncated, _ = env.step(actions[index])
        if terminated or truncated:
            env.reset(seed=seed + index, options=dict(task_id=1))
    return steps / (time.perf_counter() - start)


def bare_job(job: tuple[str, int, int]) -> float:
    """bare_steps_per_s for an actor: job = (env_name, steps, seed)."""
    return bare_steps_per_s(*job)


def executor_steps_per_s(map_episodes, jobs, workers: int) -> float:
    start = time.perf_counter()
    episodes = map_episodes(run_episode_job, jobs)
    seconds = time.perf_counter() - start
    return sum(episode.steps for episode in episodes) / seconds / workers


def main() -> None:
    args = parse_args()
    import ray

    from pipelines.ray_episodes import EpisodeActorPool

    print_machine()
    task = load_task_data(args.task, args.dataset_dir, download=False)
    cells = build_cell_data(task, 0.2, 0.05, np.random.default_rng(0))
    env_name = task.name.env_name
    graph = ProposedGraph.from_adjacency(cells.truth)
    jobs = episode_jobs(env_name, cells.geometry, graph, ExecuteConfig(episodes_per_task=args.episodes_per_task), 0)
    actor_jobs = episode_jobs(env_name, cells.geometry, graph,
                              ExecuteConfig(episodes_per_task=args.actor_episodes_per_task), 1)
    serial_map(run_episode_job, jobs[:1])  # warm-up: env made, code paths loaded
    bare_steps_per_s(env_name, 500, 0)

    repo = str(Path(__file__).resolve().parents[1])
    pools = 2 if args.compare_before else 1  # pools run one at a time; Ray just needs the logical CPUs
    ray.init(address="local", num_cpus=args.actors * pools, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": repo}})
    try:
        pool = EpisodeActorPool(args.actors)
        pool(run_episode_job, jobs[: args.actors])  # warm-up: actors started, env made in each
        rounds = iter(range(10**6))
        bare_jobs = [(env_name, args.bare_steps, 1000 + k) for k in range(args.actors)]
        pool(bare_job, bare_jobs)
        sides = {
            "serial": lambda: executor_steps_per_s(serial_map, jobs, 1),
            "bare": lambda: bare_steps_per_s(env_name, args.bare_steps, next(rounds)),
            "actors": lambda: executor_steps_per_s(pool, actor_jobs, args.actors),
            "actors_bare": lambda: float(np.mean(pool(bare_job, bare_jobs))),
        }
        if args.compare_before:
            shallow = EpisodeActorPool(args.actors, queue_depth=1, max_chunk=1)
            shallow(run_episode_job, jobs[: args.actors])
            sides["actors_before"] = lambda: executor_steps_per_s(shallow, actor_jobs, args.actors)
        samples = interleaved(sides, args.rounds)
        pool.close()
        if args.compare_before:
            shallow.close()
    finally:
        ray.shutdown()

    bare, actors_bare = median(samples["bare"]), median(samples["actors_bare"])
    serial, per_actor = median(samples["serial"]) / bare, median(samples["actors"]) / actors_bare
    steps = sum(episode.steps for episode in serial_map(run_episode_job, jobs))
    print(f"{args.task} ({cells.num_cells} cells), per round {len(jobs)} episodes ({steps} steps) here, "
          f"{len(actor_jobs)} on the actors; steps/s: "
          f"bare env here {spread(samples['bare'])}, executor here {spread(samples['serial'])}; "
          f"bare env per actor {spread(samples['actors_bare'])}, executor per actor ({args.actors} actors) "
          f"{spread(samples['actors'])} (= {median(samples['actors']) / bare:.3f} of the bare env here)", flush=True)
    if args.compare_before:
        print(f"before (1 episode per call, 1 call in flight): executor per actor {spread(samples['actors_before'])} "
              f"(= {median(samples['actors_before']) / actors_bare:.3f} of the bare env in an actor)", flush=True)
    figure("executor steps/s in-process / bare env", serial, f">= {TARGET}", serial >= TARGET)
    figure(f"executor steps/s per actor ({args.actors} actors) / bare env in an actor", per_actor,
           f">= {TARGET}", per_actor >= TARGET)


if __name__ == "__main__":
    main()
