"""File locks of the driver: one driver per experiment directory, one creator of a tracking store.

Both are `flock` locks on a file next to what they guard. The kernel drops such a lock when its
holder exits in any way (SIGKILL included), so a dead holder's lock is simply taken over; the lock
file also records who holds it (host, pid, start time) for the message a second driver prints. A
holder that lets go removes the file (while it still holds it), so a clean finish leaves none.
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

    Raises LockHeld, naming the holder, when another live driver holds it. A driver that ends in any way but a
    kill removes the file; one killed leaves it, with its record, for the next driver to take over."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_NAME
    try:
        fd = _lock(path, blocking=False)
    except _Busy as busy:
        holder = _read_holder(busy.fd)
        os.close(busy.fd)
        raise LockHeld(
            f"experiment {str(directory)!r} is in use by another driver ({describe_holder(holder)}); "
            f"wait for it to end or stop it (Ctrl-C in its terminal, or kill -INT {holder.get('pid', '<pid>')} "
            f"on its host), then rerun; the lock is {path}"
        ) from None
    try:
        previous = _read_holder(fd)
        record = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time(), "command": command}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(record) + "\n").encode())
        os.fsync(fd)
        yield previous
    finally:
        _unlock(path, fd)


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """A blocking exclusive flock on `path` (created if needed, removed after) for the block: e.g. creating a store."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _lock(path, blocking=True)
    try:
        yield
    finally:
        _unlock(path, fd)


class _Busy(Exception):
    """The lock is held by another process; `fd` is open on its file (to read who holds it)."""

    def __init__(self, fd: int):
        super().__init__(fd)
        self.fd = fd


def _lock(path: Path, blocking: bool) -> int:
    """An fd holding an exclusive flock on the file now at `path`. A holder removes the file before it lets go,
    so a lock won on a file no longer at `path` is let go and taken again on the new one."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            raise _Busy(fd) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        held = os.fstat(fd)
        if current is not None and (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
            return fd
        os.close(fd)


def _unlock(path: Path, fd: int) -> None:
    """Remove the lock file while still holding it (no one else can then lock it at that path), then let go."""
    try:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    finally:
        os.close(fd)  # closing drops the flock
