"""Execution floor and ceilings: the executor's success on the empty graph, on the real graph less a
trial's hold-out and on the full real graph, per maze, seed, fallback and online repair.

    python -m benchmarks.execution_ceilings --dataset-dir DIR [--mazes pointmaze-medium-stitch-v0 ...]
        [--seeds 0 1 2] [--episodes-per-task 50] [--fallbacks straight explore] [--processes 1]
        [--csv execution_ceilings.csv] [--resume] [--record reproduction/reproduce]

- graphs (docs/protocol.md#the-execution-floor, #the-execution-ceilings): `floor` = no edges,
  `ceiling` = cells.truth & ~cells.heldout (the hold-out a trial of that seed draws: stream `holdout`,
  fraction 0.2), `truth` = cells.truth; the library's own code (mopjepa.execute), episode seeds as a
  trial of that seed draws them, every other ExecuteConfig field at its default.
- each (maze, seed, fallback) runs with online_repair off and on; a line per run: the mean over the
  5 official tasks (OGBench's success) of each graph, then each task's.
- the CSV holds one row per (maze, seed, fallback, online_repair, graph, task), task "" = the mean,
  written as each run ends (a long run in the background leaves what it measured).
- `--processes N` runs episodes on N local processes (results are identical; no Ray).
- `--resume` keeps the CSV's rows and runs only the (maze, seed, fallback, online_repair) it lacks.
- `--record DIR` adds the success per task of the arms `dense`, `mdn` and `mop` (their main configurations:
  mopjepa.analysis.selection) from the record's `episodes` table, graph = the arm, at the fallback and
  repair the trials ran with, and prints per (maze, seed, task) cell each arm's success beside the
  floor, ceiling and truth of that executor, and per arm and maze the cells solved by the arm, by the
  floor, gained (arm solves, floor fails) and lost (floor solves, arm fails); solved = success >= 0.5.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import time
from pathlib import Path

import numpy as np

from benchmarks.common import DEFAULT_DATASET_DIR, print_machine
from mopjepa.config import ExecuteConfig
from mopjepa.data import CellData, build_cell_data, load_task_data
from mopjepa.execute import reference_adjacency, reference_success, serial_map
from mopjepa.seeding import numpy_rng

MAZES = ("pointmaze-medium-stitch-v0", "pointmaze-large-stitch-v0")
GRAPHS = ("floor", "ceiling", "truth")
ARMS = ("dense", "mdn", "mop")
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
    parser.add_argument("--resume", action="store_true", help="keep the CSV's runs, run only the missing ones")
    parser.add_argument("--record", type=Path, help="an experiment directory whose arms' episodes to read")
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


def record_rows(record: Path, mazes: list[str], seeds: list[int]) -> list[dict]:
    """CSV rows (graph = arm) of the success per task of each arm's main configuration in `record`."""
    from mopjepa.analysis.load import load_experiment
    from mopjepa.analysis.selection import select
    from mopjepa.config import TrialConfig
    from mopjepa.config.identity import current_flat

    experiment = load_experiment(record)
    chosen, rows = select(experiment.trials()), []
    for arm in ARMS:
        episodes = experiment.table("episodes", chosen.main[arm].trial_ids)
        episodes = episodes[episodes["task"].isin(mazes) & episodes["seed"].isin(seeds)]
        for (maze, seed, config), of_trial in episodes.groupby(["task", "seed", "config_json"], sort=True):
            cfg = TrialConfig.from_flat(current_flat(json.loads(config))).execute
            by_task = of_trial.groupby("task_id")["success"].mean().to_dict()
            rows += csv_rows(maze, int(seed), cfg, {arm: by_task})
    return rows


def cell_table(rows: list[dict]) -> None:
    """Per (maze, seed, task) cell: the references and the arms at the arms' executor; the cells won and lost."""
    arms = {(row["fallback"], row["online_repair"]) for row in rows if row["graph"] in ARMS}
    for fallback, repair in sorted(arms):
        same = [row for row in rows if (row["fallback"], row["online_repair"]) == (fallback, repair)]
        cells: dict[tuple, dict[str, float]] = {}
        for row in same:
            cell = (row["maze"], row["seed"], str(row["task"]))
            cells.setdefault(cell, {})[row["graph"]] = float(row["success"])
        columns = [*GRAPHS, *ARMS]
        print(f"per cell, fallback {fallback}, online_repair {repair} (solved = success >= 0.5):", flush=True)
        print("  maze seed task  " + "  ".join(f"{c:>7}" for c in columns), flush=True)
        for (maze, seed, task), values in sorted(cells.items()):
            shown = "  ".join(f"{values[c]:7.2f}" if c in values else f"{'—':>7}" for c in columns)
            print(f"  {maze} {seed} {task or 'mean':>4}  {shown}", flush=True)
        for maze in sorted({key[0] for key in cells}):
            mine = [v for (m, _, task), v in cells.items() if m == maze and task and "floor" in v]
            for arm in ARMS:
                pairs = [(v[arm] >= 0.5, v["floor"] >= 0.5) for v in mine if arm in v]
                print(f"  {maze} {arm:<5}: {len(pairs)} cells, solved by the arm {sum(a for a, _ in pairs)}, by the "
                      f"floor {sum(f for _, f in pairs)}, gained {sum(a and not f for a, f in pairs)}, lost "
                      f"{sum(f and not a for a, f in pairs)}", flush=True)


def main() -> None:
    args = parse_args()
    print_machine({"episodes_per_task": str(args.episodes_per_task)})
    pool = multiprocessing.get_context("spawn").Pool(args.processes) if args.processes > 1 else None
    map_episodes = serial_map if pool is None else (lambda fn, jobs: pool.map(fn, jobs, chunksize=1))
    all_rows: list[dict] = []
    if args.resume and Path(args.csv).exists():
        with open(args.csv, newline="") as handle:
            all_rows = [{**row, "seed": int(row["seed"]), "online_repair": row["online_repair"] == "True",
                         "task": int(row["task"]) if row["task"] else "", "success": float(row["success"])}
                        for row in csv.DictReader(handle) if row["graph"] in GRAPHS]
    done = {(row["maze"], row["seed"], row["fallback"], row["online_repair"]) for row in all_rows}
    try:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(all_rows)
            data = {maze: load_task_data(maze, args.dataset_dir, download=False) for maze in args.mazes}
            for seed in args.seeds:  # seed by seed: a run cut short has every maze of its first seeds
                for maze, task in data.items():
                    cells = build_cell_data(task, args.holdout_fraction, 0.05, numpy_rng(seed, "holdout"))
                    for fallback in args.fallbacks:
                        for repair in (False, True):
                            if (maze, seed, fallback, repair) in done:
                                continue
                            cfg = ExecuteConfig(episodes_per_task=args.episodes_per_task, fallback=fallback,
                                                online_repair=repair)
                            start = time.perf_counter()
                            successes = run_graphs(task.name.env_name, cells, cfg, seed, map_episodes)
                            print(line(maze, seed, cfg, successes, time.perf_counter() - start), flush=True)
                            rows = csv_rows(maze, seed, cfg, successes)
                            writer.writerows(rows)
                            handle.flush()
                            all_rows += rows
            if args.record is not None:
                arm_rows = record_rows(args.record, args.mazes, args.seeds)
                writer.writerows(arm_rows)
                all_rows += arm_rows
    finally:
        if pool is not None:
            pool.close()
    summary([row for row in all_rows if row["graph"] in GRAPHS])
    if args.record is not None:
        cell_table(all_rows)
    print(f"csv: {args.csv}", flush=True)


if __name__ == "__main__":
    main()
