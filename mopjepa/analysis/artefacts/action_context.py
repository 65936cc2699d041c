"""The action-conditioned reading beside the action-free one: the `action_context` study.

    action_context_table   per maze, context mode and arm: the generalization metrics (mean ± std over
                           seeds), the action-free main configuration's on the same maze as mode 'none',
                           and realroute over the action-free run of the same seed
    action_context_pairs   per maze and context mode: MoP − MDN and MoP − dense realroute and exec_lift,
                           paired by seed, with bootstrap CIs
    fig_action_context_curves  generalization during training: recall_heldout, realroute_norm and precision vs
                           step, per maze, arm and context mode

An action-conditioned graph can hold transitions the model never saw, so its realroute_norm may
exceed 1 and recall_heldout / precision_heldout are its generalization numbers (docs/protocol.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mopjepa.analysis.artefacts.training import curve_frame
from mopjepa.analysis.evidence import TELEPORT_KEY, Evidence
from mopjepa.analysis.executions import GATED
from mopjepa.analysis.paper import MISSING, arm_label, task_label
from mopjepa.analysis.plotting import Figure, save, subplots
from mopjepa.analysis.render import Table
from mopjepa.analysis.selection import ConfigGroup
from mopjepa.analysis.stats import Summary, paired_bootstrap, per_seed
from mopjepa.config.arms import arm_colour

STUDY = "action_context"
ARMS = ("dense", "mdn", "mop", "codebook")
METRICS = (
    ("plan_all", ""),
    ("precision", ""),
    ("realroute", ""),
    ("realroute_norm", ""),
    ("recall_heldout", ""),
    ("precision_heldout", ""),
    ("cov_r", TELEPORT_KEY),
    ("exec_lift", ""),
)
PAIRS = (("MoP", "mop", "MDN", "mdn"), ("MoP", "mop", "dense", "dense"))
CURVE_METRICS = ("recall_heldout", "realroute_norm", "precision")
MODE_STYLES = {"none": ":", "step": "-", "to_exit": "--"}
"""Line style of each context mode in the curves figure (the arm is the colour)."""
"""(label, arm, label, arm) of each paired difference."""
NORM_NOTE = (
    "realroute_norm = realroute / realroute_ceiling, the ceiling being what a model reaches that proposes every "
    "trained transition and no unseen one: above 1 only by proposing held-out transitions that exist, which an "
    "action-conditioned model queried with actions can do and an action-free one cannot."
)


def _rows(evidence: Evidence) -> list[tuple[str, str, str, ConfigGroup]]:
    """(task, context mode, arm, group): the study's groups and, as mode 'none', each arm's main one."""
    rows = []
    for arm in ARMS:
        for group in evidence.selection.study(STUDY, arm):
            rows += [(task, str(group.value("context_action")), arm, group) for task in group.tasks]
        main = evidence.selection.main.get(arm)
        if main is not None:
            rows += [(task, "none", arm, main) for task in {t for t, _, a, _ in rows if a == arm}]
    modes = {"none": 0, "step": 1, "to_exit": 2}
    return sorted(rows, key=lambda r: (r[0], modes.get(r[1], 3), ARMS.index(r[2])))


def _seeds(evidence: Evidence, group: ConfigGroup, task: str, metric: str, key: str = "") -> pd.Series:
    return per_seed(evidence.metrics, group.trial_ids, task, metric, key)


def _data_hashes(evidence: Evidence, group: ConfigGroup, task: str) -> set[str]:
    rows = evidence.metrics[evidence.metrics["trial_id"].isin(group.trial_ids) & (evidence.metrics["task"] == task)]
    return set(rows["data_hash"].dropna())


def _ratio_cell(ours: pd.Series, free: pd.Series) -> str:
    """Mean over the seeds both have of ours / free (finite ratios only)."""
    common = sorted(set(ours.index) & set(free.index))
    ratios = np.array([ours[s] / free[s] if free[s] else np.nan for s in common], dtype=float)
    return Summary(pd.Series(ratios, index=common)).cell(2) if common else MISSING


def action_context_table(evidence: Evidence) -> Table:
    columns = ["task", "context", "arm"] + [m + (f"[{k}]" if k else "") for m, k in METRICS]
    columns += ["exec_lift, gated graph", "realroute / action-free (same seed)"]
    table = Table("action_context",
                  "Action-conditioned world models (c = [z, a], queried with compass8) beside the action-free ones",
                  columns)
    rows = _rows(evidence)
    replanned = evidence.executed_in(GATED)
    mixed = []
    for task, mode, arm, group in rows:
        row = [task_label(task), mode, arm_label(arm)]
        row += [evidence.summary(group, task, metric, key).cell() for metric, key in METRICS]
        row.append(Summary(per_seed(replanned, group.trial_ids, task, "exec_lift")).cell())
        free = evidence.selection.main.get(arm)
        if mode == "none" or free is None:
            row.append(MISSING)
        else:
            ours, theirs = (_seeds(evidence, g, task, "realroute") for g in (group, free))
            row.append(_ratio_cell(ours, theirs))
            if _data_hashes(evidence, group, task) != _data_hashes(evidence, free, task):
                mixed.append(f"{arm} on {task_label(task)} ({mode})")
        table.add(row)
    table.notes += [
        "context none: the arm's action-free main configuration (its cell contexts carry no action); step: the "
        "step's own action a_t (Eq. 1); to_exit: the mean action to the next cell's entry. Action-conditioned "
        "graphs are the union over the 8 compass actions of the graphs gated inside each query (docs/protocol.md).",
        NORM_NOTE,
        "exec_lift = exec_success − exec_floor (execution runs on medium- and large-stitch only), planned in the "
        "raw graph (the protocol's default); exec_lift, gated graph: the same trials executed again in their "
        f"recorded gated graph (pipelines/record_executions.py, the reading {GATED}), the same floor and episode "
        "seeds.",
    ]
    if mixed:
        table.notes.append("Trained on other data than the action-free trials they are read against (another "
                           "data_hash: regenerated on another machine, docs/reproduction.md), so a ratio or "
                           "difference also holds the data's variation: " + "; ".join(mixed) + ".")
    return table


def action_context_pairs(evidence: Evidence) -> Table:
    columns = ["task", "context"] + [f"{first} − {second} {metric}, 95% CI"
                                     for metric in ("realroute", "exec_lift") for first, _, second, _ in PAIRS]
    table = Table("action_context_pairs",
                  "Action-conditioned world models: MoP against MDN and dense, paired by seed", columns)
    groups = {(task, mode, arm): group for task, mode, arm, group in _rows(evidence)}
    for task, mode in dict.fromkeys((task, mode) for task, mode, _ in groups):
        row = [task_label(task), mode]
        for metric in ("realroute", "exec_lift"):
            for _, a, _, b in PAIRS:
                if (task, mode, a) in groups and (task, mode, b) in groups:
                    row.append(paired_bootstrap(_seeds(evidence, groups[task, mode, a], task, metric),
                                                _seeds(evidence, groups[task, mode, b], task, metric)).cell())
                else:
                    row.append(MISSING)
        table.add(row)
    table.notes.append("Mean of the per-seed differences, paired by seed; percentile bootstrap 95% CI over seeds "
                       "(10,000 resamples, generator seed 0); context none: the action-free main configurations.")
    return table


def curve_lines(evidence: Evidence, metric: str) -> list[tuple[str, str, str, pd.DataFrame]]:
    """(task, context mode, arm, step -> mean, std, count) of `metric` for the PAIRS' arms on every maze the
    study has curves on: each mode's line, the action-free main configuration's as mode 'none'."""
    if evidence.curves is None:
        return []
    arms = {arm for _, first, _, second in PAIRS for arm in (first, second)}
    lines = [(task, mode, arm, curve_frame(evidence.curves, group, task, metric, ""))
             for task, mode, arm, group in _rows(evidence) if arm in arms]
    studied = {task for task, mode, _, frame in lines if mode != "none" and not frame.empty}
    return [line for line in lines if line[0] in studied and not line[3].empty]


def fig_action_context_curves(evidence: Evidence, directory: Path) -> Figure:
    """Rows: mazes; columns: CURVE_METRICS; a line per (arm, context mode), mean ± std over seeds. Shows when
    during training a model proposes the held-out transitions it never saw."""
    name = "fig_action_context_curves"
    caption = "Generalization during training: action-conditioned (step, to_exit) and action-free (none) models"
    panels = {metric: curve_lines(evidence, metric) for metric in CURVE_METRICS}
    tasks = sorted({line[0] for lines in panels.values() for line in lines})
    if not tasks:
        return Figure(name, caption, None, "skipped: no curves of the action_context study")
    fig, axes = subplots(len(tasks), len(CURVE_METRICS), figsize=(3.4 * len(CURVE_METRICS), 2.6 * len(tasks)),
                         squeeze=False)
    fig.set_layout_engine("constrained")  # the rows' titles clear the axis labels above them
    for ax_row, task in zip(axes, tasks, strict=True):
        for ax, metric in zip(ax_row, CURVE_METRICS, strict=True):
            for _, mode, arm, frame in (line for line in panels[metric] if line[0] == task):
                steps, mean, std = frame.index.to_numpy(), frame["mean"].to_numpy(), frame["std"].fillna(0).to_numpy()
                label = f"{arm_label(arm)}, {mode} (n={int(frame['count'].max())})"
                ax.plot(steps, mean, MODE_STYLES.get(mode, "-."), marker="o", ms=2, color=arm_colour(arm),
                        label=label)
                ax.fill_between(steps, mean - std, mean + std, color=arm_colour(arm), alpha=0.1)
            ax.set_title(f"{metric}, {task_label(task)}", fontsize=8)
            ax.set_xlabel("training step", fontsize=7)
            ax.tick_params(labelsize=7)
        ax_row[0].legend(fontsize=5)
    fig.suptitle(caption + " (mean ± std over seeds)", fontsize=9)
    return Figure(name, caption, save(fig, directory, name))
