"""The execution ceilings of a record's trials that ran before trials wrote them (protocol: the execution ceilings).

    python pipelines/record_references.py EXPERIMENT_DIR [--dataset-dir DIR] [--no-download] [--processes N]

Every executing trial of EXPERIMENT_DIR without `exec_ceiling` rows is grouped by (task, seed, the data it
ran on). For each group the task's data is loaded here and the cells built as the trial builds them
(the seed's hold-out), then checked against what the trials recorded: every proposed edge's `real` and
`heldout` flags in their `edges` table, and every route metric of their raw and gated graphs (precision,
recall, held-out precision and recall, realroute, ...) and `realroute_ceiling` recomputed from those edges
with this truth. The group `matched` when all agree; `truth_determined` adds that this truth is the maze's
4-neighbour (and teleport) moves alone, which every data's truth contains, so a truth with as many edges
(recall's count) is this one. The edges table holds only proposed edges, so the hold-out itself is read
through those checks, not compared whole.

Then the ceiling and truth success of each (task, seed, execute config) are computed once with the trial's
executor and episode seeds (mopjepa.execute.references) and written to EXPERIMENT_DIR/references.json,
one entry per reference graph and recorded data: the reference key a trial on this data would cache it
under, the success per task, the data hash used here, the graph's digest, the recorded data hash, its
trials and whether they matched. The report (mopjepa.analysis.references.with_references) reads a trial's
ceiling and truth from its own metrics when it has them, else from a matched entry here. Resumable: a
rerun reuses every success already in the file (by key) and rewrites the trials and checks. Writes nothing
under results/.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
from pathlib import Path

import numpy as np
import pandas as pd

from mopjepa.analysis.load import ExperimentResults, load_experiment
from mopjepa.analysis.references import REFERENCES_FILE
from mopjepa.config import TrialConfig
from mopjepa.config.identity import current_flat
from mopjepa.data import CellData, TaskData, build_cell_data, load_task_data
from mopjepa.evaluate import Truth
from mopjepa.evaluate.report import route_rows
from mopjepa.evaluate.routes import realroute_ceiling
from mopjepa.execute import floor_key, reference_adjacency, reference_successes, serial_map
from mopjepa.execute.floor import execute_fields
from mopjepa.execute.recorded import recorded_graph
from mopjepa.execute.references import adjacency_digest, reference_key
from mopjepa.seeding import numpy_rng
from pipelines.common import DEFAULT_DATASET_DIR

GRAPH_SUFFIX = {"gated": "", "raw": "_raw"}
"""The edges table's graph -> the suffix of its route metrics (mopjepa.evaluate.report.route_rows)."""
TOLERANCE = 1e-9


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment_dir", type=Path)
    parser.add_argument("--dataset-dir", default=DEFAULT_DATASET_DIR)
    parser.add_argument("--no-download", action="store_true", help="never try OGBench's download server")
    parser.add_argument("--processes", type=int, default=1, help="local processes running episodes (no Ray)")
    return parser.parse_args(argv)


def trials_to_complete(experiment: ExperimentResults) -> pd.DataFrame:
    """One row per executing trial without its own exec_ceiling (flat config, lineage, config_json)."""
    trials = experiment.trials()
    own = set(experiment.metrics.loc[experiment.metrics["metric"] == "exec_ceiling", "trial_id"])
    return trials[(trials["episodes_per_task"].fillna(0) > 0) & ~trials["trial_id"].isin(own)]


def trial_config(config_json: str) -> TrialConfig:
    return TrialConfig.from_flat(current_flat(json.loads(config_json)))


def record_checks(cells: CellData, edges: pd.DataFrame, metrics: pd.DataFrame) -> dict:
    """How the trials' recorded edges and route metrics agree with this data's truth and hold-out."""
    truth = Truth.from_cell_data(cells)
    source, target = edges["source"].to_numpy(), edges["target"].to_numpy()
    flags = int(((truth.truth[source, target] != edges["real"].to_numpy())
                 | (truth.heldout[source, target] != edges["heldout"].to_numpy())).sum())
    recorded = metrics.set_index(["trial_id", "metric", "key"])["value"]
    compared = differing = 0
    for (trial, graph), rows in edges.groupby(["trial_id", "graph"]):
        proposed = recorded_graph(rows, cells.geometry.num_cells, graph)
        mine = route_rows(proposed, truth, GRAPH_SUFFIX[graph])
        mine.append({"metric": "realroute_ceiling", "key": "", "value": realroute_ceiling(truth.truth, truth.heldout)})
        for row in mine:
            if (trial, row["metric"], row["key"]) in recorded.index:
                compared += 1
                differing += abs(recorded[(trial, row["metric"], row["key"])] - row["value"]) > TOLERANCE
    geometry = cells.geometry
    moves = np.zeros_like(truth.truth)
    for pairs in (geometry.neighbour_edges(), geometry.teleport_edges()):
        moves[pairs[:, 0], pairs[:, 1]] = True
    return {"edge_flags_checked": len(edges), "edge_flags_differing": flags, "metrics_checked": compared,
            "metrics_differing": int(differing), "truth_edges": int(truth.truth.sum()),
            "heldout_edges": int(truth.heldout.sum()), "truth_determined": bool((moves == truth.truth).all())}


