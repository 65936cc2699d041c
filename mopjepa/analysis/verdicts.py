"""What a verdict is read against: execution over its floor, the protocol's metrics during training
(the `curves` table) and the MDN's softness (precision and realroute against responsibility sharpness).

    fig_execution   success per arm and task (each seed a dot) between the floor it must beat, the ceiling and
                    the truth; the lift, the gain and the fallback fraction
    fig_curves      per task: plan_all, realroute_norm, precision, gated cov_r and active outputs vs
                    training step, by arm (main configurations; mean ± std over seeds)
    softness_table  the mdn_softness study: MDN at fixed sigmas and learned, MoP alongside
    fig_softness    their precision and realroute against mdn_resp_max (mean largest responsibility)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from mopjepa.analysis.figures import COLORS, Figure, _save, plt
from mopjepa.analysis.paper import MISSING, PAPER_ARMS, arm_label, task_label
from mopjepa.analysis.render import Table
from mopjepa.analysis.selection import ConfigGroup
from mopjepa.analysis.tables import TELEPORT_KEY, Inputs

EXECUTION_ARMS = ("dense", "m3", "var", "mdn", "mop", "codebook")


REFERENCE_LINES = (("exec_truth", "g-", 1.5, "truth"), ("exec_ceiling", "b:", 3.0, "ceiling"),
                   ("exec_floor", "k--", 1.2, "floor"))
"""(metric, style, width, label) of the lines an arm's success is read between (a ceiling at the floor shows
as the floor's dashes over the ceiling's wider dots)."""


def fig_execution(inputs: Inputs, directory: Path) -> Figure:
    name = "fig_execution_lift"
    caption = ("Execution: success (bars) between the empty-graph floor (dashed), the ceiling (dotted: real graph "
               "less the hold-out) and the truth (solid: full real graph); lift = success − floor, gain, fallback")
    tasks = [t for t in inputs.tasks("exec_floor") if any(len(inputs.seeds(a, t, "exec_floor")) for a in PAPER_ARMS)]
    if not tasks:
        return Figure(name, caption, None, "skipped: no trial executed with its floor (exec_floor)")
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.8 * len(tasks), 3.9), squeeze=False, sharey=True)
    for ax, task in zip(axes[0], tasks, strict=True):
        arms = [a for a in EXECUTION_ARMS if len(inputs.seeds(a, task, "exec_floor"))]
        for x, arm in enumerate(arms):
            success = inputs.main(arm, task, "exec_success")
            lift, gain = inputs.main(arm, task, "exec_lift"), inputs.main(arm, task, "exec_gain")
            fallback = inputs.main(arm, task, "exec_fallback")
            ax.bar(x, success.mean, 0.7, color=COLORS.get(arm, "gray"), alpha=0.85)
            seeds = inputs.seeds(arm, task, "exec_success")
            ax.scatter(x + np.linspace(-0.15, 0.15, len(seeds)), seeds, s=9, color="black", zorder=3)
            for metric, style, width, label in REFERENCE_LINES:
                value = inputs.main(arm, task, metric).mean
                if math.isfinite(value):
                    ax.plot([x - 0.38, x + 0.38], [value] * 2, style, lw=width, label=label if x == 0 else None)
            gain_text = f"\ngain {gain.mean:+.2f}" if gain.n else ""
            ax.annotate(f"lift {lift.mean:+.2f}{gain_text}\nfb {fallback.mean:.2f}", (x, 1.04), ha="center",
                        fontsize=6)
        ax.set_xticks(range(len(arms)), [arm_label(a).split(" (")[0] for a in arms], fontsize=7, rotation=20)
        ax.set_ylim(0, 1.22)
        ax.set_title(task_label(task), fontsize=9)
    axes[0][0].set_ylabel("exec_success")
    axes[0][-1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle(caption.replace("; lift", ";\nlift") + " (bars: mean over seeds; dots: seeds)", fontsize=8, y=1.04)
    return Figure(name, caption, _save(fig, directory, name))


CURVE_PANELS = (("plan_all", ""), ("realroute_norm", ""), ("precision", ""), ("cov_r", None), ("active_outputs", ""))
"""(metric, key) of each panel; cov_r's key is 'teleport' on teleport mazes, else 'branching'."""


def curve_frame(curves: pd.DataFrame, group: ConfigGroup, task: str, metric: str, key: str) -> pd.DataFrame:
    """step -> mean, std, n over the group's seeds."""
    rows = curves[curves["trial_id"].isin(group.trial_ids) & (curves["task"] == task)
                  & (curves["metric"] == metric) & (curves["key"] == key)]
    return rows.groupby("step")["value"].agg(["mean", "std", "count"]).sort_index()


