"""Run a preset's whole matrix as Ray Tune trials, with Parquet results and MLflow lineage.

    python pipelines/full_matrix.py --preset quick                      # a laptop: starts a local Ray
    ray job submit --working-dir . -- python pipelines/full_matrix.py --preset paper   # a cluster

Everything of one experiment lives under <storage>/<name>/: results/ (Parquet), trials/ (checkpoints),
tune/ (Ray Tune's logs), manifest.json (the planned trials). MLflow runs go to
sqlite:///<storage>/mlflow.db (artifacts in <storage>/mlartifacts) unless --tracking-uri says
otherwise. Running the same command again resumes an interrupted experiment: finished trials are
neither rerun nor duplicated, and the others run in the planned order (a preset's order of priority).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mopjepa.config import ConfigError, MazeTask, TrialConfig, trial_kind
from mopjepa.data import DataError
from mopjepa.results import STUDIES_KEY, completed_trials, split_studies, trial_id
from pipelines.common import (
    DEFAULT_DATASET_DIR,
    ManifestError,
    Once,
    environment,
    git_commit,
    output_directory,
    parse_config_overrides,
    read_manifest,
)
from pipelines.datasets import data_change_lines, prepare_datasets
from pipelines.locks import LockHeld, describe_holder, experiment_lock
from pipelines.matrix_trial import MatrixContext
from pipelines.stopping import Interrupted, StopSignals
from pipelines.tracking import StoreError, Tracker, default_tracking_uri, prepare_store, sqlite_path
from tune_spaces import PRESETS, merge_trials, preset_trials

DEFAULT_STORAGE = "~/mopjepa_results"
NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]+")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="quick", choices=sorted(PRESETS), help="default: %(default)s")
    parser.add_argument(
        "--trials-file",
        type=Path,
        help="a JSON list of flat trial configs to run instead of a preset (a custom matrix)",
    )
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help="default: %(default)s")
    parser.add_argument("--name", help="experiment name (default: the preset's name, or the trials file's stem)")
    parser.add_argument("--dataset-dir", "--dataset_dir", action=Once, default=DEFAULT_DATASET_DIR,
                        help="default: %(default)s")
    parser.add_argument("--no-download", "--no_download", action="store_true",
                        help="never try OGBench's download server")
    parser.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI if set, e.g. by cluster/ray-cluster.yaml's head, "
        "else sqlite:///<storage>/mlflow.db)",
    )
    parser.add_argument("--cpus-per-trial", type=int, default=1, help="default: %(default)s")
    parser.add_argument("--gpus-per-trial", type=float, default=0.0,
                        help="GPUs of each trial, fractions share one (0.25: four trials a GPU; default: 0, CPU only)")
    parser.add_argument(
        "--execute-workers",
        type=int,
        default=0,
        help="Ray actors per trial for episodes (0: episodes run inside the trial)",
    )
    parser.add_argument("--max-concurrent", type=int, default=0, help="running trials at most (0: no cap)")
    parser.add_argument("--max-failures", type=int, default=2, help="retries of a failed trial (default: %(default)s)")
    parser.add_argument(
        "--local-cpus",
        type=int,
        help="start a fresh local Ray with this many CPUs instead of joining a running cluster",
    )
    parser.epilog = ("Any other --key value overrides that config key in every trial (e.g. --steps 500), as in "
                     "run_trial.py and audit.py.")
    args, args.overrides = parser.parse_known_args(argv)
    if not 0 <= args.gpus_per_trial <= 1:
        parser.error(f"--gpus-per-trial = {args.gpus_per_trial} is not allowed: must be in [0, 1] "
                     "(a trial trains on one device; a fraction shares one GPU between trials)")
    return args


def planned_trials(args: argparse.Namespace) -> list[dict]:
    from mopjepa.config.checks import check

    runtime = {
        "dataset_dir": str(Path(args.dataset_dir).expanduser().resolve()),
        "download": not args.no_download,
        "execute_workers": args.execute_workers,
    }
    overrides = parse_config_overrides(None, args.overrides)
    if clash := sorted(overrides.keys() & runtime.keys()):
        raise ConfigError(f"--{clash[0]} is not allowed as a config override: {clash[0]} is set by its own option "
                          "(--dataset-dir, --no-download, --execute-workers)")
    trials = []
    for entry in _source_trials(args):
        flat, studies = split_studies(entry)
        trial = {**flat, **overrides}
        if trial_kind(trial.get("task")) is MazeTask:  # a branch-sweep trial reads no dataset and runs no episodes
            trial |= runtime
        if args.gpus_per_trial <= 0 and trial.get("device", "auto") != "cpu":
            # Ray leaves CUDA_VISIBLE_DEVICES alone for a trial without GPUs: 'auto' would find the node's.
            check(trial.get("device", "auto") == "auto", "device", trial.get("device"), "'auto' or 'cpu' "
                  "without --gpus-per-trial (a trial on cuda needs a GPU of its own)")
            trial["device"] = "cpu"
        # Every trial valid (e.g. --steps -1, a misspelt task) before anything is written.
        check_dataset(TrialConfig.from_flat(trial))
        trials.append({**trial, STUDIES_KEY: list(studies)})
    return trials


def check_dataset(cfg: TrialConfig) -> None:
    """A maze trial's task must be an OGBench dataset name (the config itself accepts any string)."""
    from mopjepa.config import BRANCH_SWEEP_TASK
    from mopjepa.data.names import parse_dataset_name

    if isinstance(cfg.task, MazeTask):
        try:
            parse_dataset_name(cfg.task.name)
        except DataError as error:
            raise ConfigError(f"config field 'task' = {cfg.task.name!r} is not allowed: {error}, "
                              f"or {BRANCH_SWEEP_TASK!r} (the generated branch-sweep task)") from error


