"""The cell abstraction (docs/protocol.md#2-cells): examples, the real-transition graph, the hold-out, laws.

A trajectory is cut into *visits*: maximal runs of steps in one cell. Every step whose visit has a
next visit in the same trajectory gives one example: context = the step's observation, target = the
observation at the midpoint of the next visit. Laws are counted per visit (one cell exit = one draw
from the successor law), so a visit's length does not weigh its transition.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from mopjepa.data.errors import DataError
from mopjepa.data.maze import MazeGeometry
from mopjepa.data.sources import Split, TaskData


@dataclass(frozen=True)
class Examples:
    context: np.ndarray
    """[E, obs_dim] raw observation s_t."""
    target: np.ndarray
    """[E, obs_dim] raw observation at the midpoint of the next cell visit."""
    action: np.ndarray
    """[E, p] mean action over [t, next-cell entry) (context_action 'to_exit')."""
    step_action: np.ndarray
    """[E, p] the step's own action a_t (context_action 'step', Eq. 1)."""
    cell: np.ndarray
    """[E] cell of s_t."""
    next_cell: np.ndarray
    """[E] cell of the next visit."""

    def subset(self, mask: np.ndarray) -> Examples:
        return Examples(
            *(getattr(self, f.name)[mask] for f in dataclasses.fields(self))
        )

    def __len__(self) -> int:
        return len(self.cell)

    def context_action(self, mode: str) -> np.ndarray | None:
        """[E, p] the action a context of `mode` carries (DataConfig.context_action), None for 'none'."""
        actions = {"none": None, "step": self.step_action, "to_exit": self.action}
        if mode not in actions:
            raise ValueError(f"context_action {mode!r} is not one of {tuple(actions)}")
        return actions[mode]


@dataclass(frozen=True)
class Visits:
    """Maximal same-cell runs of steps, per trajectory."""

    start: np.ndarray
    """[V] first step of each visit."""
    end: np.ndarray
    """[V] last step of each visit (inclusive)."""
    cell: np.ndarray
    """[V] cell of each visit."""
    has_next: np.ndarray
    """[V] the next visit belongs to the same trajectory."""
    has_second: np.ndarray
    """[V] the visit after next belongs to the same trajectory."""
    of_step: np.ndarray
    """[T] visit index of every step."""


def step_cells(split: Split, geometry: MazeGeometry) -> np.ndarray:
    """[T] cell of every step; an error if a trajectory leaves the free cells."""
    cells = geometry.xy_to_cell(split.observations[:, :2])
    outside = np.flatnonzero(cells < 0)
    if len(outside):
        raise DataError(
            f"{len(outside)} steps lie outside the free cells of {geometry.env_name} (first at step "
            f"{outside[0]}, xy={split.observations[outside[0], :2].tolist()}); is this the right dataset?"
        )
    return cells


def find_visits(cells: np.ndarray, trajectory_end: np.ndarray) -> Visits:
    """Vectorized visit segmentation of a split."""
    steps = len(cells)
    trajectory = np.concatenate([[0], np.cumsum(trajectory_end[:-1])])  # [T]
    new_visit = np.ones(steps, dtype=bool)
    new_visit[1:] = (cells[1:] != cells[:-1]) | (trajectory[1:] != trajectory[:-1])
    start = np.flatnonzero(new_visit)  # [V]
    end = np.concatenate([start[1:] - 1, [steps - 1]])
    visit_trajectory = trajectory[start]
    has_next = np.zeros(len(start), dtype=bool)
    has_next[:-1] = visit_trajectory[1:] == visit_trajectory[:-1]
    has_second = np.zeros(len(start), dtype=bool)
    has_second[:-2] = visit_trajectory[2:] == visit_trajectory[:-2]
    return Visits(start, end, cells[start], has_next, has_second, np.cumsum(new_visit) - 1)


