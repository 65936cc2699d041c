"""The execution floor and ceilings of a (task, seed, execute config), computed once per experiment and shared.

Every arm of one task and seed executes with the same episode seeds, so they share one floor
(mopjepa.execute.floor) and, with the same data and hold-out, one ceiling and one truth success
(mopjepa.execute.references; their keys add the data hash and a digest of the graph). Trials run in
parallel processes, maybe on several nodes: each is a small JSON file under <experiment>/floors/,
named by a hash of its key, made under an exclusive file lock, so the first trial computes it and the
others wait and read it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path


class FloorFileCache:
    """floor_cache(key, compute) for mopjepa.experiment.TrialHooks, kept in `directory`."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def __call__(self, key: str, compute: Callable[[], dict[int, float]]) -> dict[int, float]:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
        with open(path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if path.exists():
                stored = json.loads(path.read_text())
                if stored["key"] != key:
                    raise RuntimeError(f"floor cache {path} holds another key: {stored['key']!r}")
                return {int(task): value for task, value in stored["success"].items()}
            floor = compute()
            temporary = path.with_suffix(".json.tmp")
            temporary.write_text(json.dumps({"key": key, "success": floor}, indent=1) + "\n")
            os.replace(temporary, path)
            return floor
