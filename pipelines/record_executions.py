"""A record's executing trials executed again under another execution choice (docs/protocol.md#10-readings).

    python pipelines/record_executions.py EXPERIMENT_DIR
                                          [--reading plan_graph=gated|fallback=explore|online_repair=on]
                                          [--study S] [--processes N]

A reading changes ExecuteConfig fields (mopjepa.analysis.executions.EXECUTION_READINGS): `plan_graph=gated`
plans in the trial's gated graph instead of its raw one, `fallback=explore` explores where the graph has
no path instead of steering straight at the goal, `online_repair=on` adds the transitions the agent experiences
to its working graph (the paper's executor does). Each complete trial that executed otherwise has the
graph it now plans in rebuilt from its `edges` table (mopjepa.execute.recorded) and executed with its own
executor config (the reading's fields aside) and episode seeds. It is read as the trial reads its own
episodes (mopjepa.experiment.execution_rows): against its floor under the same config (the experiment's
floor cache, computed once per maze and seed) and, where the reading leaves them as they were, its
ceiling and truth (its own rows, or the record's references.json). Each trial's rows go to
EXPERIMENT_DIR/executions.json as soon as they are computed; a rerun skips the (trial, reading) entries it
holds. Needs no dataset and no model: only the record and the environment. `--study` limits it to the
trials of one study (e.g. action_context). Cost: 15-25 s per trial of 250 episodes on one core (measured
on the reproduce record: 63 trials in 22 minutes, sharing the machine with two training trials).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import time
from pathlib import Path

import pandas as pd

from mopjepa.analysis.executions import (
    CEILING_FIELDS,
    EXECUTION_READINGS,
    EXECUTIONS_FILE,
    GATED,
    execution_key,
    ran_otherwise,
)
from mopjepa.analysis.load import ExperimentResults, load_experiment
from mopjepa.analysis.references import REFERENCES_FILE, per_task, with_references
from mopjepa.config import TrialConfig
from mopjepa.config.identity import current_flat
from mopjepa.data.maze import MazeGeometry
from mopjepa.data.names import parse_dataset_name
from mopjepa.execute import floor_key, floor_success, run_episodes, serial_map
from mopjepa.execute.recorded import recorded_graph
from mopjepa.experiment import execution_rows
from mopjepa.results.studies import parse_studies
from pipelines.floors import FloorFileCache

ABOUT = ("Execution of the record's trials under another execution choice (a reading); written by "
         "pipelines/record_executions.py (see its docstring and docs/protocol.md#10-readings). One entry per "
         "(trial, reading): the execute config it ran with and the rows the trial would write for it.")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment_dir", type=Path)
    parser.add_argument("--reading", default=GATED, choices=sorted(EXECUTION_READINGS))
    parser.add_argument("--study", default=None, help="only the trials of this study (default: every executing trial)")
    parser.add_argument("--processes", type=int, default=1, help="local processes running episodes (no Ray)")
    return parser.parse_args(argv)


def trials_to_execute(experiment: ExperimentResults, reading: str, study: str | None) -> pd.DataFrame:
    """One row per complete executing trial that ran otherwise than `reading` (flat config, lineage, config_json)."""
    trials = experiment.trials()
    chosen = (trials["episodes_per_task"].fillna(0) > 0) & ran_otherwise(trials, reading)
    if study is not None:
        chosen &= trials["studies"].map(lambda text: study in parse_studies(text))
    return trials[chosen].sort_values("trial_id")


class ExecutionFile:
    """executions.json: one entry per (trial, reading), rewritten whole after each new one."""

    def __init__(self, path: Path):
        self.path = path
        self.entries = json.loads(path.read_text())["executions"] if path.exists() else []

    def holds(self, trial: str, reading: str) -> bool:
        return any(execution_key(entry) == (trial, reading) for entry in self.entries)

    def add(self, entry: dict) -> None:
        self.entries = sorted([*self.entries, entry], key=execution_key)
        temporary = self.path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps({"about": ABOUT, "executions": self.entries}, indent=1) + "\n")
        os.replace(temporary, self.path)


def execute_again(experiment: ExperimentResults, metrics: pd.DataFrame, trial: pd.Series, reading: str,
                  floors: FloorFileCache, map_episodes) -> dict:
    """The entry of one trial: its recorded graph executed as the trial executed it, with the reading's change."""
    cfg = TrialConfig.from_flat(current_flat(json.loads(trial["config_json"])))
    changes = EXECUTION_READINGS[reading]
    execute = dataclasses.replace(cfg.execute, **changes)
    env_name = parse_dataset_name(cfg.data.task).env_name
    geometry = MazeGeometry.from_env_name(env_name)
    graph = recorded_graph(experiment.table("edges", [trial["trial_id"]]), geometry.num_cells, execute.plan_graph)
    episodes = run_episodes(env_name, geometry, graph, execute, cfg.seed, map_episodes)
    floor = floors(floor_key(env_name, execute, cfg.seed),
                   lambda: floor_success(env_name, geometry, execute, cfg.seed, map_episodes))
    own = metrics[metrics["trial_id"] == trial["trial_id"]]
    ceilings = {name: per_task(own, f"exec_{name}") for name in ("ceiling", "truth")}
    keeps_ceilings = set(changes) <= set(CEILING_FIELDS) and all(ceilings.values())
    rows = execution_rows(episodes, floor, ceilings if keeps_ceilings else None)
    return {"trial_id": trial["trial_id"], "reading": reading, "task": cfg.data.task, "arm": cfg.arm,
            "seed": cfg.seed, "execute": dataclasses.asdict(execute), "edges": graph.num_edges, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    experiment = load_experiment(args.experiment_dir)
    metrics = with_references(experiment.metrics, experiment.root / REFERENCES_FILE)
    store = ExecutionFile(experiment.root / EXECUTIONS_FILE)
    pending = trials_to_execute(experiment, args.reading, args.study)
    todo = [row for _, row in pending.iterrows() if not store.holds(row["trial_id"], args.reading)]
    print(f"{experiment.name}: {len(pending)} executing trial(s) that ran otherwise than {args.reading}; "
          f"{len(pending) - len(todo)} already in {EXECUTIONS_FILE}, {len(todo)} to run", flush=True)
    floors = FloorFileCache(experiment.root / "floors")
    pool = multiprocessing.get_context("spawn").Pool(args.processes) if args.processes > 1 else None
    map_episodes = serial_map if pool is None else (lambda fn, jobs: pool.map(fn, jobs, chunksize=1))
    try:
        for index, trial in enumerate(todo, start=1):
            start = time.perf_counter()
            entry = execute_again(experiment, metrics, trial, args.reading, floors, map_episodes)
            store.add(entry)
            overall = {row["metric"]: row["value"] for row in entry["rows"] if row["key"] == ""}
            print(f"[{index}/{len(todo)}] {entry['arm']:<8} {entry['task']} seed {entry['seed']} "
                  f"{trial.get('context_action') or 'none'}: {args.reading} ({entry['edges']} edges) "
                  f"exec_success={overall['exec_success']:.3f} exec_lift={overall['exec_lift']:+.3f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    finally:
        if pool is not None:
            pool.close()
    print(f"{store.path}: {len(store.entries)} entries")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