def build_examples(split: Split, geometry: MazeGeometry) -> Examples:
    """One example per step that later leaves its cell (docs/protocol.md#2-cells), fully vectorized."""
    visits = find_visits(step_cells(split, geometry), split.trajectory_end)
    visit = visits.of_step  # [T]
    keep = visits.has_next[visit]  # [T] steps whose visit has a next visit
    steps = np.flatnonzero(keep)  # [E]
    next_visit = visit[steps] + 1  # [E]
    entry = visits.start[next_visit]  # [E] first step of the next visit
    middle = (visits.start[next_visit] + visits.end[next_visit]) // 2  # [E]
    cumulative = np.concatenate(
        [np.zeros((1, split.actions.shape[1])), np.cumsum(split.actions, axis=0, dtype=np.float64)]
    )
    mean_action = (cumulative[entry] - cumulative[steps]) / (entry - steps)[:, None]  # [E, p]
    return Examples(
        context=split.observations[steps],
        target=split.observations[middle],
        action=mean_action.astype(np.float32),
        step_action=split.actions[steps].astype(np.float32),
        cell=visits.cell[visit[steps]],
        next_cell=visits.cell[next_visit],
    )


def transition_counts(split: Split, geometry: MazeGeometry, hops: int = 1) -> np.ndarray:
    """[N, N] counts of (cell, cell `hops` visits later) over the visits of a split."""
    visits = find_visits(step_cells(split, geometry), split.trajectory_end)
    valid = visits.has_next if hops == 1 else visits.has_second
    source = np.flatnonzero(valid)
    counts = np.zeros((geometry.num_cells, geometry.num_cells), dtype=np.int64)
    np.add.at(counts, (visits.cell[source], visits.cell[source + hops]), 1)
    return counts


def modes_of(counts: np.ndarray, threshold: float) -> np.ndarray:
    """[N, N] bool: next cells whose empirical frequency from a cell is >= threshold."""
    totals = counts.sum(axis=1, keepdims=True)
    frequency = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=np.float64), where=totals > 0)
    return frequency >= threshold


@dataclass(frozen=True)
class CellData:
    """Everything a trial needs from a task's data, ground truth kept apart for evaluate/."""

    geometry: MazeGeometry
    examples: Examples
    """Every example of the train split (held-out pairs included)."""
    train_mask: np.ndarray
    """[E] examples the model may train on (their pair is not held out)."""
    truth: np.ndarray
    """[N, N] bool real transitions: 4-neighbour moves, teleports, and every observed cell change."""
    heldout: np.ndarray
    """[N, N] bool pairs removed from training (still in truth)."""
    trained_pairs: np.ndarray
    """[N, N] bool observed pairs that remain in training."""
    successor_counts: np.ndarray
    """[N, N] visit counts of (cell -> next cell) over the full dataset (train + val)."""
    two_step_counts: np.ndarray
    """[N, N] visit counts of (cell -> cell two visits ahead)."""
    mode_threshold: float
    feature_mean: np.ndarray
    """[obs_dim] mean of train observations (coordinate features are standardized with it)."""
    feature_std: np.ndarray
    """[obs_dim] std of train observations."""
    query_observations: np.ndarray
    """[N, obs_dim] the observation that queries each cell: its centre, or its mean observation."""

    @property
    def num_cells(self) -> int:
        return self.geometry.num_cells

    @property
    def successor_modes(self) -> np.ndarray:
        return modes_of(self.successor_counts, self.mode_threshold)

    @property
    def two_step_modes(self) -> np.ndarray:
        return modes_of(self.two_step_counts, self.mode_threshold)

    @property
    def train_examples(self) -> Examples:
        return self.examples.subset(self.train_mask)

    def mean_successor_modes(self) -> float:
        """Mean number of successor modes over cells that have any observed exit."""
        visited = self.successor_counts.sum(axis=1) > 0
        return float(self.successor_modes[visited].sum(axis=1).mean())


COMPASS_SECTORS = 8
"""An action's direction is read as one of 8 compass sectors, as compass8 queries it (§4)."""


