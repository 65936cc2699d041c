"""Training: the protocol's metrics during training (the `curves` table), one figure per task: plan_all,
realroute_norm, precision, gated cov_r and active outputs vs training step, by arm (main configurations;
mean ± std over seeds).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mopjepa.analysis.evidence import TELEPORT_KEY, Evidence
from mopjepa.analysis.paper import PAPER_ARMS, arm_label, task_label
from mopjepa.analysis.plotting import Figure, save, subplots
from mopjepa.analysis.selection import ConfigGroup
from mopjepa.config.arms import arm_colour

CURVE_PANELS = (("plan_all", ""), ("realroute_norm", ""), ("precision", ""), ("cov_r", None), ("active_outputs", ""))
"""(metric, key) of each panel; cov_r's key is 'teleport' on teleport mazes, else 'branching'."""


def curve_frame(curves: pd.DataFrame, group: ConfigGroup, task: str, metric: str, key: str) -> pd.DataFrame:
    """step -> mean, std, n over the group's seeds."""
    rows = curves[curves["trial_id"].isin(group.trial_ids) & (curves["task"] == task)
                  & (curves["metric"] == metric) & (curves["key"] == key)]
    return rows.groupby("step")["value"].agg(["mean", "std", "count"]).sort_index()


def fig_curves(evidence: Evidence, directory: Path) -> list[Figure]:
    """One figure per task with curves."""
    figures = []
    curves = evidence.curves if evidence.curves is not None else pd.DataFrame(columns=["task"])
    for task in sorted(set(curves["task"])):
        name = f"fig_curves_{task_label(task)}"
        caption = f"The protocol's metrics during training, {task_label(task)} (mean ± std over seeds)"
        arms = [a for a in PAPER_ARMS if a in evidence.selection.main]
        fig, axes = subplots(1, len(CURVE_PANELS), figsize=(3.2 * len(CURVE_PANELS), 3.0), squeeze=False)
        drawn = False
        for ax, (metric, key) in zip(axes[0], CURVE_PANELS, strict=True):
            key = key if key is not None else (TELEPORT_KEY if "teleport" in task else "branching")
            for arm in arms:
                frame = curve_frame(curves, evidence.selection.main[arm], task, metric, key)
                if frame.empty:
                    continue
                drawn = True
                steps, mean, std = frame.index.to_numpy(), frame["mean"].to_numpy(), frame["std"].fillna(0).to_numpy()
                ax.plot(steps, mean, "-o", ms=2.5, color=arm_colour(arm), label=arm_label(arm))
                ax.fill_between(steps, mean - std, mean + std, color=arm_colour(arm), alpha=0.15)
            ax.set_title(metric + (f" [{key}]" if key else ""), fontsize=8)
            ax.set_xlabel("training step", fontsize=7)
            ax.tick_params(labelsize=7)
        if not drawn:
            figures.append(Figure(name, caption, None, "skipped: no curves of any main configuration"))
            continue
        axes[0][0].legend(fontsize=6)
        fig.suptitle(caption, fontsize=9)
        figures.append(Figure(name, caption, save(fig, directory, name)))
    return figures
