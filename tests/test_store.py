"""The SQLite MLflow store against kills and concurrency: real processes, real SQLite, real migrations.

- a process creating a new store is SIGKILLed during the migration: the store is usable afterwards;
- two processes create the same new store at once: both succeed, one experiment, a usable store;
- a store found broken (interrupted creation, not a database, an old schema) stops the driver with one
  line naming the file and how to recover, never a migration traceback.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from pipelines.tracking import StoreError, Tracker, default_tracking_uri, prepare_store

REPO = Path(__file__).resolve().parents[1]
OPEN = ("from pipelines.tracking import Tracker; "
        "print(Tracker({uri!r}, 'exp').ensure_experiment(), flush=True)")


def _opener(storage: Path) -> subprocess.Popen:
    code = OPEN.format(repo=str(REPO), uri=default_tracking_uri(storage))
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _usable(storage: Path) -> None:
    tracker = Tracker(default_tracking_uri(storage), "exp")
    experiment_id = tracker.ensure_experiment()
    run = tracker.start_parent(experiment_id, "exp", {})
    tracker.log_metrics(run, [("loss", 1.0, 0)])
    tracker.finish(run)
    assert MlflowClient(default_tracking_uri(storage)).get_run(run).info.status == "FINISHED"


def test_a_process_killed_while_creating_the_store_leaves_it_usable(tmp_path):
    rng = random.Random(0)
    for attempt in range(3):
        storage = tmp_path / f"store{attempt}"
        storage.mkdir()
        opener = _opener(storage)
        deadline = time.time() + 120
        # Wait for the creation to start (the store file, or its temporary file), then kill it part-way.
        while opener.poll() is None and time.time() < deadline and not any(storage.glob("*mlflow.db*")):
            time.sleep(0.02)
        time.sleep(rng.uniform(0.2, 1.5))
        if opener.poll() is None:
            os.kill(opener.pid, signal.SIGKILL)
        opener.communicate(timeout=60)
        _usable(storage)


def test_two_processes_creating_the_same_new_store_at_once_both_succeed(tmp_path):
    openers = [_opener(tmp_path) for _ in range(2)]
    outputs = [opener.communicate(timeout=300) for opener in openers]
    for opener, (_, err) in zip(openers, outputs, strict=True):
        assert opener.returncode == 0, err[-3000:]
    assert outputs[0][0] == outputs[1][0]  # the same experiment id
    _usable(tmp_path)


def _incomplete_store(path: Path) -> None:
    """The tables of MLflow's first revision without its migrations: what an interrupted creation leaves."""
    import mlflow.store.tracking.dbmodels.models  # noqa: F401  (registers the tables on Base)
    import sqlalchemy
    from mlflow.store.db.base_sql_model import Base

    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    list(Base.metadata.tables.values())[0].create(engine)
    engine.dispose()


def _old_schema_store(path: Path) -> None:
    from pipelines.tracking import _create_store

    _create_store(path, path.parent / "mlartifacts")  # not prepare_store: that process would trust it from now on
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = '451aebb31d03'")


@pytest.mark.parametrize("breaking, says", [
    (_incomplete_store, "is incomplete"),
    (lambda path: path.write_bytes(b"this is not a database" * 100), "cannot be read"),
    (_old_schema_store, "mlflow db upgrade"),
], ids=["interrupted", "garbage", "old-schema"])
def test_a_broken_store_gives_one_line_naming_the_file_and_the_way_out(tmp_path, breaking, says):
    path = tmp_path / "mlflow.db"
    breaking(path)
    with pytest.raises(StoreError) as caught:
        prepare_store(f"sqlite:///{path}")
    message = str(caught.value)
    assert str(path) in message and says in message and "\n" not in message
    assert f"mv {path} {path}.broken" in message


@pytest.mark.slow
def test_the_driver_reports_a_broken_store_in_one_line_before_any_work(tmp_path, full_data_dir):
    storage = tmp_path / "store"
    storage.mkdir()
    _incomplete_store(storage / "mlflow.db")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run(
        [sys.executable, str(REPO / "pipelines" / "full_matrix.py"), "--preset", "smoke", "--storage", str(storage),
         "--dataset-dir", str(full_data_dir), "--no-download", "--local-cpus", "1"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the MLflow store") and str(storage / "mlflow.db") in last and "mv " in last
