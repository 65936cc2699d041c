"""Explicit randomness: one seed per trial, generators passed down, no global seeding.

Streams are derived with numpy's SeedSequence so that, e.g., the hold-out split and the batch order
of a trial are independent of each other and of how many other streams a stage draws.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import TypeVar

import numpy as np

T = TypeVar("T")

STREAMS = ("holdout", "init", "batches", "shuffle", "episodes", "samples", "task", "curves", "diagnostics")
"""Append only: a stream's seed depends on its index, so reordering would change every trial."""


def stream_seed(seed: int, stream: str, *extra: int) -> int:
    """A 63-bit integer seed for one named stream of a trial (and optional sub-indices)."""
    if stream not in STREAMS:
        raise ValueError(f"unknown random stream {stream!r}; known: {STREAMS}")
    sequence = np.random.SeedSequence([seed, STREAMS.index(stream), *extra])
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def numpy_rng(seed: int, stream: str, *extra: int) -> np.random.Generator:
    return np.random.default_rng(stream_seed(seed, stream, *extra))


def torch_generator(seed: int, stream: str, *extra: int):
    import torch  # local: the data and analysis layers must not need torch

    generator = torch.Generator()
    generator.manual_seed(stream_seed(seed, stream, *extra))
    return generator


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Torch's intra-op thread count set to `count` for the block, the previous count restored after.

    The count is part of what a trial computes (it fixes the floating-point reduction order), so
    every entry point runs a trial under its config's `train.threads`, never under the machine's default."""
    import torch  # local: the data and analysis layers must not need torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def trial_threads(function: Callable[..., T]) -> Callable[..., T]:
    """Decorate `function(cfg, ...)` to run under `torch_threads(cfg.train.threads)`."""

    @functools.wraps(function)
    def wrapper(cfg, *args, **kwargs):
        with torch_threads(cfg.train.threads):
            return function(cfg, *args, **kwargs)

    return wrapper
