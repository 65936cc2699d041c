"""Run a preset's whole matrix as Ray Tune trials, with Parquet results and MLflow lineage.

    python pipelines/full_matrix.py --preset quick                      # a laptop: starts a local Ray
    ray job submit --working-dir . -- python pipelines/full_matrix.py --preset paper   # a cluster

Everything of one experiment lives under <storage>/<name>/: results/ (Parquet), trials/ (checkpoints),
tune/ (Ray Tune's state), manifest.json (the planned trials). MLflow runs go to
sqlite:///<storage>/mlflow.db (artifacts in <storage>/mlartifacts) unless --tracking-uri says
otherwise. Running the same command again resumes an interrupted experiment: finished trials are
neither rerun nor duplicated.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(REPO))

from mopjepa.config import MECHANISM_TASK, ConfigError, TrialConfig  # noqa: E402
from mopjepa.data import DataError, load_task_data  # noqa: E402
from mopjepa.results import STUDIES_KEY, split_studies, trial_id  # noqa: E402
from pipelines.common import DEFAULT_DATASET_DIR, git_commit, tqdm_progress  # noqa: E402
from pipelines.matrix_trial import MatrixContext  # noqa: E402
from pipelines.tracking import Tracker, default_tracking_uri  # noqa: E402
from tune_spaces import PRESETS, merge_trials, preset_trials  # noqa: E402

DEFAULT_STORAGE = "~/mopjepa_results"


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
    parser.add_argument("--dataset-dir", default=DEFAULT_DATASET_DIR, help="default: %(default)s")
    parser.add_argument("--no-download", action="store_true", help="never try OGBench's download server")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default: sqlite under --storage)")
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
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key in every trial (e.g. --set steps=500)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.gpus_per_trial <= 1:
        parser.error(f"--gpus-per-trial = {args.gpus_per_trial} is not allowed: must be in [0, 1] "
                     "(a trial trains on one device; a fraction shares one GPU between trials)")
    return args


def planned_trials(args: argparse.Namespace) -> list[dict]:
    from mopjepa.config import coerce
    from mopjepa.config.checks import check

    runtime = {
        "dataset_dir": str(Path(args.dataset_dir).expanduser().resolve()),
        "download": not args.no_download,
        "execute_workers": args.execute_workers,
    }
    trials = []
    for entry in _source_trials(args):
        flat, studies = split_studies(entry)
        overrides = {}
        for item in args.set:
            key, _, value = item.partition("=")
            overrides[key] = coerce(flat["arm"], key, value)
        trial = {**flat, **overrides, **runtime}
        if args.gpus_per_trial <= 0 and trial.get("device", "auto") != "cpu":
            # Ray leaves CUDA_VISIBLE_DEVICES alone for a trial without GPUs: 'auto' would find the node's.
            check(trial.get("device", "auto") == "auto", "device", trial.get("device"), "'auto' or 'cpu' "
                  "without --gpus-per-trial (a trial on cuda needs a GPU of its own)")
            trial["device"] = "cpu"
        trials.append({**trial, STUDIES_KEY: list(studies)})
    return trials


def _source_trials(args: argparse.Namespace) -> list[dict]:
    if args.trials_file is None:
        return preset_trials(args.preset)
    trials = json.loads(args.trials_file.read_text())
    if not isinstance(trials, list) or not all(isinstance(t, dict) for t in trials):
        raise SystemExit(f"error: {args.trials_file} must hold a JSON list of flat trial configs")
    try:  # validate every trial before any work starts; identical ones merge their studies
        return merge_trials(trials, str(args.trials_file))
    except ValueError as error:
        raise ConfigError(str(error)) from error


def config_of(entry: dict) -> TrialConfig:
    """The TrialConfig of a planned trial (its flat config; `studies` set aside)."""
    return TrialConfig.from_flat(split_studies(entry)[0])


def write_manifest(experiment_dir: Path, preset: str, name: str, trials: list[dict]) -> None:
    """Record the planned trials; an existing experiment must plan the same trials (Tune cannot change
    a grid on restore), otherwise the user is told to pick a new name."""
    ids = [trial_id(config_of(entry)) for entry in trials]
    path = experiment_dir / "manifest.json"
    if path.exists():
        previous = [t["trial_id"] for t in json.loads(path.read_text())["trials"]]
        if previous != ids:
            raise SystemExit(
                f"error: experiment {str(experiment_dir)!r} was started with a different trial list "
                f"({len(previous)} trials); use another --name for a changed matrix"
            )
        return
    experiment_dir.mkdir(parents=True, exist_ok=True)
    manifest = {
        "preset": preset,
        "name": name,
        "trials": [{"trial_id": i, "flat": split_studies(entry)[0], STUDIES_KEY: entry[STUDIES_KEY]}
                   for i, entry in zip(ids, trials, strict=True)],
    }
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(manifest, indent=1) + "\n")
    temporary.replace(path)


def prepare_datasets(trials: list[dict]) -> dict[str, tuple[str, str]]:
    """Load (or regenerate) each task's data once, before any trial: task -> (data_source, data_hash)."""
    prepared = {}
    for entry in trials:
        cfg = config_of(entry)
        key = cfg.data.task
        if key in prepared or key == MECHANISM_TASK:  # the branch sweep generates its own data
            continue
        with tqdm_progress(f"preparing {key}", unit="episode") as progress:
            data = load_task_data(key, cfg.data.dataset_dir, cfg.data.data_seed, cfg.data.download, progress=progress)
        prepared[key] = (data.data_source, data.data_hash)
        print(f"data  {key}: {data.data_source} {data.data_hash[:12]}", flush=True)
    return prepared


