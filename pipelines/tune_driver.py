"""The Ray Tune adapter: a fixed grid over a preset's explicit trial list, retries, progress.

A resumed experiment is a new Tune run over the trials not yet complete, in the planned order (the
preset's order of priority): `Tuner.restore` would requeue them in an arbitrary order (Ray 2.60 keeps
trial states in a set). Nothing is lost by not restoring: Tune holds none of a trial's state (a
trial keeps its trained model under trials/), and finished trials are known from the Parquet results.

Ray's API churns (tune.report / RunConfig moved twice since 2.7), so every Tune call of the matrix
lives in this file: `tune.Tuner` + `tune.RunConfig` + `tune.FailureConfig` + `tune.Callback` as of Ray 2.60.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import ray
from ray import tune
from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

from pipelines.matrix_trial import MatrixContext, environment_threads, run_matrix_trial, run_name, trial_label

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Outcome:
    finished: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


class ProgressLines(tune.Callback):
    """One line per finished (or failed, or retried) trial, numbered within the whole experiment: the
    trials complete before this run (`done_before`) count first."""

    def __init__(self, total: int, done_before: int = 0):
        self.total, self.done_before = total, done_before

    def _done(self, trials) -> int:
        return self.done_before + sum(t.status in ("TERMINATED", "ERROR") for t in trials) + 1

    def on_trial_complete(self, iteration, trials, trial, **info):
        result = trial.last_result or {}
        scores = "  ".join(
            f"{k}={result[k]:.3f}"
            for k in ("plan_all", "realroute", "realroute_norm", "precision", "exec_success", "exec_lift")
            if isinstance(result.get(k), float)
        )
        status = "already done" if result.get("skipped") else f"{result.get('seconds', 0.0):.0f} s"
        print(
            f"[{self._done(trials)}/{self.total}] {trial_label(trial.config['flat'])}: {scores} ({status})", flush=True
        )

    def on_trial_error(self, iteration, trials, trial, **info):
        print(
            f"[{self._done(trials)}/{self.total}] FAILED {trial_label(trial.config['flat'])}: "
            f"{_first_line(trial.error_file)}",
            flush=True,
        )

    def on_trial_recover(self, iteration, trials, trial, **info):
        print(f"retrying {trial_label(trial.config['flat'])} after: {_first_line(trial.error_file)}", flush=True)


def _first_line(error_file: str | None) -> str:
    if not error_file or not os.path.exists(error_file):
        return "unknown error"
    lines = [line for line in Path(error_file).read_text().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


def driver_environment(environ) -> None:
    """Ray usage statistics off unless the user turned them on; Tune leaves SIGINT to the driver."""
    environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"


def connect(local_cpus: int | None, cpus_per_trial: int) -> None:
    """Join the cluster of `ray job submit` (RAY_ADDRESS) or a running local head; else start Ray here.

    Ray's usage statistics stay off unless RAY_USAGE_STATS_ENABLED=1 is set; Tune's own SIGINT handler
    is off because the driver's (pipelines/stopping.py) forwards the signal to Tune itself."""
    driver_environment(os.environ)
    if ray.is_initialized():
        return
    if "RAY_ADDRESS" in os.environ and local_cpus is None:
        ray.init()  # inside `ray job submit`: the job's runtime env carries the working dir
        return
    env = environment_threads(cpus_per_trial)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    if local_cpus is not None:
        ray.init(address="local", num_cpus=local_cpus, runtime_env={"env_vars": env}, include_dashboard=False)
    else:
        ray.init(runtime_env={"env_vars": env})


def unreachable_from_workers(tracking_uri: str) -> str | None:
    """Why the trials on other nodes could not log to `tracking_uri` (a loopback server address on a
    cluster of several nodes: each worker would read it as itself), or None."""
    from urllib.parse import urlparse

    host = urlparse(tracking_uri).hostname or ""
    if not tracking_uri.startswith("http") or host not in ("127.0.0.1", "localhost", "0.0.0.0", "::1"):
        return None
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    if len(nodes) <= 1:
        return None
    return (f"--tracking-uri {tracking_uri} names this machine, but the cluster has {len(nodes)} nodes and each "
            "worker would read it as itself; give the head's address the workers reach (e.g. "
            "http://<head private IP>:5000; cluster/ray-cluster.yaml exports it as MLFLOW_TRACKING_URI)")


