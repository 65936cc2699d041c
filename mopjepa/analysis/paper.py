"""The paper's reference numbers (`paper_tables.csv`, shipped with this package) and their cells.

Columns: table, metric, task, arm, mean, std, note. A row with no mean carries its value as text in
`note` (the paper's bootstrap CIs, Table 6's qualitative columns); task is empty for rows that hold
for every maze. Metric names are the paper's: gated coverage is `cov_r_gated` there and `cov_r`
in our metrics (see PAPER_METRIC).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from mopjepa.config.arms import PAPER_ARMS, arm_label  # noqa: F401 (the tables import them from here)
from mopjepa.data.names import PAPER_TASKS  # noqa: F401 (the paper's three mazes, in its column order)

MISSING = "—"
"""What an empty cell shows: a value that was not measured (ours) or not published (paper)."""




def table_arms(measured: Iterable[str]) -> list[str]:
    """The paper's arms in its row order, then every other arm we measured (a new arm gets a row)."""
    return [*PAPER_ARMS, *sorted(set(measured) - set(PAPER_ARMS))]


PAPER_METRIC = {"cov_r": "cov_r_gated"}
"""Our metric name -> the paper CSV's name, where they differ."""


def task_label(task: str) -> str:
    """'pointmaze-medium-stitch-v0' -> 'medium-stitch'; other agents keep their prefix."""
    name = task.removeprefix("pointmaze-")
    head, _, version = name.rpartition("-v")
    return head if head and version.isdigit() else name


@dataclass(frozen=True)
class PaperValue:
    mean: float
    std: float
    note: str
    text: str
    """The number as the paper prints it ('0.27', '0.851 ± 0.08'): no digits added or dropped."""

    def cell(self) -> str:
        """The paper's number as printed, or the note's text when the paper gives no number."""
        return self.text if self.text else (self.note or MISSING)


def _number(text: str) -> float:
    return float(text) if text else math.nan


class PaperTables:
    """Look-ups into the paper's reference numbers."""

    def __init__(self, frame: pd.DataFrame):
        required = {"table", "metric", "task", "arm", "mean", "std", "note"}
        if not required <= set(frame.columns):
            raise ValueError(f"paper tables need columns {sorted(required)}; got {list(frame.columns)}")
        self.frame = frame.fillna("").astype(str)

    @classmethod
    def load(cls, path: Path | None = None) -> PaperTables:
        if path is None:
            with resources.files("mopjepa.analysis").joinpath("paper_tables.csv").open() as handle:
                return cls(pd.read_csv(handle, dtype=str, keep_default_na=False))
        return cls(pd.read_csv(path, dtype=str, keep_default_na=False))

    def get(self, tables: tuple[str, ...] | str, metric: str, task: str, arm: str) -> PaperValue | None:
        """The first matching row over `tables` in order (task '' in the CSV matches any task)."""
        metric = PAPER_METRIC.get(metric, metric)
        for table in (tables,) if isinstance(tables, str) else tables:
            rows = self.frame[
                (self.frame["table"] == table)
                & (self.frame["metric"] == metric)
                & (self.frame["arm"] == arm)
                & ((self.frame["task"] == task) | (self.frame["task"] == ""))
            ]
            if len(rows):
                row = rows.iloc[0]
                text = row["mean"] + (f" ± {row['std']}" if row["mean"] and row["std"] else "")
                return PaperValue(_number(row["mean"]), _number(row["std"]), row["note"], text)
        return None

    def cell(self, tables: tuple[str, ...] | str, metric: str, task: str, arm: str) -> str:
        value = self.get(tables, metric, task, arm)
        return MISSING if value is None else value.cell()

    def arms(self, table: str, metric: str) -> list[str]:
        """Arms the paper reports for (table, metric), in CSV order."""
        rows = self.frame[(self.frame["table"] == table) & (self.frame["metric"] == metric)]
        return list(dict.fromkeys(rows["arm"]))


def ours_vs_paper_columns(first: str, labels: list[str]) -> list[str]:
    """[first, '<label> (ours)', '<label> (paper)', ...]: each of our columns beside the paper's."""
    columns = [first]
    for label in labels:
        columns += [f"{label} (ours)", f"{label} (paper)"]
    return columns
