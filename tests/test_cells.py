"""The cell abstraction (docs/protocol.md#2-cells)."""

import numpy as np
import pytest
import torch

from mopjepa.data import build_cell_data, load_task_data
from mopjepa.data.cells import (
    Examples,
    build_examples,
    step_cells,
    successor_modes_given_context,
    transition_counts,
)
from mopjepa.data.maze import MazeGeometry, make_env
from mopjepa.data.sampler import BatchSampler


def reference_examples(split, geometry):
    """The protocol's definition, step by step (the slow reference for build_examples)."""
    env = make_env(geometry.env_name).unwrapped
    cells = [geometry.cells_of([env.xy_to_ij(o[:2])])[0] for o in split.observations]
    ends = np.flatnonzero(split.trajectory_end)
    starts = np.concatenate([[0], ends[:-1] + 1])
    rows = []
    for start, end in zip(starts, ends, strict=True):
        for t in range(start, end + 1):
            entry = next((u for u in range(t + 1, end + 1) if cells[u] != cells[t]), None)
            if entry is None:
                continue
            last = entry
            while last + 1 <= end and cells[last + 1] == cells[entry]:
                last += 1
            middle = (entry + last) // 2
            rows.append((t, middle, cells[t], cells[entry], split.actions[t:entry].mean(axis=0)))
    return rows


def test_vectorized_examples_equal_the_reference(small_data_dir):
    task = load_task_data("pointmaze-teleport-navigate-v0", small_data_dir)
    examples = build_examples(task.val, task.geometry)
    rows = reference_examples(task.val, task.geometry)
    assert len(examples) == len(rows)
    observations = task.val.observations
    np.testing.assert_array_equal(examples.context, observations[[r[0] for r in rows]])
    np.testing.assert_array_equal(examples.target, observations[[r[1] for r in rows]])
    np.testing.assert_array_equal(examples.cell, [r[2] for r in rows])
    np.testing.assert_array_equal(examples.next_cell, [r[3] for r in rows])
    np.testing.assert_allclose(examples.action, np.stack([r[4] for r in rows]), atol=1e-5)


def test_vectorized_cells_equal_ogbench_xy_to_ij(small_data_dir):
    task = load_task_data("pointmaze-large-stitch-v0", small_data_dir)
    env = make_env(task.name.env_name).unwrapped
    observations = task.train.observations[::7]
    expected = np.array([env.xy_to_ij(o[:2]) for o in observations])
    np.testing.assert_array_equal(task.geometry.xy_to_ij(observations[:, :2]), expected)
    cells = step_cells(task.train, task.geometry)[::7]
    np.testing.assert_array_equal(task.geometry.free_ij[cells], expected)


@pytest.mark.parametrize("task_name", ["pointmaze-medium-stitch-v0", "pointmaze-teleport-navigate-v0"])
def test_every_observed_transition_is_real(small_data_dir, task_name):
    task = load_task_data(task_name, small_data_dir)
    cells = build_cell_data(task, 0.2, 0.05, np.random.default_rng(0))
    for split in (task.train, task.val):
        observed = transition_counts(split, task.geometry) > 0
        assert observed.sum() > 0
        assert not (observed & ~cells.truth).any()
    examples = cells.examples
    assert cells.truth[examples.cell, examples.next_cell].all()
    assert (examples.cell != examples.next_cell).all()


def test_truth_has_the_maze_moves_and_teleports(small_cells):
    geometry = small_cells.geometry
    for a, b in geometry.neighbour_edges():
        assert small_cells.truth[a, b] and small_cells.truth[b, a]
        i, j = geometry.free_ij[a]
        assert abs(i - geometry.free_ij[b][0]) + abs(j - geometry.free_ij[b][1]) == 1
    teleport_in, teleport_out = (
        geometry.cells_of(geometry.teleport_in),
        geometry.cells_of(geometry.teleport_out),
    )
    assert small_cells.truth[np.ix_(teleport_in, teleport_out)].all()
    assert not small_cells.truth.diagonal().any()


def test_holdout_is_seeded_removes_its_examples_and_stays_true(small_data_dir):
    task = load_task_data("pointmaze-medium-stitch-v0", small_data_dir)
    a = build_cell_data(task, 0.2, 0.05, np.random.default_rng(1))
    b = build_cell_data(task, 0.2, 0.05, np.random.default_rng(1))
    c = build_cell_data(task, 0.2, 0.05, np.random.default_rng(2))
    np.testing.assert_array_equal(a.heldout, b.heldout)
    assert (a.heldout != c.heldout).any()
    pairs = np.unique(np.stack([a.examples.cell, a.examples.next_cell], 1), axis=0)
    assert a.heldout.sum() == round(0.2 * len(pairs))
    train = a.train_examples
    assert not a.heldout[train.cell, train.next_cell].any()
    held = a.examples.subset(~a.train_mask)
    assert len(held) > 0 and a.heldout[held.cell, held.next_cell].all()
    assert a.truth[a.heldout].all()
    assert not (a.trained_pairs & a.heldout).any()