class ReferenceFile:
    """references.json: the success per reference key, kept as each is computed (the cache of a rerun)."""

    def __init__(self, path: Path):
        self.path = path
        entries = json.loads(path.read_text())["references"] if path.exists() else []
        self.success = {entry["key"]: entry["success"] for entry in entries}
        self.entries: list[dict] = []

    def cache(self, key: str, compute) -> dict[int, float]:
        if key not in self.success:
            self.success[key] = {str(task): value for task, value in compute().items()}
            self.write(self.entries)
        return {int(task): value for task, value in self.success[key].items()}

    def write(self, entries: list[dict]) -> None:
        """`entries`, then every success not in them yet as a partial entry (key and success only)."""
        written = {entry["key"] for entry in entries}
        partial = [{"key": key, "success": success, "partial": True}
                   for key, success in self.success.items() if key not in written]
        temporary = self.path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps({"about": ABOUT, "references": entries + partial}, indent=1) + "\n")
        os.replace(temporary, self.path)


ABOUT = ("Execution ceiling and truth success of the record's trials that ran before trials wrote them; written by "
         "pipelines/record_references.py (see its docstring and docs/protocol.md#the-execution-ceilings). One entry "
         "per reference graph, (task, seed, execute config) and recorded data hash: success per task id on this "
         "data's graph (data_hash, graph digest), and whether the trials' recorded edges and metrics matched it.")


def reference_entries(experiment: ExperimentResults, pending: pd.DataFrame, data: TaskData, store: ReferenceFile,
                      map_episodes) -> list[dict]:
    """The entries of one task's pending trials, computing what `store` does not hold yet."""
    env_name, trials = data.name.env_name, experiment.trials()
    entries = []
    for record_hash, recorded in pending.groupby("data_hash", sort=True):
        for _, of_seed in recorded.groupby("seed", sort=True):
            configs: dict[str, list] = {}
            for row in of_seed.itertuples():
                cfg = trial_config(row.config_json)
                configs.setdefault(floor_key(env_name, cfg.execute, cfg.seed) + str(cfg.data.holdout_fraction),
                                   []).append((row.trial_id, cfg))
            for group in configs.values():
                cfg = group[0][1]
                cells = build_cell_data(data, cfg.data.holdout_fraction, cfg.data.mode_threshold,
                                        numpy_rng(cfg.seed, "holdout"))
                same_data = trials[(trials["task"] == data.name.name) & (trials["seed"] == cfg.seed)
                                   & (trials["data_hash"] == record_hash)
                                   & (trials["holdout_fraction"] == cfg.data.holdout_fraction)]["trial_id"].tolist()
                checks = record_checks(cells, experiment.table("edges", same_data),
                                       experiment.metrics[experiment.metrics["trial_id"].isin(same_data)])
                matched = checks["edge_flags_differing"] == 0 and checks["metrics_differing"] == 0
                print(f"  {data.name.name} seed {cfg.seed} data {record_hash[:8]} ({len(group)} trials): "
                      f"{'matched' if matched else 'DIFFERS'} {checks}", flush=True)
                successes = reference_successes(env_name, cells.geometry, cells.truth, cells.heldout, cfg.execute,
                                                cfg.seed, data.data_hash, store.cache, map_episodes)
                graphs = reference_adjacency(cells.truth, cells.heldout)
                for name, success in successes.items():
                    print(f"    {name:<7} {np.mean(list(success.values())):.3f} "
                          f"{[round(v, 2) for v in success.values()]}", flush=True)
                    key = reference_key(name, graphs[name], env_name, cfg.execute, cfg.seed, data.data_hash)
                    entries.append({
                        "key": key, "task": data.name.name, "seed": cfg.seed, "reference": name,
                        "execute": execute_fields(cfg.execute), "success": {str(t): v for t, v in success.items()},
                        "data_hash": data.data_hash, "data_file_hash": data.file_hash, "data_source": data.data_source,
                        "graph": adjacency_digest(graphs[name]), "record_data_hash": record_hash,
                        "trials": sorted(trial for trial, _ in group), "matched": matched, "checks": checks,
                    })
    return entries


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    experiment = load_experiment(args.experiment_dir)
    pending = trials_to_complete(experiment)
    print(f"{experiment.name}: {len(pending)} executing trial(s) without exec_ceiling", flush=True)
    store = ReferenceFile(experiment.root / REFERENCES_FILE)
    pool = multiprocessing.get_context("spawn").Pool(args.processes) if args.processes > 1 else None
    map_episodes = serial_map if pool is None else (lambda fn, jobs: pool.map(fn, jobs, chunksize=1))
    try:
        for task_name, of_task in pending.groupby("task", sort=True):
            data_seed = trial_config(of_task["config_json"].iloc[0]).data.data_seed
            data = load_task_data(task_name, args.dataset_dir, data_seed, download=not args.no_download)
            store.entries += reference_entries(experiment, of_task, data, store, map_episodes)
            store.write(store.entries)
    finally:
        if pool is not None:
            pool.close()
    store.write(store.entries)
    print(f"wrote {store.path} ({len(store.entries)} entries)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