def _source_trials(args: argparse.Namespace) -> list[dict]:
    if args.trials_file is None:
        return preset_trials(args.preset)
    trials = read_trials_file(args.trials_file)
    try:  # validate every trial before any work starts; identical ones merge their studies
        return merge_trials(trials, str(args.trials_file))
    except ValueError as error:
        raise ConfigError(str(error)) from error


def read_trials_file(path: Path) -> list[dict]:
    """The JSON list of flat trial configs in `path`; a missing, unreadable or malformed file is a ConfigError."""
    expected = "it must hold a JSON list of flat trial configs, e.g. [{\"task\": ..., \"arm\": ..., \"seed\": 0}]"
    try:
        trials = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise ConfigError(f"--trials-file {str(path)!r} does not exist") from error
    except OSError as error:
        raise ConfigError(f"--trials-file {str(path)!r} cannot be read: {error.strerror}") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"--trials-file {str(path)!r} is not JSON ({error}); {expected}") from error
    if not isinstance(trials, list) or not all(isinstance(t, dict) for t in trials):
        raise ConfigError(f"--trials-file {str(path)!r} holds a {type(trials).__name__}, not a list of objects; "
                          f"{expected}")
    if not trials:
        raise ConfigError(f"--trials-file {str(path)!r} holds no trials; {expected}")
    return trials


def config_of(entry: dict) -> TrialConfig:
    """The TrialConfig of a planned trial (its flat config; `studies` set aside)."""
    return TrialConfig.from_flat(split_studies(entry)[0])


def write_manifest(experiment_dir: Path, preset: str, name: str, trials: list[dict]) -> list[str]:
    """Record the planned trials. An existing experiment may grow: its preset may append trials and
    reorder those not yet run (the new list is the planned order); dropping a planned trial is refused
    (its results and report are read against this list), and the user is told to pick a new name."""
    ids = [trial_id(config_of(entry)) for entry in trials]
    path = experiment_dir / "manifest.json"
    recorded = read_manifest(path)
    if recorded is not None:
        previous = [t["trial_id"] for t in recorded["trials"]]
        if previous == ids:
            return ids
        dropped = [trial for trial in previous if trial not in set(ids)]
        if dropped:
            raise ManifestError(
                f"experiment {str(experiment_dir)!r} was started with a different trial list "
                f"({len(previous)} trials, {len(dropped)} of them no longer planned, e.g. {dropped[0]}); "
                "use another --name for a changed matrix"
            )
        print(f"experiment {name}: the plan grows from {len(previous)} to {len(ids)} trials "
              "(trials not yet run follow the new order)", flush=True)
    experiment_dir.mkdir(parents=True, exist_ok=True)
    manifest = {
        "preset": preset,
        "name": name,
        # Where the experiment was first planned (a grown plan keeps it); each result row records its own.
        **_first_environment(recorded),
        "trials": [{"trial_id": i, "flat": split_studies(entry)[0], STUDIES_KEY: entry[STUDIES_KEY]}
                   for i, entry in zip(ids, trials, strict=True)],
    }
    temporary = path.with_suffix(".json.tmp")
    try:
        temporary.write_text(json.dumps(manifest, indent=1) + "\n")
        temporary.replace(path)
    except OSError as error:  # e.g. the disk is full: the previous manifest, if any, stays as it was
        temporary.unlink(missing_ok=True)
        raise ManifestError(f"manifest {str(path)!r} cannot be written ({error.strerror}); free space in "
                            f"{str(experiment_dir)!r} (or pass another --storage) and rerun") from None
    return ids


def _first_environment(recorded: dict | None) -> dict:
    """The manifest's `environment` entry: this install's when the manifest is new, else the one recorded."""
    if recorded is None:
        return {"environment": environment()}
    return {"environment": recorded["environment"]} if "environment" in recorded else {}


