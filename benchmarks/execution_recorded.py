"""Execute the graphs a record's trials proposed: each arm's raw graph as its `edges` table holds it, with
the executor a trial would run, beside the floor (the empty graph), for a maze the record never executed.

    python -m benchmarks.execution_recorded --record reproduction/reproduce
        [--tasks pointmaze-teleport-navigate-v0 ...] [--arms dense mop] [--seeds 0 1 2] [--episodes-per-task 50]
        [--fallbacks straight] [--repair off on] [--processes 1] [--csv execution_recorded.csv]

- graphs: the main configuration's trial of each arm and seed (mopjepa.analysis.selection), its `raw`
  rows of `edges` (source, target, weight, cost), planned in as `plan_graph = raw` plans (the default):
  exactly the graph the trial's executor would have had; nothing is retrained. The maze comes from the
  environment (MazeGeometry.from_env_name), so no data is loaded (no ceiling or truth: those need the data).
  Where the trial executed, its recorded exec_success is printed beside (same executor: they must agree).
- executor: ExecuteConfig at its defaults but `episodes_per_task`, `fallback` and `online_repair` (the
  reproduce preset's execute config is the default with 50 episodes per task); episode seeds as a trial
  of that seed draws them. Seed by seed, then maze, fallback and repair.
- a line per run: the mean over the 5 official tasks, then each task's; the CSV holds one row per
  (maze, seed, fallback, repair, graph, task), task "" = the mean; then per (maze, fallback, repair) and
  arm the cells solved, by the floor, gained and lost (solved = success >= 0.5).
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import time
from pathlib import Path

import numpy as np

from benchmarks.common import print_machine
from mopjepa.analysis.load import load_experiment
from mopjepa.analysis.selection import select
from mopjepa.config import ExecuteConfig
from mopjepa.data.maze import MazeGeometry
from mopjepa.data.names import parse_dataset_name
from mopjepa.execute import empty_graph, run_episodes, serial_map, success_by_task
from mopjepa.execute.recorded import recorded_graph

COLUMNS = ("maze", "seed", "fallback", "online_repair", "graph", "trial_id", "task", "success", "episodes_per_task")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record", type=Path, required=True)
    parser.add_argument("--tasks", nargs="+", default=["pointmaze-teleport-navigate-v0"])
    parser.add_argument("--arms", nargs="+", default=["dense", "mop"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--episodes-per-task", type=int, default=50)
    parser.add_argument("--fallbacks", nargs="+", default=["straight"], choices=ExecuteConfig.FALLBACKS)
    parser.add_argument("--repair", nargs="+", default=["off"], choices=("off", "on"))
    parser.add_argument("--processes", type=int, default=1, help="local processes running episodes")
    parser.add_argument("--csv", default="execution_recorded.csv")
    return parser.parse_args()


def recorded_graphs(record: Path, tasks: list[str], arms: list[str], seeds: list[int]) -> dict:
    """{(task, arm, seed): (trial_id, ProposedGraph, recorded exec_success or NaN)} of the arms' main
    configurations' raw graphs."""
    experiment = load_experiment(record)
    chosen, metrics = select(experiment.trials()), experiment.metrics
    graphs = {}
    for task in tasks:
        num_cells = MazeGeometry.from_env_name(parse_dataset_name(task).env_name).num_cells
        for arm in arms:
            edges = experiment.table("edges", chosen.main[arm].trial_ids)
            edges = edges[(edges["task"] == task) & (edges["graph"] == "raw") & edges["seed"].isin(seeds)]
            for (seed, trial), rows in edges.groupby(["seed", "trial_id"], sort=True):
                recorded = metrics[(metrics["trial_id"] == trial) & (metrics["metric"] == "exec_success")
                                   & (metrics["key"] == "")]["value"]
                graphs[(task, arm, int(seed))] = (trial, recorded_graph(rows, num_cells, "raw"),
                                                  float(recorded.iloc[0]) if len(recorded) else float("nan"))
    return graphs


def main() -> None:
    args = parse_args()
    print_machine({"episodes_per_task": str(args.episodes_per_task)})
    graphs = recorded_graphs(args.record, args.tasks, args.arms, args.seeds)
    pool = multiprocessing.get_context("spawn").Pool(args.processes) if args.processes > 1 else None
    map_episodes = serial_map if pool is None else (lambda fn, jobs: pool.map(fn, jobs, chunksize=1))
    cells: dict[tuple, dict[int, float]] = {}
    try:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            for seed in args.seeds:
                for task in args.tasks:
                    env_name = parse_dataset_name(task).env_name
                    geometry = MazeGeometry.from_env_name(env_name)
                    for fallback in args.fallbacks:
                        for repair in args.repair:
                            cfg = ExecuteConfig(episodes_per_task=args.episodes_per_task, fallback=fallback,
                                                online_repair=repair == "on")
                            runs = [("floor", "", empty_graph(geometry.num_cells), float("nan"))]
                            runs += [(arm, *graphs[(task, arm, seed)]) for arm in args.arms
                                     if (task, arm, seed) in graphs]
                            for name, trial, graph, recorded in runs:
                                start = time.perf_counter()
                                episodes = run_episodes(env_name, geometry, graph, cfg, seed, map_episodes)
                                by_task = success_by_task(episodes)
                                cells[(task, fallback, repair, name, seed)] = by_task
                                mean = float(np.mean(list(by_task.values())))
                                used = np.mean([e.used_fallback for e in episodes])
                                print(f"{task} seed {seed} {fallback:<8} repair {repair:<3} {name:<5} "
                                      f"{trial or '(empty)':<12} {mean:.3f} "
                                      f"[{' '.join(f'{v:.2f}' for v in by_task.values())}] fallback {used:.2f}"
                                      f"{f' (recorded {recorded:.3f})' if recorded == recorded else ''} "
                                      f"({time.perf_counter() - start:.0f} s)", flush=True)
                                for task_id, value in [*by_task.items(), ("", mean)]:
                                    writer.writerow({"maze": task, "seed": seed, "fallback": fallback,
                                                     "online_repair": cfg.online_repair, "graph": name,
                                                     "trial_id": trial, "task": task_id, "success": value,
                                                     "episodes_per_task": cfg.episodes_per_task})
                                handle.flush()
    finally:
        if pool is not None:
            pool.close()
    for task in args.tasks:
        for fallback in args.fallbacks:
            for repair in args.repair:
                for arm in args.arms:
                    mine = {seed: by_task for (t, f, r, name, seed), by_task in cells.items()
                            if (t, f, r, name) == (task, fallback, repair, arm)}
                    pairs = [(by_task[t] >= 0.5, cells[(task, fallback, repair, "floor", seed)][t] >= 0.5)
                             for seed, by_task in mine.items() for t in by_task]
                    means = [float(np.mean(list(by_task.values()))) for by_task in mine.values()]
                    floors = [float(np.mean(list(cells[(task, fallback, repair, "floor", seed)].values())))
                              for seed in mine]
                    print(f"{task} {fallback:<8} repair {repair:<3} {arm:<5}: success {np.mean(means):.3f}, floor "
                          f"{np.mean(floors):.3f} over {len(means)} seeds; {len(pairs)} cells, solved by the arm "
                          f"{sum(a for a, _ in pairs)}, by the floor {sum(f for _, f in pairs)}, gained "
                          f"{sum(a and not f for a, f in pairs)}, lost {sum(f and not a for a, f in pairs)}",
                          flush=True)
    print(f"csv: {args.csv}", flush=True)


if __name__ == "__main__":
    main()
