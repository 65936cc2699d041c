"""The ground truth a proposed graph is checked against, as plain arrays (the only door for it).

`Truth.from_cell_data` is where CellData's truth enters the evaluator; every metric below takes
these arrays, so a metric can be tested on a hand-made truth of any size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mopjepa.data.cells import CellData


@dataclass(frozen=True)
class Truth:
    truth: np.ndarray
    """[N, N] bool real transitions (no self-loops)."""
    heldout: np.ndarray
    """[N, N] bool pairs held out of training (a subset of truth)."""
    trained_pairs: np.ndarray
    """[N, N] bool observed pairs the model trained on."""
    successor_modes: np.ndarray
    """[N, N] bool next cells of frequency >= the mode threshold."""
    two_step_modes: np.ndarray
    """[N, N] bool cells two visits ahead of frequency >= the mode threshold."""
    tasks: np.ndarray
    """[T, 2] int (start cell, goal cell) of the official evaluation tasks."""
    teleport_in: np.ndarray
    """[I] int teleport-in cells (empty without teleports)."""
    teleport_out: np.ndarray
    """[O] int teleport-out cells, the global exits (empty without teleports)."""
    two_step_counts: np.ndarray | None = None
    """[N, N] int visit counts (cell -> cell two visits ahead): the empirical two-step branch
    frequencies of Fig. 2's beliefs; optional (None: no belief rows)."""

    def __post_init__(self):
        num_cells = self.truth.shape[0]
        if self.two_step_counts is not None and (
            self.two_step_counts.shape != (num_cells, num_cells) or (self.two_step_counts < 0).any()
        ):
            raise ValueError(f"Truth.two_step_counts must be [N, N] counts >= 0 with N = {num_cells}; "
                             f"got {self.two_step_counts.shape}")
        for name in ("truth", "heldout", "trained_pairs", "successor_modes", "two_step_modes"):
            value = getattr(self, name)
            if value.shape != (num_cells, num_cells) or value.dtype != bool:
                raise ValueError(f"Truth.{name} must be a [N, N] bool array with N = {num_cells}; "
                                 f"got {value.dtype} {value.shape}")
        if np.diagonal(self.truth).any():
            raise ValueError("Truth.truth has self-loops; real transitions are cell changes")
        if (self.heldout & ~self.truth).any():
            raise ValueError("Truth.heldout has pairs that are not real transitions")
        if self.tasks.ndim != 2 or self.tasks.shape[1] != 2:
            raise ValueError(f"Truth.tasks must be [T, 2]; got {self.tasks.shape}")
        for name in ("tasks", "teleport_in", "teleport_out"):
            cells = getattr(self, name)
            if cells.size and (cells.min() < 0 or cells.max() >= num_cells):
                raise ValueError(f"Truth.{name} holds cells outside [0, {num_cells}): {cells.tolist()}")
        if (len(self.teleport_in) == 0) != (len(self.teleport_out) == 0):
            raise ValueError("Truth.teleport_in and teleport_out must be both empty or both non-empty")

    @property
    def num_cells(self) -> int:
        return self.truth.shape[0]

    @property
    def has_teleports(self) -> bool:
        return len(self.teleport_in) > 0

    @classmethod
    def from_cell_data(cls, cells: CellData) -> Truth:
        geometry = cells.geometry
        tasks = [geometry.cells_of([start, goal]) for start, goal in geometry.tasks]
        return cls(
            truth=cells.truth.copy(),
            heldout=cells.heldout.copy(),
            trained_pairs=cells.trained_pairs.copy(),
            successor_modes=cells.successor_modes,
            two_step_modes=cells.two_step_modes,
            tasks=np.asarray(tasks, dtype=np.int64).reshape(-1, 2),
            teleport_in=geometry.cells_of(geometry.teleport_in) if geometry.teleport_in else _no_cells(),
            teleport_out=geometry.cells_of(geometry.teleport_out) if geometry.teleport_out else _no_cells(),
            two_step_counts=cells.two_step_counts.copy(),
        )


def _no_cells() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)