def shutdown() -> None:
    """Disconnect from Ray; a Ray this driver started (a local one) stops with all its processes."""
    if ray.is_initialized():
        ray.shutdown()


def run_tune(trials: list[dict], context: MatrixContext, experiment_dir: Path, args, total: int | None = None,
             done_before: int = 0) -> Outcome:
    """Run `trials` (the planned trials not yet complete, in the planned order) as one Tune run; `total`
    and `done_before` number the progress lines within the whole experiment."""
    connect(args.local_cpus, args.cpus_per_trial)
    quiet_restore_advice()
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"  # the loggers are given explicitly below
    bundles = trial_bundles(args.cpus_per_trial, args.gpus_per_trial, args.execute_workers)
    trainable = tune.with_resources(run_matrix_trial, tune.PlacementGroupFactory(bundles))
    tuner = tune.Tuner(
        trainable,
        param_space={"flat": tune.grid_search(trials), "context": context.as_dict()},
        tune_config=tune.TuneConfig(
            max_concurrent_trials=args.max_concurrent or None,
            # One worker process runs trial after trial: torch, MLflow and the datasets load once per
            # process, not once per trial (seconds each on a smoke-sized trial).
            reuse_actors=True,
            trial_name_creator=_trial_name,
            trial_dirname_creator=_trial_name,
        ),
        run_config=tune.RunConfig(
            name="tune",
            storage_path=str(experiment_dir),
            failure_config=tune.FailureConfig(max_failures=args.max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            # CSV and JSON results only: Tune's default TensorBoard logger imports torch into the
            # driver (2 s of a 2-core machine's CPU at start-up) for files nobody reads.
            callbacks=[ProgressLines(total or len(trials), done_before), CSVLoggerCallback(), JsonLoggerCallback()],
            verbose=0,
        ),
    )
    grid = tuner.fit()
    outcome = Outcome()
    for result in grid:
        label = trial_label(result.config["flat"]) if result.config else "unknown trial"
        if result.error is not None:
            message = str(result.error).strip().splitlines()
            outcome.failed.append((label, message[-1] if message else type(result.error).__name__))
        else:
            outcome.finished += 1
            outcome.skipped += int(result.metrics.get("skipped", 0))
    sys.stdout.flush()
    return outcome


class NoRestoreAdvice(logging.Filter):
    """Drops Tune's "Resume experiment with: Tuner.restore(...)" warning after an interrupt: an experiment here
    resumes by running the same command again (the driver says so), never through Tuner.restore."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Tuner.restore" not in record.getMessage()


def quiet_restore_advice() -> None:
    """Install NoRestoreAdvice on Tune's logger (once)."""
    tune_logger = logging.getLogger("ray.tune.tune")
    if not any(isinstance(existing, NoRestoreAdvice) for existing in tune_logger.filters):
        tune_logger.addFilter(NoRestoreAdvice())


def trial_bundles(cpus: int, gpus: float, execute_workers: int) -> list[dict[str, float]]:
    """The trial's placement group: its own bundle (CPUs, and a GPU share when gpus > 0), then one CPU
    per execution actor (the episodes run on CPUs, never on the trial's GPU)."""
    head = {"CPU": cpus, **({"GPU": gpus} if gpus > 0 else {})}
    return [head] + [{"CPU": 1}] * execute_workers


def _trial_name(trial) -> str:
    from mopjepa.config import TrialConfig
    from mopjepa.results import split_studies, trial_id

    cfg = TrialConfig.from_flat(split_studies(trial.config["flat"])[0])
    return run_name(cfg, trial_id(cfg))