def successor_modes_given_context(
    examples: Examples, mode: str, num_cells: int, threshold: float, min_examples: int = 20
) -> float:
    """How branching the successor law stays once the context's action is known: the mean number of
    next cells of frequency >= `threshold` given (cell, compass sector of the `mode` action), over the
    groups of at least `min_examples` examples. Mode 'none' groups by the cell alone."""
    action = examples.context_action(mode)
    group = examples.cell.astype(np.int64)  # [E]
    if action is not None:
        sector = np.round(np.arctan2(action[:, 1], action[:, 0]) / (2 * np.pi / COMPASS_SECTORS))
        group = group * COMPASS_SECTORS + sector.astype(np.int64) % COMPASS_SECTORS
    counts = np.zeros((int(group.max(initial=0)) + 1, num_cells), dtype=np.int64)  # [G, N]
    np.add.at(counts, (group, examples.next_cell), 1)
    counts = counts[counts.sum(axis=1) >= min_examples]
    if not len(counts):
        return float("nan")
    return float(modes_of(counts, threshold).sum(axis=1).mean())


def build_cell_data(
    task: TaskData, holdout_fraction: float, mode_threshold: float, rng: np.random.Generator | None
) -> CellData:
    """The cell abstraction of a task; `rng` draws the hold-out (the trial's 'holdout' stream)."""
    geometry = task.geometry
    examples = build_examples(task.train, geometry)
    counts = transition_counts(task.train, geometry) + transition_counts(task.val, geometry)
    two_step = transition_counts(task.train, geometry, hops=2) + transition_counts(task.val, geometry, hops=2)

    truth = counts > 0
    for edges in (geometry.neighbour_edges(), geometry.teleport_edges()):
        truth[edges[:, 0], edges[:, 1]] = True
    np.fill_diagonal(truth, False)

    pairs = np.unique(np.stack([examples.cell, examples.next_cell], axis=1), axis=0)  # [U, 2]
    held_count = int(round(holdout_fraction * len(pairs)))
    held = (
        rng.choice(len(pairs), size=held_count, replace=False) if held_count else np.empty(0, dtype=np.int64)
    )
    heldout = np.zeros_like(truth)
    heldout[pairs[held, 0], pairs[held, 1]] = True
    trained_pairs = np.zeros_like(truth)
    trained_pairs[pairs[:, 0], pairs[:, 1]] = True
    trained_pairs &= ~heldout
    train_mask = ~heldout[examples.cell, examples.next_cell]

    observations = task.train.observations
    return CellData(
        geometry=geometry,
        examples=examples,
        train_mask=train_mask,
        truth=truth,
        heldout=heldout,
        trained_pairs=trained_pairs,
        successor_counts=counts,
        two_step_counts=two_step,
        mode_threshold=mode_threshold,
        feature_mean=observations.mean(axis=0),
        feature_std=observations.std(axis=0) + 1e-6,
        query_observations=query_observations(task.train, geometry),
    )


def query_observations(split: Split, geometry: MazeGeometry) -> np.ndarray:
    """[N, obs_dim] the query of each cell: its centre xy for 2-D agents; for higher-dimensional
    bodies (the ant) the mean train observation in that cell [docs/protocol.md#4-the-blind-graph], falling back to
    the dataset mean with the centre xy for cells the data never visits."""
    centres = geometry.ij_to_xy(geometry.free_ij).astype(np.float32)  # [N, 2]
    observations = split.observations
    if observations.shape[1] == 2:
        return centres
    cells = step_cells(split, geometry)
    sums = np.zeros((geometry.num_cells, observations.shape[1]))
    np.add.at(sums, cells, observations)
    visits = np.bincount(cells, minlength=geometry.num_cells)[:, None]
    fallback = np.concatenate(
        [centres, np.broadcast_to(observations[:, 2:].mean(0), (len(centres), observations.shape[1] - 2))], 1
    )
    return np.where(visits > 0, sums / np.maximum(visits, 1), fallback).astype(np.float32)
