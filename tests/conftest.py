"""Shared fixtures. Nothing here downloads: every dataset is regenerated offline with OGBench's recipe."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mopjepa.data import build_cell_data, load_task_data
from mopjepa.data.names import parse_dataset_name
from mopjepa.data.sources import regenerate_to_cache

MAIN_TASKS = ("pointmaze-medium-stitch-v0", "pointmaze-large-stitch-v0", "pointmaze-teleport-navigate-v0")


def full_dataset_dir() -> Path:
    """Full-size regenerated datasets, shared by every test and kept between runs (a few minutes to make)."""
    return Path(os.environ.get("MOPJEPA_TEST_DATASET_DIR", "~/.cache/mopjepa/test-data")).expanduser()


@pytest.fixture
def one_thread():
    """Single-threaded torch for a test (fast and stable on a shared 2-core machine); restored afterwards."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def full_data_dir() -> Path:
    return full_dataset_dir()


def make_small_datasets(directory: Path) -> Path:
    """Small regenerated datasets (30 train episodes) of the main tasks in `directory` (tests/pins uses it too)."""
    for task in MAIN_TASKS:
        regenerate_to_cache(parse_dataset_name(task), directory, seed=0, workers=1, num_episodes=30)
    return directory


def small_cell_data(data_dir: Path):
    """CellData of the small pointmaze-teleport-navigate-v0 data in `data_dir`."""
    task = load_task_data("pointmaze-teleport-navigate-v0", data_dir)
    return build_cell_data(task, 0.2, 0.05, np.random.default_rng(0))


@pytest.fixture(scope="session")
def small_data_dir(tmp_path_factory) -> Path:
    """Small regenerated datasets (30 train episodes) of the main tasks, for fast tests."""
    return make_small_datasets(tmp_path_factory.mktemp("ogbench-small"))


@pytest.fixture(scope="session")
def small_cells(small_data_dir):
    """CellData of small pointmaze-teleport-navigate-v0 data."""
    return small_cell_data(small_data_dir)
