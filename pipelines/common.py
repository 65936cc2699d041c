"""Small helpers shared by the entry points (they may read argv and the environment; the library may not)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

from tqdm import tqdm

DEFAULT_DATASET_DIR = os.environ.get("OGBENCH_DATA_DIR", "~/.ogbench/data")


@contextlib.contextmanager
def tqdm_progress(description: str, unit: str) -> Iterator[Callable[[int, int], None]]:
    """A `progress(done, total)` callback drawing a tqdm bar that only appears once work starts."""
    bar: list[tqdm] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc=description, unit=unit, dynamic_ncols=True))
        bar[0].n = done
        bar[0].refresh()

    try:
        yield update
    finally:
        if bar:
            bar[0].close()
