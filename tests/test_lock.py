"""The experiment lock with real processes: a live holder is named, a killed holder's lock is taken over."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.locks import LockHeld, experiment_lock

REPO = Path(__file__).resolve().parents[1]
HOLD = ("import time; from pipelines.locks import experiment_lock\n"
        "with experiment_lock({path!r}, 'holder'):\n    print('held', flush=True); time.sleep(600)")


def _holder(directory: Path) -> subprocess.Popen:
    code = HOLD.format(repo=str(REPO), path=str(directory))
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_live_holder_is_refused_by_name_and_a_killed_one_is_taken_over(tmp_path):
    holder = _holder(tmp_path)
    try:
        with pytest.raises(LockHeld) as refused, experiment_lock(tmp_path):
            pass
        message = str(refused.value)
        assert f"pid {holder.pid} on host {socket.gethostname()}, started {time.strftime('%Y')}" in message
        assert "kill -INT" in message and "\n" not in message
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # no clean-up runs: the lock file still names it
        holder.wait()
    with experiment_lock(tmp_path) as previous:
        assert previous["pid"] == holder.pid and previous["command"] == "holder"
        with pytest.raises(LockHeld):  # held by this process now, against any other opener
            with experiment_lock(tmp_path):
                pass
    with experiment_lock(tmp_path) as previous:
        assert previous == {}  # released cleanly: nothing to take over


def test_a_lock_let_go_cleanly_leaves_no_file(tmp_path):
    from pipelines.locks import LOCK_NAME, exclusive

    with experiment_lock(tmp_path, "first"):
        assert (tmp_path / LOCK_NAME).exists()
    assert not (tmp_path / LOCK_NAME).exists()
    with exclusive(tmp_path / "mlflow.db.lock"):
        assert (tmp_path / "mlflow.db.lock").exists()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError), experiment_lock(tmp_path):  # an error inside lets go and removes it too
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
