"""Claim (g)'s evidence per (seed, task) cell: an execution success moves in steps of one cell, so the claim
reads which cells an arm solves beside the floor, and what a lost cell's episodes did."""

from __future__ import annotations

import pandas as pd

from mopjepa.analysis.evidence import Evidence
from mopjepa.analysis.paper import arm_label, task_label
from mopjepa.config.components import ExecuteConfig
from mopjepa.data.names import LARGE, MEDIUM

TASK_IDS = ("1", "2", "3", "4", "5")
"""The official evaluation tasks of a maze: exec_success, exec_floor and exec_replans are keyed by them."""


def task_cells(evidence: Evidence, arm: str, task: str, metric: str) -> pd.DataFrame:
    """seed x task id -> the arm's per-task value of an execution metric (NaN where not measured)."""
    return pd.DataFrame({tid: evidence.seeds(arm, task, metric, tid) for tid in TASK_IDS})


def task_outcome_evidence(evidence: Evidence, episodes: pd.DataFrame) -> list[str]:
    """Execution read per (seed, task) cell, the unit a success rate is made of: every episode of a task
    plans from the same cell to the same goal, so a graph planner's cell is (nearly) all solved or all failed."""
    lines = []
    for arm in ("mdn", "mop"):
        for task in (MEDIUM, LARGE):
            success, floor = (task_cells(evidence, arm, task, metric) for metric in ("exec_success", "exec_floor"))
            both = success.notna() & floor.notna()
            cells = int(both.to_numpy().sum())
            if not cells:
                continue
            solved, floor_solved = (success >= 0.5) & both, (floor >= 0.5) & both
            losses = solved.lt(floor_solved)
            exact = int((success.isin((0.0, 1.0)) & both).to_numpy().sum())
            line = (f"{arm_label(arm)} {task_label(task)}: solves {int(solved.to_numpy().sum())} of {cells} "
                    f"(seed, task) cells (success >= 0.5), the floor {int(floor_solved.to_numpy().sum())}; "
                    f"{int(solved.gt(floor_solved).to_numpy().sum())} solved where the floor fails, "
                    f"{int(losses.to_numpy().sum())} failed where the floor succeeds")
            dropped = lost_episodes(evidence, episodes, arm, task, losses)["dropped_edges"]
            if len(dropped):
                line += f" (there a failed episode drops {dropped.mean():.1f} edges before the step limit ends it)"
            lines.append(f"{line}; {exact} of {cells} cells are all-or-nothing (success exactly 0 or 1)")
    if lines:
        lines.append("a success rate therefore moves in steps of 1 / (seeds x 5 tasks) and its sample is those cells, "
                     "not the episodes; an edge is dropped after a stall of stall_steps = "
                     f"{stall_steps(evidence)} steps on it, so each dropped edge cost at least that much of "
                     "the episode")
    return lines


def stall_steps(evidence: Evidence) -> str:
    """The stall_steps of the main configurations' executing trials, as they ran ('60', or '30, 60')."""
    ids = {t for group in evidence.selection.main.values() for t in group.trial_ids}
    rows = evidence.metrics[evidence.metrics["trial_id"].isin(ids) & (evidence.metrics["metric"] == "exec_success")]
    values = sorted({int(v) for v in rows.get("stall_steps", pd.Series(dtype=float)).dropna()})
    return ", ".join(map(str, values)) or str(ExecuteConfig.stall_steps)


def lost_episodes(evidence: Evidence, episodes: pd.DataFrame, arm: str, task: str,
                  losses: pd.DataFrame) -> pd.DataFrame:
    """The arm's failed episodes in the (seed, task id) cells marked in `losses` (seed x task id)."""
    group = evidence.selection.main.get(arm)
    if group is None or episodes.empty:
        return pd.DataFrame(columns=["dropped_edges"])
    marked = losses.stack()
    cells = {(int(seed), int(tid)) for seed, tid in marked[marked].index}
    rows = episodes[episodes["trial_id"].isin(group.trial_ids) & (episodes["task"] == task) & ~episodes["success"]]
    return rows[[(int(s), int(t)) in cells for s, t in zip(rows["seed"], rows["task_id"], strict=True)]]
