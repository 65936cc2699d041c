"""The evidence: everything the paper's tables, figures and claims are read from, gathered once.

`gather(experiment_dir)` loads the experiment (its complete trials' metrics, curves and episodes, the
trials not complete), selects which trials feed what (mopjepa.analysis.selection), adds the record's
reference ceilings (mopjepa.analysis.references) and the paper's numbers. Every artefact
(mopjepa.analysis.artefacts) and every claim (mopjepa.analysis.claims) is a function of this one object.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mopjepa.analysis.executions import EXECUTIONS_FILE, executed_in
from mopjepa.analysis.load import ExperimentResults, MissingTrial, load_experiment
from mopjepa.analysis.paper import PAPER_TASKS, PaperTables
from mopjepa.analysis.references import REFERENCES_FILE, with_references
from mopjepa.analysis.selection import ConfigGroup, Selection, mdn_grid, select
from mopjepa.analysis.stats import Summary, per_seed, summarize

EMPTY = Summary(pd.Series(dtype=float))
TELEPORT_KEY = "teleport"
"""The metrics key of the teleport exits (coverage of the teleport maze's modes)."""


def load_geometry(task: str):
    """The maze of `task` from OGBench's environment (raises ImportError without ogbench/mujoco)."""
    from mopjepa.data.maze import MazeGeometry
    from mopjepa.data.names import parse_dataset_name

    return MazeGeometry.from_env_name(parse_dataset_name(task).env_name)


@dataclass(frozen=True)
class Evidence:
    """Everything a table, figure or claim reads, gathered once (`gather`)."""

    metrics: pd.DataFrame
    """Every metrics row of the complete trials, with the record's reference ceilings (mopjepa.analysis.references)."""
    selection: Selection
    """Which trials feed which table: each arm's main configuration and each study's configurations."""
    paper: PaperTables
    """The paper's printed numbers."""
    curves: pd.DataFrame | None = None
    """The complete trials' `curves` rows (the protocol's metrics during training); None: not read."""
    episodes: pd.DataFrame | None = None
    """The complete trials' `episodes` rows; None: not read."""
    missing: tuple[MissingTrial, ...] = ()
    """The planned trials that are not complete: a claim that reads one of them is provisional."""
    experiment: ExperimentResults | None = None
    """The experiment directory itself (Fig. 3 reads `outputs`, the branch sweep its own tables)."""
    geometry_loader: Callable[[str], Any] = field(default=load_geometry, compare=False)
    """task -> its maze (MazeGeometry), for the figures drawn on the maze."""

    def summary(self, group: ConfigGroup | None, task: str, metric: str, key: str = "") -> Summary:
        if group is None:
            return EMPTY
        return summarize(self.metrics, group.trial_ids, task, metric, key)

    def main(self, arm: str, task: str, metric: str, key: str = "") -> Summary:
        return self.summary(self.selection.main.get(arm), task, metric, key)

    def best_by_realroute(self, groups: list[ConfigGroup], task: str) -> ConfigGroup | None:
        """The configuration with the highest mean realroute on `task` (None if none measured it)."""
        scored = [(self.summary(g, task, "realroute").mean, g.label, g) for g in groups]
        scored = [item for item in scored if not math.isnan(item[0])]
        return max(scored, key=lambda item: (item[0], item[1]))[2] if scored else None

    def grid_best(self, tasks: list[str] | None = None) -> dict[str, ConfigGroup]:
        """Per task (default: every task the MDN fairness grid ran), the grid configuration with the highest mean
        realroute there, as Table 4 and the `MDN best of grid` reading choose it; tasks it did not measure left out."""
        grid = mdn_grid(self.selection)
        tasks = sorted({t for g in grid for t in g.tasks}) if tasks is None else tasks
        return {task: group for task in tasks if (group := self.best_by_realroute(grid, task)) is not None}

    def seeds(self, arm: str, task: str, metric: str, key: str = "") -> pd.Series:
        group = self.selection.main.get(arm)
        return pd.Series(dtype=float) if group is None else per_seed(self.metrics, group.trial_ids, task, metric, key)

    def executed_in(self, reading: str) -> pd.DataFrame:
        """[trial_id, task, seed, metric, key, value]: the trials executed again under an execution reading from
        their recorded edges (pipelines/record_executions.py); empty where none was."""
        return executed_in(self.experiment.root / EXECUTIONS_FILE if self.experiment else Path("-"), reading)

    def with_metrics(self, replacement: pd.DataFrame) -> Evidence:
        """This evidence with each (trial, metric, key) of `replacement` [trial_id, metric, key, value] in place of
        the recorded row; rows `replacement` does not name stay."""
        metrics = self.metrics.set_index(["trial_id", "metric", "key"])
        new = replacement.set_index(["trial_id", "metric", "key"])["value"]
        common = metrics.index.intersection(new.index)
        metrics.loc[common, "value"] = new.loc[common]
        return dataclasses.replace(self, metrics=metrics.reset_index()[self.metrics.columns])

    def tasks(self, metric: str, key: str = "", paper_tasks: tuple[str, ...] = PAPER_TASKS) -> list[str]:
        """The paper's tasks in its order, then every other task where we measured `metric`[key]."""
        rows = self.metrics[(self.metrics["metric"] == metric) & (self.metrics["key"] == key)]
        ours = sorted(set(rows["task"]) - set(paper_tasks))
        return [*paper_tasks, *ours]


def gather(experiment_dir: Path, paper: PaperTables | None = None,
           geometry_loader: Callable[[str], Any] = load_geometry) -> Evidence:
    """The evidence of one experiment directory (a partial experiment too: its missing trials are listed)."""
    experiment = load_experiment(experiment_dir)
    metrics = with_references(experiment.metrics, experiment.root / REFERENCES_FILE)
    return Evidence(
        metrics, select(experiment.trials()), paper or PaperTables.load(),
        curves=experiment.table("curves", experiment.trial_ids),
        episodes=experiment.table("episodes", experiment.trial_ids),
        missing=tuple(experiment.missing), experiment=experiment, geometry_loader=geometry_loader,
    )