def open_tracking(tracking_uri: str, name: str, storage: Path, note: str) -> tuple[Tracker, str]:
    """The tracker and the id of the experiment's MLflow experiment (store and experiment created if new)."""
    tracker = Tracker(tracking_uri, name)
    return tracker, tracker.ensure_experiment(storage / "mlartifacts", note)


def experiment_note(name: str, preset: str, commit: str, total: int) -> str:
    """The MLflow experiment's description (Markdown, shown above its runs)."""
    return (
        f"MoP-JEPA matrix `{name}`: preset `{preset}`, {total} planned trials, git commit `{commit}`.\n\n"
        "One parent run (tag `mopjepa.parent = true`) holds the experiment's report; each trial is a child "
        "run named `<arm>[-K<k>]-<maze>-s<seed>-<trial id>` with its identity config as params (where it ran: "
        "`runtime.*` tags), `train/*` "
        "curves by step and `eval/*` protocol metrics. The Parquet results under the experiment's "
        "`results/` are the record; `pipelines/aggregate.py` builds the tables and figures from them."
    )


def mlflow_lines(tracking_uri: str, experiment_id: str | None) -> list[str]:
    """How to open the experiment's runs in MLflow's UI."""
    backend = tracking_uri if tracking_uri.startswith("sqlite:") else None
    lines = []
    if backend:
        lines.append(f"MLflow: mlflow ui --backend-store-uri {backend} --port 5000")
        base = "http://127.0.0.1:5000"
    else:
        lines.append(f"MLflow: the tracking server {tracking_uri}")
        base = tracking_uri.rstrip("/")
    if experiment_id is not None:
        lines.append(f"        {base}/#/experiments/{experiment_id}?workflowType=machine_learning")
    return lines


@dataclass
class Tally:
    """What happened to the planned trials, read from the results (the one completeness rule)."""

    planned: list[str]
    before: set[str]
    complete: set[str] = field(default_factory=set)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def count(self, results_root: Path, failed: list[tuple[str, str]]) -> Tally:
        self.complete = completed_trials(results_root) & set(self.planned)
        self.failed = failed
        return self

    @property
    def not_run(self) -> int:
        return len(self.planned) - len(self.complete) - len(self.failed)

    def line(self) -> str:
        already = len(self.before & self.complete)
        return (f"{len(self.complete)} finished ({already} already done), {len(self.failed)} failed, "
                f"{max(self.not_run, 0)} not run of {len(self.planned)} planned")


