"""MLflow lineage: one parent run per experiment, one child run per trial.

The driver creates the experiment (with an absolute artifact location) and the parent run before any
trial starts, so concurrent trials never race to create them. Each trial logs its own child run
(params, the training curve, final metrics, tags, artifacts) from its own process; SQLite writes
that collide are retried. A trial that runs again (a retry, a resumed experiment) reuses its child
run, found by its `trial_id` tag, so the UI never shows duplicates, and it logs only the metric
entries (key, step) that run does not hold yet, so a rerun never duplicates its training curve.

A new SQLite store is created and migrated as a temporary file under a file lock and then renamed
into place (`prepare_store`): a driver killed during the migration, or two drivers starting at once,
can never leave a half-migrated `mlflow.db`. A store found broken anyway is reported in one line that
names the file and how to recover.
"""

from __future__ import annotations

import os
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
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
"""MLflow 3.x opens an experiment on its GenAI overview unless told it is classic ML."""
EXPERIMENT_KIND = "custom_model_development"
NOTE_TAG = "mlflow.note.content"
"""The experiment's description in the UI."""


class StoreError(RuntimeError):
    """The tracking store cannot be used; the message names the file and how to recover."""


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a sqlite:/// URI, else None (a server, a database elsewhere)."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return None
    return Path(tracking_uri[len(prefix):].split("?", 1)[0])


def prepare_store(tracking_uri: str) -> None:
    """Make sure a sqlite store exists, fully migrated: created atomically if new, checked if not.

    Under an exclusive lock on <db>.lock: a new store is created and migrated as <.db.PID.tmp> and
    renamed into place; an existing one must have every table at MLflow's current schema revision,
    else StoreError (nothing is modified). Other URIs (a tracking server) are left to the server."""
    from pipelines.locks import exclusive

    path = sqlite_path(tracking_uri)
    if path is None:
        return
    path = path.expanduser().resolve()
    if path in _READY_STORES:
        return
    with exclusive(path.with_name(path.name + ".lock")):
        for stale in path.parent.glob(f".{path.name}.*.tmp*"):  # from creators that were killed
            stale.unlink(missing_ok=True)
        if path.exists():
            check_store(path)
        else:
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            try:
                _create_store(temporary, path.parent / "mlartifacts")
                os.replace(temporary, path)
            except Exception as error:  # sqlite3/sqlalchemy errors, OSError: e.g. the disk is full
                for leftover in path.parent.glob(f"{temporary.name}*"):  # the file and its journal
                    leftover.unlink(missing_ok=True)
                raise StoreError(f"the MLflow store {path} cannot be created ({_first_line(error)}); nothing was "
                                 f"kept: free space in {path.parent} (or pass --tracking-uri elsewhere) and rerun") \
                    from None
    _READY_STORES.add(path)


_READY_STORES: set[Path] = set()
"""Stores this process has created or checked (a worker running trial after trial checks once)."""


def _create_store(path: Path, artifacts: Path) -> None:
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(f"sqlite:///{path}", artifacts.resolve().as_uri())  # creates and migrates
    store.engine.dispose()
    if getattr(store, "read_engine", None) is not None:
        store.read_engine.dispose()