def fig_curves(inputs: Inputs, curves: pd.DataFrame, directory: Path) -> list[Figure]:
    """One figure per task with curves."""
    figures = []
    for task in sorted(set(curves["task"])):
        name = f"fig_curves_{task_label(task)}"
        caption = f"The protocol's metrics during training, {task_label(task)} (mean ± std over seeds)"
        arms = [a for a in PAPER_ARMS if a in inputs.selection.main]
        fig, axes = plt.subplots(1, len(CURVE_PANELS), figsize=(3.2 * len(CURVE_PANELS), 3.0), squeeze=False)
        drawn = False
        for ax, (metric, key) in zip(axes[0], CURVE_PANELS, strict=True):
            key = key if key is not None else (TELEPORT_KEY if "teleport" in task else "branching")
            for arm in arms:
                frame = curve_frame(curves, inputs.selection.main[arm], task, metric, key)
                if frame.empty:
                    continue
                drawn = True
                steps, mean, std = frame.index.to_numpy(), frame["mean"].to_numpy(), frame["std"].fillna(0).to_numpy()
                ax.plot(steps, mean, "-o", ms=2.5, color=COLORS.get(arm, "gray"), label=arm_label(arm))
                ax.fill_between(steps, mean - std, mean + std, color=COLORS.get(arm, "gray"), alpha=0.15)
            ax.set_title(metric + (f" [{key}]" if key else ""), fontsize=8)
            ax.set_xlabel("training step", fontsize=7)
            ax.tick_params(labelsize=7)
        if not drawn:
            plt.close(fig)
            figures.append(Figure(name, caption, None, "skipped: no curves of any main configuration"))
            continue
        axes[0][0].legend(fontsize=6)
        fig.suptitle(caption, fontsize=9)
        figures.append(Figure(name, caption, _save(fig, directory, name)))
    return figures


SOFTNESS_METRICS = (("mdn_sigma", ""), ("mdn_resp_max", ""), ("precision", ""), ("realroute", ""),
                    ("realroute_norm", ""), ("plan_all", ""))


def softness_groups(inputs: Inputs) -> list[ConfigGroup]:
    """The MDN configurations of the mdn_softness study (fixed sigma first, by value; learned last)."""
    groups = inputs.selection.study("mdn_softness", "mdn")
    return sorted(groups, key=lambda g: (not g.value("sigma_fixed"), g.value("sigma_fixed") or 0.0))


def softness_mop(inputs: Inputs) -> ConfigGroup | None:
    """The MoP alongside the study (its trials tagged mdn_softness)."""
    return next(iter(inputs.selection.study("mdn_softness", "mop")), None)


def sigma_label(group: ConfigGroup) -> str:
    fixed = group.value("sigma_fixed")
    return f"MDN sigma = {fixed:g} (fixed)" if fixed else "MDN sigma learned"


def softness_table(inputs: Inputs) -> Table:
    columns = ["task", "configuration"] + [m for m, _ in SOFTNESS_METRICS]
    table = Table("mdn_softness", "MDN softness: precision and realroute against responsibility sharpness", columns)
    groups = softness_groups(inputs)
    mop = softness_mop(inputs)
    tasks = sorted({t for g in groups for t in g.tasks})
    for task in tasks:
        for group, label in [(g, sigma_label(g)) for g in groups] + [(mop, "MoP-JEPA (hard assignment)")]:
            if group is None or task not in group.tasks:
                continue
            row = [task_label(task), label]
            row += [inputs.summary(group, task, metric, key).cell() for metric, key in SOFTNESS_METRICS]
            table.add(row)
    table.notes += [
        "mdn_resp_max: mean over 4096 training examples of the largest posterior responsibility "
        "r_k ∝ pi_k N(z+; mu_k, sigma_k² I); 1.0 is a hard assignment (MoP's, by construction). mdn_sigma: mean "
        "sigma over components and examples.",
        f"{MISSING}: the arm has no such value (MoP reports no sigma or responsibility).",
    ]
    return table


def fig_softness(inputs: Inputs, directory: Path) -> Figure:
    name, caption = "fig_mdn_softness", "MDN softness: precision and realroute vs mean largest responsibility"
    groups = [g for g in softness_groups(inputs) if g.value("sigma_fixed")]
    if not groups:
        return Figure(name, caption, None, "skipped: no MDN trial with a fixed sigma (the mdn_softness study)")
    groups = softness_groups(inputs)
    tasks = sorted({t for g in groups for t in g.tasks})
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.6 * len(tasks), 3.6), squeeze=False, sharey=True)
    shades = plt.cm.viridis(np.linspace(0.1, 0.9, len(groups)))
    mop = softness_mop(inputs)
    for ax, task in zip(axes[0], tasks, strict=True):
        for shade, group in zip(shades, groups, strict=True):
            x = inputs.summary(group, task, "mdn_resp_max").values
            for metric, marker in (("precision", "o"), ("realroute", "s")):
                y = inputs.summary(group, task, metric).values
                seeds = sorted(set(x.index) & set(y.index))
                ax.scatter([x[s] for s in seeds], [y[s] for s in seeds], marker=marker, color=shade, s=22,
                           label=f"{sigma_label(group)}: {metric}")
        for metric, style in (("precision", "-"), ("realroute", "--")):
            value = inputs.summary(mop, task, metric).mean if mop is not None else math.nan
            if math.isfinite(value):
                ax.axhline(value, color=COLORS["mop"], ls=style, lw=1, label=f"MoP-JEPA {metric}")
        ax.set_xlabel("mdn_resp_max (1 = hard assignment)", fontsize=8)
        ax.set_ylim(0, 1.02)
        ax.set_title(task_label(task), fontsize=9)
    axes[0][0].set_ylabel("precision (o), realroute (s)")
    axes[0][-1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle(caption + " (points: seeds)", fontsize=9)
    return Figure(name, caption, _save(fig, directory, name))