def open_tracking(tracking_uri: str, name: str, storage: Path) -> tuple[Tracker, str]:
    """The tracker and the id of the experiment's MLflow experiment (created if new)."""
    tracker = Tracker(tracking_uri, name)
    return tracker, tracker.ensure_experiment(storage / "mlartifacts")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    name = args.name or (args.trials_file.stem if args.trials_file else args.preset)
    preset = "custom" if args.trials_file else args.preset
    storage = Path(args.storage).expanduser().resolve()
    experiment_dir = storage / name
    try:
        trials = planned_trials(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    write_manifest(experiment_dir, preset, name, trials)
    print(f"experiment {name}: {len(trials)} trials of preset {preset!r} in {experiment_dir}", flush=True)
    tracking_uri = args.tracking_uri or default_tracking_uri(storage)
    from pipelines.tune_driver import connect, run_tune  # the one module that drives Ray Tune

    # MLflow's first connection (the schema migrations of a new SQLite store: seconds of CPU) runs in
    # the background while the datasets are prepared and Ray starts (which mostly waits for its processes).
    with ThreadPoolExecutor(max_workers=1) as background:
        opening = background.submit(open_tracking, tracking_uri, name, storage)
        try:
            prepare_datasets(trials)
        except DataError as error:
            opening.result()
            print(f"error: {error}", file=sys.stderr)
            return 2
        connect(args.local_cpus, args.cpus_per_trial)
        tracker, experiment_id = opening.result()
    commit = git_commit()
    parent_id = tracker.start_parent(experiment_id, name, {"preset": preset, "git_commit": commit})
    context = MatrixContext(
        experiment=name,
        preset=preset,
        results_root=str(experiment_dir / "results"),
        trials_root=str(experiment_dir / "trials"),
        tracking_uri=tracking_uri,
        mlflow_experiment_id=experiment_id,
        parent_run_id=parent_id,
        git_commit=commit,
        cpus_per_trial=args.cpus_per_trial,
    )
    start = time.perf_counter()
    try:
        outcome = run_tune(trials, context, experiment_dir, args)
    except BaseException:
        tracker.finish(parent_id, failed=True)
        raise
    tracker.finish(parent_id, failed=bool(outcome.failed))
    elapsed = time.perf_counter() - start
    print(
        f"done: {outcome.finished} finished ({outcome.skipped} already done), {len(outcome.failed)} failed, "
        f"{elapsed:.0f} s wall; results in {experiment_dir / 'results'}",
        flush=True,
    )
    for label, error in outcome.failed:
        print(f"FAILED {label}: {error}", file=sys.stderr)
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
