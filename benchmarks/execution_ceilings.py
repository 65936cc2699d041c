"""Execution floor and ceilings: the executor's success on the empty graph, on the real graph less a
trial's hold-out and on the full real graph, per maze, seed, fallback and online repair.

    python benchmarks/execution_ceilings.py --dataset-dir DIR [--mazes pointmaze-medium-stitch-v0 ...]
        [--seeds 0 1 2] [--episodes-per-task 50] [--fallbacks straight explore] [--processes 1]
        [--csv execution_ceilings.csv]

- graphs (docs/protocol.md#the-execution-floor, #the-execution-ceilings): `floor` = no edges,
  `ceiling` = cells.truth & ~cells.heldout (the hold-out a trial of that seed draws: stream `holdout`,
  fraction 0.2), `truth` = cells.truth; the library's own code (mopjepa.execute), episode seeds as a
  trial of that seed draws them, every other ExecuteConfig field at its default.
- each (maze, seed, fallback) runs with online_repair off and on; a line per run: the mean over the
  5 official tasks (OGBench's success) of each graph, then each task's.
- the CSV holds one row per (maze, seed, fallback, online_repair, graph, task), task "" = the mean,
  written as each run ends (a long run in the background leaves what it measured).
- `--processes N` runs episodes on N local processes (results are identical; no Ray).
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import DEFAULT_DATASET_DIR, print_machine  # noqa: E402
from mopjepa.config import ExecuteConfig  # noqa: E402
from mopjepa.data import CellData, build_cell_data, load_task_data  # noqa: E402
from mopjepa.execute import reference_adjacency, reference_success, serial_map  # noqa: E402
from mopjepa.seeding import numpy_rng  # noqa: E402

MAZES = ("pointmaze-medium-stitch-v0", "pointmaze-large-stitch-v0")
GRAPHS = ("floor", "ceiling", "truth")
COLUMNS = ("maze", "seed", "fallback", "online_repair", "graph", "task", "success", "episodes_per_task")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset-dir", default=DEFAULT_DATASET_DIR)
    parser.add_argument("--mazes", nargs="+", default=list(MAZES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--episodes-per-task", type=int, default=50)
    parser.add_argument("--fallbacks", nargs="+", default=list(ExecuteConfig.FALLBACKS),
                        choices=ExecuteConfig.FALLBACKS)
    parser.add_argument("--holdout-fraction", type=float, default=0.2)
    parser.add_argument("--processes", type=int, default=1, help="local processes running episodes")
    parser.add_argument("--csv", default="execution_ceilings.csv")
    return parser.parse_args()


def graphs_of(cells: CellData) -> dict[str, np.ndarray]:
    """[N, N] bool adjacency of each graph: the floor's empty one and the two references."""
    return {"floor": np.zeros_like(cells.truth), **reference_adjacency(cells.truth, cells.heldout)}


def run_graphs(env_name: str, cells: CellData, cfg: ExecuteConfig, seed: int, map_episodes) -> dict[str, dict]:
    """{graph: {task: success}} with the trial seed's episode seeds."""
    return {name: reference_success(env_name, cells.geometry, adjacency, cfg, seed, map_episodes)
            for name, adjacency in graphs_of(cells).items()}


def csv_rows(maze: str, seed: int, cfg: ExecuteConfig, successes: dict[str, dict]) -> list[dict]:
    rows = []
    for graph, by_task in successes.items():
        for task, value in [*by_task.items(), ("", float(np.mean(list(by_task.values()))))]:
            rows.append({"maze": maze, "seed": seed, "fallback": cfg.fallback, "online_repair": cfg.online_repair,
                         "graph": graph, "task": task, "success": value,
                         "episodes_per_task": cfg.episodes_per_task})
    return rows


def line(maze: str, seed: int, cfg: ExecuteConfig, successes: dict[str, dict], seconds: float) -> str:
    def rates(graph: str) -> str:
        by_task = successes[graph]
        tasks = " ".join(f"{value:.2f}" for value in by_task.values())
        return f"{graph} {np.mean(list(by_task.values())):.3f} [{tasks}]"

    repair = "repair" if cfg.online_repair else "no-repair"
    graphs = "  ".join(map(rates, GRAPHS))
    return f"{maze} seed {seed} {cfg.fallback:<8} {repair:<9}  {graphs}  ({seconds:.0f} s)"


def summary(rows: list[dict]) -> None:
    """Mean over seeds of each (maze, fallback, repair, graph)'s task-mean success."""
    print("mean over seeds:", flush=True)
    groups: dict[tuple, dict[str, list[float]]] = {}
    for row in rows:
        if row["task"] == "":
            key = (row["maze"], row["fallback"], row["online_repair"])
            groups.setdefault(key, {}).setdefault(row["graph"], []).append(row["success"])
    for (maze, fallback, repair), by_graph in groups.items():
        values = "  ".join(f"{graph} {np.mean(by_graph[graph]):.3f}" for graph in GRAPHS)
        print(f"  {maze} {fallback:<8} {'repair' if repair else 'no-repair':<9}  {values}", flush=True)


def main() -> None:
    args = parse_args()
    print_machine({"episodes_per_task": str(args.episodes_per_task)})
    pool = multiprocessing.get_context("spawn").Pool(args.processes) if args.processes > 1 else None
    map_episodes = serial_map if pool is None else (lambda fn, jobs: pool.map(fn, jobs, chunksize=1))
    all_rows: list[dict] = []
    try:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            for maze in args.mazes:
                task = load_task_data(maze, args.dataset_dir, download=False)
                for seed in args.seeds:
                    cells = build_cell_data(task, args.holdout_fraction, 0.05, numpy_rng(seed, "holdout"))
                    for fallback in args.fallbacks:
                        for repair in (False, True):
                            cfg = ExecuteConfig(episodes_per_task=args.episodes_per_task, fallback=fallback,
                                                online_repair=repair)
                            start = time.perf_counter()
                            successes = run_graphs(task.name.env_name, cells, cfg, seed, map_episodes)
                            print(line(maze, seed, cfg, successes, time.perf_counter() - start), flush=True)
                            rows = csv_rows(maze, seed, cfg, successes)
                            writer.writerows(rows)
                            handle.flush()
                            all_rows += rows
    finally:
        if pool is not None:
            pool.close()
    summary(all_rows)
    print(f"csv: {args.csv}", flush=True)


if __name__ == "__main__":
    main()