def _first_line(error: BaseException) -> str:
    """The first line of an error's message without SQLAlchemy's '(Background on this error ...)' notes."""
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def check_store(path: Path) -> None:
    """StoreError unless `path` is a sqlite MLflow store with all its tables at the current revision."""
    import sqlalchemy
    from mlflow.store.db import utils

    recover = (f"move it aside (mv {path} {path}.broken) and rerun to start a new store, or pass another "
               "--tracking-uri; the Parquet results are not affected")
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    try:
        if not utils._all_tables_exist(engine):
            raise StoreError(f"the MLflow store {path} is incomplete (a creation or migration was interrupted): "
                             + recover)
        found, expected = utils._get_schema_version(engine), utils._get_latest_schema_revision()
    except StoreError:
        raise
    except Exception as error:  # sqlite3.DatabaseError (not a database), sqlalchemy errors
        raise StoreError(f"the MLflow store {path} cannot be read ({_first_line(error)}): {recover}") from None
    finally:
        engine.dispose()
    if found != expected:
        raise StoreError(
            f"the MLflow store {path} has schema revision {found}, this MLflow ({mlflow.__version__}) needs "
            f"{expected}: back it up and run `mlflow db upgrade sqlite:///{path}`, or {recover}"
        )


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
        prepare_store(tracking_uri)  # before MLflow's client, which would create and migrate it in place
        self.client = MlflowClient(tracking_uri=tracking_uri)

    # -- driver side ----------------------------------------------------------------------------

    def ensure_experiment(self, artifact_location: Path | None = None, note: str = "") -> str:
        """The experiment's id, creating it (artifacts at an absolute location) if needed; the store first
        (see `prepare_store`). Tags it as classic ML (MLflow's UI then opens on its runs) with `note` as its
        description."""
        existing = retry_locked(lambda: self.client.get_experiment_by_name(self.experiment_name))
        if existing is not None:
            experiment_id = existing.experiment_id
        else:
            location = None if artifact_location is None else Path(artifact_location).resolve().as_uri()
            experiment_id = retry_locked(
                lambda: self.client.create_experiment(self.experiment_name, artifact_location=location)
            )
        tags = {EXPERIMENT_KIND_TAG: EXPERIMENT_KIND, **({NOTE_TAG: note} if note else {})}
        for key, value in tags.items():
            retry_locked(lambda key=key, value=value: self.client.set_experiment_tag(experiment_id, key, value))
        return experiment_id

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

    def finish(self, run_id: str, failed: bool = False, status: str | None = None) -> None:
        """End a run: FINISHED, FAILED (failed=True) or the given status (e.g. KILLED)."""
        final = status or ("FAILED" if failed else "FINISHED")
        retry_locked(lambda: self.client.set_terminated(run_id, final))

    def kill_running_children(self, experiment_id: str, parent_id: str) -> int:
        """Mark KILLED the child runs still RUNNING (their trials were stopped); returns how many."""
        running = self._search(
            experiment_id, f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent_id}' and attributes.status = 'RUNNING'", 5000
        )
        for run in running:
            self.finish(run.info.run_id, status="KILLED")
        return len(running)

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
        """(key, value, step) triples; non-finite values are skipped (MLflow rejects NaN in some stores), and
        so are the (key, step) entries the run already holds (a trial that runs again logs each once)."""
        stamp = int(time.time() * 1000)
        logged = self._logged_steps(run_id)
        items = [
            Metric(key, float(value), stamp, int(step))
            for key, value, step in values
            if _finite(value) and (key, int(step)) not in logged
        ]
        for start in range(0, len(items), 1000):
            batch = items[start : start + 1000]
            retry_locked(lambda batch=batch: self.client.log_batch(run_id, metrics=batch))

    def _logged_steps(self, run_id: str) -> set[tuple[str, int]]:
        keys = retry_locked(lambda: self.client.get_run(run_id)).data.metrics
        steps = set()
        for key in keys:
            history = retry_locked(lambda key=key: self.client.get_metric_history(run_id, key))
            steps |= {(key, int(metric.step)) for metric in history}
        return steps

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        items = [RunTag(key, str(value)) for key, value in tags.items()]
        retry_locked(lambda: self.client.log_batch(run_id, tags=items))

    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None = None) -> None:
        retry_locked(lambda: self.client.log_artifact(run_id, str(path), artifact_path))

    def _search(self, experiment_id: str, filter_string: str, max_results: int = 50):
        return retry_locked(
            lambda: self.client.search_runs([experiment_id], filter_string=filter_string, max_results=max_results)
        )


def _finite(value: float) -> bool:
    try:
        return value == value and abs(value) != float("inf")
    except TypeError:
        return False


def mlflow_version() -> str:
    return mlflow.__version__
