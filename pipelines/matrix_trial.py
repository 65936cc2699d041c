"""One matrix cell inside a Ray Tune trial: the library's run_trial, plus Parquet, MLflow and Tune reports.

Imported by Ray workers. It touches Ray only through `ray.tune.report`, so the Tune adapter lives in
full_matrix.py. A trial whose metrics file already exists (a finished trial of a resumed or re-run
experiment) reports its stored result and does no work: rows are never duplicated.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import time
from dataclasses import dataclass
from pathlib import Path

from mopjepa.evaluate.headline import scalars as headline
from pipelines.common import with_environment


@dataclass(frozen=True)
class MatrixContext:
    """What every trial of one experiment shares (plain values: it travels inside Tune's config)."""

    experiment: str
    preset: str
    results_root: str
    trials_root: str
    tracking_uri: str
    mlflow_experiment_id: str
    parent_run_id: str
    git_commit: str
    cpus_per_trial: int

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@functools.lru_cache(maxsize=4)
def _task_data(task: str, dataset_dir: str, data_seed: int, download: bool):
    from mopjepa.data import load_task_data

    return load_task_data(task, dataset_dir, data_seed, download)


def stored_headline(results_root: Path, trial_id: str) -> dict[str, float] | None:
    """The headline metrics of a finished trial, read back from its Parquet metrics file."""
    import pyarrow.dataset as ds

    from mopjepa.results import read_table

    frame = read_table(results_root, "metrics", ds.field("trial_id") == trial_id)
    if frame.empty:
        return None
    return headline(frame[["metric", "key", "value"]].to_dict("records"))


TRACKING_PREFIX = {"metrics": "eval", "mechanism": "mechanism"}
"""The MLflow prefix of a trial's final-table rows: eval/<metric>[/<key>] or mechanism/<metric>/<M>."""


def run_matrix_trial(config: dict) -> None:
    """The Tune trainable: config = {"flat": a preset's trial, "context": MatrixContext.as_dict()}.

    Every kind of trial takes the same path (mopjepa.experiment.run dispatches on its task). Torch's
    thread count is the trial's own `threads`, not its CPU share: the same config gives the same numbers
    here and in run_trial.py."""
    from ray import tune

    from mopjepa.config import TrialConfig
    from mopjepa.experiment import TrialHooks, run
    from mopjepa.results import Lineage, completed_trials, split_studies, trial_file, trial_id, write_trial_tables
    from pipelines.floors import FloorFileCache
    from pipelines.tracking import Tracker

    context = MatrixContext(**config["context"])
    flat, studies = split_studies(config["flat"])
    cfg = TrialConfig.from_flat(flat)
    identity = trial_id(cfg)
    root = Path(context.results_root)
    if identity in completed_trials(root):
        stored = stored_headline(root, identity) or {}
        tune.report({**stored, "trial_id": identity, "skipped": 1, "seconds": 0.0})
        return

    start = time.perf_counter()
    tracker = Tracker(context.tracking_uri, context.experiment)
    tags = {"git_commit": context.git_commit, "preset": context.preset, "task": cfg.data.task, "arm": cfg.arm,
            "seed": str(cfg.seed), "studies": ",".join(studies)}
    run_id = tracker.start_trial(
        context.mlflow_experiment_id, context.parent_run_id, identity, run_name(cfg, identity), tags
    )
    log_config(tracker, run_id, cfg)
    try:
        hooks = TrialHooks(map_episodes=_episode_map(cfg.execute.execute_workers),
                           floor_cache=FloorFileCache(root.parent / "floors"))
        output = run(cfg, hooks, workdir=Path(context.trials_root) / identity, load=_task_data)
        tracker.set_tags(run_id, {"data_hash": output.data_hash, "data_source": output.data_source})
        lineage = with_environment(Lineage(identity, context.experiment, output.data_source, output.data_hash,
                                           context.git_commit, studies).columns(cfg))
        tables = dict(output.tables)
        final = {output.final: tables.pop(output.final)}
        write_trial_tables(root, tables, lineage)
        tracker.log_metrics(run_id, [(row["metric"], row["value"], row["step"]) for row in tables["training"]])
        tracker.log_metrics(run_id, [(metric_key("curve", row), row["value"], row["step"])
                                     for row in tables.get("curves", [])])
        prefix = TRACKING_PREFIX[output.final]
        tracker.log_metrics(run_id, [(metric_key(prefix, row), row["value"], 0) for row in output.rows])
        if output.checkpoint is not None:
            tracker.log_artifact(run_id, output.checkpoint)
        edges = trial_file(root, "edges", cfg.data.task, cfg.arm, identity)
        if edges.exists():
            tracker.log_artifact(run_id, edges)
        # The final table marks the trial complete: it is written last, once its run is FINISHED (a kill in
        # between reruns the trial, which logs only what its run lacks).
        tracker.finish(run_id)
        write_trial_tables(root, final, lineage)
    except BaseException:
        tracker.finish(run_id, failed=True)
        raise
    tune.report({**headline(output.rows), "trial_id": identity, "skipped": 0, "seconds": time.perf_counter() - start})


def log_config(tracker, run_id: str, cfg) -> None:
    """The trial's identity keys as MLflow params (they never change for its run: the run is found by the
    trial id they hash to), its runtime keys (where and how it ran: device, dataset_dir, ...) as
    `runtime.<key>` tags, which a rerun elsewhere may change."""
    from mopjepa.config import RUNTIME_KEYS

    flat = cfg.to_flat()
    tracker.log_params(run_id, {k: v for k, v in flat.items() if k not in RUNTIME_KEYS})
    tracker.set_tags(run_id, {f"runtime.{k}": v for k, v in flat.items() if k in RUNTIME_KEYS})


def metric_key(prefix: str, row: dict) -> str:
    """<prefix>/<metric>[/<key>] in the characters MLflow allows in metric names ('@' becomes ':')."""
    name = f"{prefix}/{row['metric']}" + (f"/{row['key']}" if row["key"] else "")
    return re.sub(r"[^0-9A-Za-z_\-. :/]", "_", name.replace("@", ":"))


def run_name(cfg, identity: str) -> str:
    """e.g. mop-K8-medium-s0-<trial id>: readable in the MLflow UI and in Tune's trial dirs."""
    k = getattr(cfg.predictor, "K", None)
    parts = cfg.data.task.split("-")
    place = parts[1] if len(parts) > 2 else cfg.data.task
    return f"{cfg.arm}{'' if k is None else f'-K{k}'}-{place}-s{cfg.seed}-{identity}"


def _episode_map(workers: int):
    """Serial episodes inside the trial, or a pool of `workers` Ray actors (in the trial's own bundles)."""
    from mopjepa.execute import serial_map

    if workers <= 0:
        return serial_map
    from pipelines.ray_episodes import ray_map_episodes

    return ray_map_episodes(workers)


def trial_label(flat: dict) -> str:
    extras = " ".join(
        f"{k}={v}"
        for k, v in flat.items()
        if k not in ("task", "arm", "seed", "dataset_dir", "download", "execute_workers", "studies")
    )
    return f"{flat['arm']:<8} {flat['task']:<32} seed {flat['seed']} {extras}".rstrip()


def environment_threads(cpus: int) -> dict[str, str]:
    """Thread pools sized to a trial's CPUs (Ray sets OMP only; MKL and OpenBLAS need it too)."""
    value = str(max(1, cpus))
    return {name: value for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")} | {
        "RAY_CHDIR_TO_TRIAL_DIR": "0"
    }