def test_successor_laws_and_standardization(small_cells):
    counts = small_cells.successor_counts
    modes = small_cells.successor_modes
    frequency = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    np.testing.assert_array_equal(modes, frequency >= 0.05)
    assert small_cells.two_step_counts.sum() > 0
    assert small_cells.feature_std.shape == (2,) and (small_cells.feature_std > 1).all()
    np.testing.assert_allclose(
        small_cells.query_observations, small_cells.geometry.ij_to_xy(small_cells.geometry.free_ij)
    )


def test_batch_sampler_is_seeded(small_cells):
    examples = small_cells.train_examples

    def batches(seed):
        generator = torch.Generator().manual_seed(seed)
        sampler = BatchSampler(examples.context, examples.target, 32, generator, action=examples.action)
        return [sampler.sample() for _ in range(3)]

    for (ca, ta, aa), (cb, tb, ab) in zip(batches(0), batches(0), strict=True):
        assert torch.equal(ca, cb) and torch.equal(ta, tb) and torch.equal(aa, ab)
    assert not torch.equal(batches(0)[0][0], batches(1)[0][0])


def branching_examples(step_action: np.ndarray, next_cell: np.ndarray) -> Examples:
    """Examples all in cell 0, with the given step actions and next cells (to_exit: the first axis)."""
    count = len(next_cell)
    zeros = np.zeros((count, 2), dtype=np.float32)
    to_exit = np.tile(np.float32([[1.0, 0.0]]), (count, 1))
    return Examples(zeros, zeros, to_exit, step_action.astype(np.float32), np.zeros(count, int), next_cell)


def test_successor_modes_given_context_counts_modes_per_cell_and_action_sector():
    # Half the exits go east with an east action, half north with a north action: two modes per
    # cell, one once the step action is known; the to_exit actions all point east, so they tell nothing.
    east, north = [1.0, 0.1], [-0.1, 0.9]
    examples = branching_examples(np.array([east] * 30 + [north] * 30), np.array([1] * 30 + [2] * 30))
    assert successor_modes_given_context(examples, "none", 3, 0.05) == 2.0
    assert successor_modes_given_context(examples, "step", 3, 0.05) == 1.0
    assert successor_modes_given_context(examples, "to_exit", 3, 0.05) == 2.0
    # a mode needs the threshold's frequency; a group needs min_examples examples
    rare = branching_examples(np.array([east] * 60), np.array([1] * 58 + [2] * 2))
    assert successor_modes_given_context(rare, "step", 3, 0.05) == 1.0
    assert successor_modes_given_context(rare, "step", 3, 0.01) == 2.0
    assert np.isnan(successor_modes_given_context(rare, "step", 3, 0.05, min_examples=61))


def test_geometry_neighbour_edges_match_a_loop():
    geometry = MazeGeometry.from_env_name("pointmaze-teleport-v0")
    expected = set()
    free = {tuple(ij): n for n, ij in enumerate(geometry.free_ij)}
    for (i, j), n in free.items():
        for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            if (i + di, j + dj) in free:
                expected.add((n, free[(i + di, j + dj)]))
    assert set(map(tuple, geometry.neighbour_edges().tolist())) == expected


@pytest.mark.slow
def test_full_medium_stitch_has_about_two_successor_modes_per_cell(full_data_dir):
    task = load_task_data("pointmaze-medium-stitch-v0", full_data_dir, download=False)
    assert task.train.observations.shape == (5000 * 201, 2)
    cells = build_cell_data(task, 0.2, 0.05, np.random.default_rng(0))
    assert 1.9 <= cells.mean_successor_modes() <= 2.4  # the paper measures 2.1-2.2
    # the step's own action leaves the law branching; the mean action to the exit nearly decides it
    given = {mode: successor_modes_given_context(cells.examples, mode, cells.num_cells, 0.05)
             for mode in ("none", "step", "to_exit")}
    assert given["none"] > given["step"] + 0.3 > given["to_exit"] + 0.5


@pytest.mark.slow
def test_full_teleport_cells_have_the_three_exits_as_modes(full_data_dir):
    task = load_task_data("pointmaze-teleport-navigate-v0", full_data_dir, download=False)
    assert task.train.observations.shape == (1000 * 1001, 2)
    cells = build_cell_data(task, 0.2, 0.05, np.random.default_rng(0))
    exits = set(cells.geometry.cells_of(cells.geometry.teleport_out).tolist())
    for cell in cells.geometry.cells_of(cells.geometry.teleport_in):
        assert exits <= set(np.flatnonzero(cells.successor_modes[cell]).tolist())
