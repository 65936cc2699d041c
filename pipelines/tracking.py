"""MLflow lineage: one parent run per experiment, one child run per trial.

The driver creates the experiment (with an absolute artifact location) and the parent run before any
trial starts, so concurrent trials never race to create them. Each trial logs its own child run
(params, the training curve, final metrics, tags, artifacts) from its own process; SQLite writes
that collide are retried. A trial that runs again (a retry, a resumed experiment) reuses its child
run, found by its `trial_id` tag, so the UI never shows duplicates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

T = TypeVar("T")

EXPERIMENT_TAG = "mopjepa.experiment"
PARENT_TAG = "mopjepa.parent"


def default_tracking_uri(storage: Path) -> str:
    """sqlite:////abs/<storage>/mlflow.db (four slashes: an absolute path that no trial cwd can change)."""
    return f"sqlite:///{Path(storage).expanduser().resolve() / 'mlflow.db'}"


def retry_locked(action: Callable[[], T], attempts: int = 20, pause: float = 0.25) -> T:
    """Run `action`, retrying while SQLite reports the database locked by another writer."""
    for attempt in range(attempts):
        try:
            return action()
        except Exception as error:  # mlflow wraps sqlalchemy errors in several exception types
            if "locked" not in str(error).lower() or attempt == attempts - 1:
                raise
            time.sleep(pause * (1 + attempt))
    raise AssertionError("unreachable")


class Tracker:
    def __init__(self, tracking_uri: str, experiment_name: str):
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.client = MlflowClient(tracking_uri=tracking_uri)

    # -- driver side ----------------------------------------------------------------------------

    def ensure_experiment(self, artifact_location: Path | None = None) -> str:
        """The experiment's id, creating it (artifacts at an absolute location) if needed."""
        existing = retry_locked(lambda: self.client.get_experiment_by_name(self.experiment_name))
        if existing is not None:
            return existing.experiment_id
        location = None if artifact_location is None else Path(artifact_location).resolve().as_uri()
        return retry_locked(lambda: self.client.create_experiment(self.experiment_name, artifact_location=location))

    def start_parent(self, experiment_id: str, run_name: str, tags: dict[str, str]) -> str:
        """The parent run of this experiment, reused when an interrupted experiment resumes."""
        found = self._search(experiment_id, f"tags.`{PARENT_TAG}` = 'true'")
        if found:
            run_id = found[0].info.run_id
            retry_locked(lambda: self.client.update_run(run_id, status="RUNNING"))
            return run_id
        run = retry_locked(
            lambda: self.client.create_run(experiment_id, run_name=run_name, tags={**tags, PARENT_TAG: "true"})
        )
        return run.info.run_id

    def finish(self, run_id: str, failed: bool = False) -> None:
        retry_locked(lambda: self.client.set_terminated(run_id, "FAILED" if failed else "FINISHED"))

    def log_parent_artifacts(self, run_id: str, directory: Path) -> None:
        retry_locked(lambda: self.client.log_artifacts(run_id, str(directory)))

    # -- trial side -----------------------------------------------------------------------------

    def start_trial(
        self, experiment_id: str, parent_id: str, trial_id: str, run_name: str, tags: dict[str, str]
    ) -> str:
        """The child run of a trial: a new one, or the same one again when the trial reruns."""
        found = self._search(experiment_id, f"tags.trial_id = '{trial_id}'")
        found = [run for run in found if run.data.tags.get(MLFLOW_PARENT_RUN_ID) == parent_id]
        if found:
            run_id = found[0].info.run_id
            retry_locked(lambda: self.client.update_run(run_id, status="RUNNING"))
            return run_id
        all_tags = {**tags, "trial_id": trial_id, MLFLOW_PARENT_RUN_ID: parent_id}
        run = retry_locked(lambda: self.client.create_run(experiment_id, run_name=run_name, tags=all_tags))
        return run.info.run_id

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        items = [Param(key, str(value)) for key, value in sorted(params.items())]
        for start in range(0, len(items), 100):  # MLflow takes at most 100 params per batch
            batch = items[start : start + 100]
            retry_locked(lambda batch=batch: self.client.log_batch(run_id, params=batch))

    def log_metrics(self, run_id: str, values: Iterable[tuple[str, float, int]]) -> None:
        """(key, value, step) triples; non-finite values are skipped (MLflow rejects NaN in some stores)."""
        stamp = int(time.time() * 1000)
        items = [Metric(key, float(value), stamp, int(step)) for key, value, step in values if _finite(value)]
        for start in range(0, len(items), 1000):
            batch = items[start : start + 1000]
            retry_locked(lambda batch=batch: self.client.log_batch(run_id, metrics=batch))

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        items = [RunTag(key, str(value)) for key, value in tags.items()]
        retry_locked(lambda: self.client.log_batch(run_id, tags=items))

    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None = None) -> None:
        retry_locked(lambda: self.client.log_artifact(run_id, str(path), artifact_path))

    def _search(self, experiment_id: str, filter_string: str):
        return retry_locked(
            lambda: self.client.search_runs([experiment_id], filter_string=filter_string, max_results=50)
        )


def _finite(value: float) -> bool:
    try:
        return value == value and abs(value) != float("inf")
    except TypeError:
        return False


def mlflow_version() -> str:
    return mlflow.__version__
