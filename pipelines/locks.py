"""File locks of the driver: one driver per experiment directory, one creator of a tracking store.

Both are `flock` locks on a file next to what they guard. The kernel drops such a lock when its
holder exits in any way (SIGKILL included), so a dead holder's lock is simply taken over; the lock
file also records who holds it (host, pid, start time) for the message a second driver prints.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = "driver.lock"


class LockHeld(RuntimeError):
    """Another live driver holds the experiment's lock."""


def describe_holder(holder: dict) -> str:
    started = holder.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)) if isinstance(started, float) else "?"
    return f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, started {when}"


def _read_holder(fd: int) -> dict:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 4096)
    try:
        holder = json.loads(raw.decode()) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return holder if isinstance(holder, dict) else {}


@contextlib.contextmanager
def experiment_lock(directory: Path, command: str = "") -> Iterator[dict]:
    """Hold <directory>/driver.lock for the block; yields the record of a dead previous holder ({} if none).

    Raises LockHeld, naming the holder, when another live driver holds it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            raise LockHeld(
                f"experiment {str(directory)!r} is in use by another driver ({describe_holder(holder)}); "
                f"wait for it to end or stop it (Ctrl-C in its terminal, or kill -INT {holder.get('pid', '<pid>')} "
                f"on its host), then rerun; the lock is {path}"
            ) from None
        previous = _read_holder(fd)
        record = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time(), "command": command}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(record) + "\n").encode())
        os.fsync(fd)
        try:
            yield previous
        finally:
            os.ftruncate(fd, 0)  # released: the file stays (deleting it would race a driver opening it)
    finally:
        os.close(fd)  # closing drops the flock


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """A blocking exclusive flock on `path` (created if needed) for the block: e.g. creating a store."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