def main(argv: list[str] | None = None) -> int:
    stop = StopSignals().install()
    args = parse_args(argv)
    name = args.name or (args.trials_file.stem if args.trials_file else args.preset)
    preset = "custom" if args.trials_file else args.preset
    storage = Path(args.storage).expanduser().resolve()
    experiment_dir = storage / name
    try:
        validate_name(name)
        output_directory(storage, "--storage")
        trials = planned_trials(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        with experiment_lock(experiment_dir, " ".join(sys.argv)) as previous:
            if previous.get("pid"):
                print(f"taking over the lock of a driver that is no longer running ({describe_holder(previous)})",
                      flush=True)
            return run_experiment(args, stop, name, preset, storage, experiment_dir, trials)
    except LockHeld as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Interrupted as interrupt:  # a signal outside the experiment's own handling, or a second one
        print(f"interrupted by {signal.Signals(interrupt.signum).name}: stopped at once; run the same command "
              "again to resume", file=sys.stderr)
        return interrupt.exit_code


DISK_FULL_BYTES = 1 << 20
"""Free bytes under which a run that failed is reported as stopped by a full disk."""


def disk_full(storage: Path) -> str | None:
    """'the disk holding <storage> is full (<n> bytes free)' when it has less than DISK_FULL_BYTES free, else None.

    A full disk surfaces in many places (SQLite's 'database or disk is full', Tune's truncated state files, a
    trial's Parquet write), each as its own error: the free space is the one fact that names the cause."""
    try:
        free = shutil.disk_usage(storage).free
    except OSError:
        return None
    return f"the disk holding {storage} is full ({free} bytes free)" if free < DISK_FULL_BYTES else None


def run_experiment(args, stop: StopSignals, name: str, preset: str, storage: Path, experiment_dir: Path,
                   trials: list[dict]) -> int:
    """Everything after the lock: manifest, data, tracking, Ray, Tune, and the truthful summary."""
    try:
        planned = write_manifest(experiment_dir, preset, name, trials)
    except ManifestError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    results_root = experiment_dir / "results"
    tally = Tally(planned, completed_trials(results_root) & set(planned))
    print(f"experiment {name}: {len(trials)} trials of preset {preset!r} in {experiment_dir}", flush=True)
    tracking_uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri(storage)
    commit = git_commit()
    tracker = experiment_id = parent_id = None
    try:
        if (store := sqlite_path(tracking_uri)) is not None and store.exists():
            prepare_store(tracking_uri)  # a broken store is reported before any work starts (a quick check)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        from pipelines.tune_driver import (  # the one module that drives Ray Tune
            Outcome,
            connect,
            run_tune,
            shutdown,
            unreachable_from_workers,
        )

        # MLflow's first connection (the schema migrations of a new SQLite store: seconds of CPU) runs in the
        # background while the datasets are prepared and Ray starts (which mostly waits for its processes).
        with ThreadPoolExecutor(max_workers=1) as background:
            note = experiment_note(name, preset, commit, len(trials))
            opening = background.submit(open_tracking, tracking_uri, name, storage, note)
            try:
                prepared = prepare_datasets([config_of(entry) for entry in trials])
            except DataError as error:
                _settle(opening)
                print(f"error: {error}", file=sys.stderr)
                return 2
            except BaseException:
                _settle(opening)
                raise
            for line in data_change_lines(results_root, prepared):
                print(line, flush=True)
            connect(args.local_cpus, args.cpus_per_trial)
            stop.install()  # ray.init sets a SIGTERM handler of its own
            if (problem := unreachable_from_workers(tracking_uri)) is not None:
                _settle(opening)
                print(f"error: {problem}", file=sys.stderr)
                return 2
            try:
                tracker, experiment_id = opening.result()
            except StoreError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
        parent_id = tracker.start_parent(experiment_id, name, {"preset": preset, "git_commit": commit})
        context = MatrixContext(
            experiment=name,
            preset=preset,
            results_root=str(results_root),
            trials_root=str(experiment_dir / "trials"),
            tracking_uri=tracking_uri,
            mlflow_experiment_id=experiment_id,
            parent_run_id=parent_id,
            git_commit=commit,
            cpus_per_trial=args.cpus_per_trial,
        )
        remaining = [entry for entry, identity in zip(trials, planned, strict=True) if identity not in tally.before]
        if tally.before:
            print(f"resuming: {len(tally.before)} of {len(planned)} trials complete; the other {len(remaining)} "
                  "run in the planned order", flush=True)
        outcome = Outcome()
        if remaining:
            with stop.tuning():
                outcome = run_tune(remaining, context, experiment_dir, args, len(planned), len(tally.before))
        tally.count(results_root, outcome.failed)
    except Interrupted:
        tally.count(results_root, [])
    except BaseException as error:
        full = disk_full(storage) if isinstance(error, Exception) else None
        if tracker is not None and parent_id is not None and full is None:  # a full store takes no status
            tracker.kill_running_children(experiment_id, parent_id)
            tracker.finish(parent_id, failed=True)
        if full is not None:
            tally.count(results_root, [])
            print(f"stopped: {tally.line()}", flush=True)
            print(f"error: {full}; free space there and run the same command again (complete trials are kept, the "
                  f"others run again): {type(error).__name__} {str(error).splitlines()[0] if str(error) else ''}",
                  file=sys.stderr)
            return 1
        raise
    finally:
        if "pipelines.tune_driver" in sys.modules:
            shutdown()  # a local Ray's processes end with the driver, whatever ended it
    elapsed = time.perf_counter() - start
    complete = len(tally.complete) == len(planned)
    if tracker is not None and parent_id is not None:
        status = "KILLED" if stop.received else ("FINISHED" if complete else "FAILED")
        try:
            tracker.kill_running_children(experiment_id, parent_id)
            tracker.finish(parent_id, status=status)
        except Exception:
            if (full := disk_full(storage)) is None:
                raise
            print(f"error: {full}: the MLflow parent run could not be marked {status}", file=sys.stderr)
    if stop.received:
        killed = "; the MLflow parent run is KILLED" if parent_id is not None else ""
        print(f"interrupted by {stop.name}: {tally.line()}, {elapsed:.0f} s wall{killed}; "
              "run the same command again to resume", flush=True)
    else:
        print(f"done: {tally.line()}, {elapsed:.0f} s wall; results in {results_root}", flush=True)
    for line in mlflow_lines(tracking_uri, experiment_id):
        print(line, flush=True)
    for label, error in tally.failed:
        print(f"FAILED {label}: {error}", file=sys.stderr)
    if stop.received:
        return stop.exit_code
    return 0 if complete else 1


def _settle(future) -> None:
    """Wait for a background task, keeping its error (it is reported where its result is used)."""
    try:
        future.result()
    except Exception:
        pass


def validate_name(name: str) -> None:
    """An experiment name is one path component of letters, digits and . _ - (it names a directory)."""
    if not NAME_PATTERN.fullmatch(name) or name in (".", ".."):
        raise ConfigError(f"--name {name!r} is not allowed: use letters, digits, '.', '_' and '-' "
                          "(one directory name, not a path)")


if __name__ == "__main__":
    raise SystemExit(main())
