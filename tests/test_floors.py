"""The matrix's execution-floor cache: one computation per (task, seed, execute config), shared by
every trial process that asks for it."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from pipelines.floors import FloorFileCache


def ask(directory: str, key: str, log: str) -> dict[int, float]:
    def compute() -> dict[int, float]:
        with open(log, "a") as handle:
            handle.write("computed\n")
        time.sleep(0.5)  # long enough for the other process to be waiting on the lock
        return {1: 0.5, 2: 0.0}

    return FloorFileCache(Path(directory))(key, compute)


def test_concurrent_trials_compute_a_floor_once_and_read_the_same_values(tmp_path):
    log = tmp_path / "log.txt"
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        results = pool.starmap(ask, [(str(tmp_path / "floors"), "key-a", str(log))] * 2)
    assert results == [{1: 0.5, 2: 0.0}] * 2
    assert log.read_text() == "computed\n"
    assert ask(str(tmp_path / "floors"), "key-b", str(log)) == {1: 0.5, 2: 0.0}
    assert log.read_text() == "computed\ncomputed\n"  # another key is another floor


def test_a_cache_file_holding_another_key_is_an_error(tmp_path):
    cache = FloorFileCache(tmp_path)
    cache("key-a", lambda: {1: 1.0})
    stored = next(tmp_path.glob("*.json"))
    stored.write_text(stored.read_text().replace("key-a", "key-z"))
    with pytest.raises(RuntimeError, match="holds another key"):
        cache("key-a", lambda: {1: 1.0})
