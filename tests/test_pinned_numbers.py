"""Numbers pinned for a seed: no speed-up may change a result (benchmarks/README.md).

The pinned values live in tests/pins/pinned_numbers.json, written by tests/pins/regenerate.py from the
definitions in tests/pins/compute.py (what each pin runs is documented there). The values were first
recorded from the code before any optimization of benchmarks/ (commit 0c22e89) and must keep coming
out of every later version; regenerate them only for a change that is meant to move results, as the
script's docstring says. Pinned:

- training: every arm, the last window's loss terms and parameter checksums; MoP at the default sizes;
- same seed, same bits: two runs in one process give bitwise identical parameters;
- graph proposal + the protocol metrics, and executor episodes: exact;
- whole trials (`run_trial`) on small data, training to execution, one of them with successful episodes.

Tolerance of the training pins: relative 1e-5. BLAS kernels do not fix the order of float sums:
running the heads through the per-head reference loop instead of the batched matmuls (same maths,
other summation order, what another CPU's kernels do) moves the pinned numbers by < 4e-7 relative
(at most 2.6e-7 for mop, 1.0e-7 at the default sizes, 4e-7 for mdn); 1 vs 2 threads moves none of them
here. A real change moves them far more: a learning rate 0.1% off moves the largest by 1.8e-3.
Exact pins (graph, metrics, episodes, counts) use relative 1e-12.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.pins import compute

TRAIN_RTOL = 1e-5
EXACT_RTOL = 1e-12
PINS = json.loads((Path(__file__).parent / "pins" / "pinned_numbers.json").read_text())


def assert_pinned(got: dict[str, float], pinned: dict[str, float], rtol: float) -> None:
    assert set(got) == set(pinned), sorted(set(got) ^ set(pinned))
    bad = {k: (got[k], pinned[k]) for k in pinned if not np.isclose(got[k], pinned[k], rtol=rtol, atol=1e-9)}
    assert not bad, f"pinned numbers moved (got, pinned): {bad}"


def assert_pinned_with_nans(got: dict[str, float], pinned: dict[str, float], rtol: float) -> None:
    """NaN where the pin has NaN (and nowhere else), every other value within rtol."""
    nan = {k for k, v in got.items() if np.isnan(v)}
    assert nan == {k for k, v in pinned.items() if np.isnan(v)}
    assert_pinned({k: v for k, v in got.items() if k not in nan}, {k: v for k, v in pinned.items() if k not in nan},
                  rtol)


def test_the_pins_cover_every_definition():
    assert set(PINS["training"]) == set(compute.ARMS)
    assert set(PINS["episodes"]) == set(compute.EXECUTOR_ENVS)
    assert set(PINS["trials"]) == set(compute.TRIALS)


@pytest.mark.parametrize("name", sorted(compute.ARMS))
def test_training_numbers_are_pinned(name):
    assert_pinned(compute.train_pins(name), PINS["training"][name], TRAIN_RTOL)


def test_default_size_mop_numbers_are_pinned():
    assert_pinned(compute.default_size_pins(), PINS["default_size"], TRAIN_RTOL)


@pytest.mark.parametrize("name", ["mop", "dense"])
def test_same_seed_gives_the_same_bits(name):
    flat = compute.DEFAULT_SIZE if name == "mop" else {**compute.SMALL, **compute.ARMS[name]}
    (first, model_a), (again, model_b) = compute.train_numbers(name, flat), compute.train_numbers(name, flat)
    assert first == again
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)


def test_graph_metrics_are_pinned(small_cells):
    assert_pinned_with_nans(compute.metric_pins(small_cells), PINS["metrics"], EXACT_RTOL)


@pytest.mark.parametrize("env_name", compute.EXECUTOR_ENVS)
def test_executor_episodes_are_pinned(env_name):
    assert compute.executor_records(env_name) == [tuple(r) for r in PINS["episodes"][env_name]]


@pytest.mark.parametrize("name", sorted(compute.TRIALS))
def test_a_whole_trial_is_pinned(small_data_dir, name):
    got = compute.trial_numbers(small_data_dir, compute.TRIALS[name])
    pinned = dict(PINS["trials"][name])
    assert_pinned({"train/loss": got.pop("train/loss")}, {"train/loss": pinned.pop("train/loss")}, TRAIN_RTOL)
    assert_pinned_with_nans(got, pinned, EXACT_RTOL)


def test_the_medium_stitch_trial_pins_successful_episodes():
    """The whole-trial pins must pin execution behaviour, not only failures at the step limit."""
    numbers = PINS["trials"]["medium-stitch"]
    assert numbers["exec_success|"] > 0
    assert numbers["episode_planned_successes"] > 0, "no episode succeeds by a planned route"
    assert numbers["episode_successes"] > numbers["episode_planned_successes"], "no fallback success pinned"
    assert numbers["episode_replans"] > 0
