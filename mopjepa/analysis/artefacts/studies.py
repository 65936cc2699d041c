"""The studies beside the main configurations: every configuration of the experiment (the K sweep, the MDN
grid, ablations, readings) and the MDN softness study (precision and realroute against the sharpness of the
MDN's responsibilities).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib import colormaps

from mopjepa.analysis.evidence import TELEPORT_KEY, Evidence
from mopjepa.analysis.paper import MISSING, task_label
from mopjepa.analysis.plotting import Figure, save, subplots
from mopjepa.analysis.render import Table
from mopjepa.analysis.selection import ConfigGroup
from mopjepa.config import TrainConfig
from mopjepa.config.arms import arm_colour

CONFIG_METRICS = (
    ("plan_all", ""),
    ("realroute", ""),
    ("realroute_norm", ""),
    ("precision", ""),
    ("cov_r_raw", TELEPORT_KEY),
    ("cov_r", TELEPORT_KEY),
    ("cov_r", "branching"),
    ("exec_success", ""),
    ("exec_lift", ""),
)


def configurations_table(evidence: Evidence) -> Table:
    """Every configuration (main ones marked) on every task it ran: the K sweep, MDN grid, ablations."""
    columns = ["configuration", "main", "studies", "task", "seeds"]
    columns += [m + (f"[{k}]" if k else "") for m, k in CONFIG_METRICS]
    table = Table("configurations", "Every configuration of the experiment (mean ± std over seeds)", columns)
    mains = {(g.arm, g.config) for g in evidence.selection.main.values()}
    for group in sorted(evidence.selection.groups, key=lambda g: (g.arm, (g.arm, g.config) not in mains, g.label)):
        for task in group.tasks:
            seeds = sorted(set(evidence.metrics.loc[evidence.metrics["trial_id"].isin(group.trial_ids)
                                                  & (evidence.metrics["task"] == task), "seed"]))
            row = [group.label, "yes" if (group.arm, group.config) in mains else "",
                   ", ".join(sorted(group.studies)) or "none (plain rows)", task_label(task), ",".join(map(str, seeds))]
            row += [evidence.summary(group, task, metric, key).cell() for metric, key in CONFIG_METRICS]
            table.add(row)
    reference = evidence.selection.reference
    table.notes.append("A configuration is named by its deviations from the reference (selection rule 2); its "
                       "studies are the ones its preset declared (rule 3).")
    if reference:
        table.notes.append("Keys no trial keeps at its default, referenced to: "
                           + ", ".join(f"{k}={v}" for k, v in sorted(reference.items())))
    return table


SOFTNESS_METRICS = (("mdn_sigma", ""), ("mdn_resp_max", ""), ("precision", ""), ("realroute", ""),
                    ("realroute_norm", ""), ("plan_all", ""))


def softness_groups(evidence: Evidence) -> list[ConfigGroup]:
    """The MDN configurations of the mdn_softness study (fixed sigma first, by value; learned last)."""
    groups = evidence.selection.study("mdn_softness", "mdn")
    return sorted(groups, key=lambda g: (not g.value("sigma_fixed"), g.value("sigma_fixed") or 0.0))


def softness_mop(evidence: Evidence) -> ConfigGroup | None:
    """The MoP alongside the study (its trials tagged mdn_softness)."""
    return next(iter(evidence.selection.study("mdn_softness", "mop")), None)


def sigma_label(group: ConfigGroup) -> str:
    fixed = group.value("sigma_fixed")
    return f"MDN sigma = {fixed:g} (fixed)" if fixed else "MDN sigma learned"


def softness_table(evidence: Evidence) -> Table:
    columns = ["task", "configuration"] + [m for m, _ in SOFTNESS_METRICS]
    table = Table("mdn_softness", "MDN softness: precision and realroute against responsibility sharpness", columns)
    groups = softness_groups(evidence)
    mop = softness_mop(evidence)
    tasks = sorted({t for g in groups for t in g.tasks})
    for task in tasks:
        for group, label in [(g, sigma_label(g)) for g in groups] + [(mop, "MoP-JEPA (hard assignment)")]:
            if group is None or task not in group.tasks:
                continue
            row = [task_label(task), label]
            row += [evidence.summary(group, task, metric, key).cell() for metric, key in SOFTNESS_METRICS]
            table.add(row)
    table.notes += [
        f"mdn_resp_max: mean over {TrainConfig.DIAGNOSTIC_EXAMPLES} training examples of the largest posterior "
        "responsibility r_k ∝ pi_k N(z+; mu_k, sigma_k² I); 1.0 is a hard assignment (MoP's, by construction). "
        "mdn_sigma: mean sigma over components and examples.",
        f"{MISSING}: the arm has no such value (MoP reports no sigma or responsibility).",
    ]
    return table


def fig_softness(evidence: Evidence, directory: Path) -> Figure:
    name, caption = "fig_mdn_softness", "MDN softness: precision and realroute vs mean largest responsibility"
    groups = [g for g in softness_groups(evidence) if g.value("sigma_fixed")]
    if not groups:
        return Figure(name, caption, None, "skipped: no MDN trial with a fixed sigma (the mdn_softness study)")
    groups = softness_groups(evidence)
    tasks = sorted({t for g in groups for t in g.tasks})
    fig, axes = subplots(1, len(tasks), figsize=(4.6 * len(tasks), 3.6), squeeze=False, sharey=True)
    shades = colormaps["viridis"](np.linspace(0.1, 0.9, len(groups)))
    mop = softness_mop(evidence)
    for ax, task in zip(axes[0], tasks, strict=True):
        for shade, group in zip(shades, groups, strict=True):
            x = evidence.summary(group, task, "mdn_resp_max").values
            for metric, marker in (("precision", "o"), ("realroute", "s")):
                y = evidence.summary(group, task, metric).values
                seeds = sorted(set(x.index) & set(y.index))
                ax.scatter([x[s] for s in seeds], [y[s] for s in seeds], marker=marker, color=shade, s=22,
                           label=f"{sigma_label(group)}: {metric}")
        for metric, style in (("precision", "-"), ("realroute", "--")):
            value = evidence.summary(mop, task, metric).mean if mop is not None else math.nan
            if math.isfinite(value):
                ax.axhline(value, color=arm_colour("mop"), ls=style, lw=1, label=f"MoP-JEPA {metric}")
        ax.set_xlabel("mdn_resp_max (1 = hard assignment)", fontsize=8)
        ax.set_ylim(0, 1.02)
        ax.set_title(task_label(task), fontsize=9)
    axes[0][0].set_ylabel("precision (o), realroute (s)")
    axes[0][-1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle(caption + " (points: seeds)", fontsize=9)
    return Figure(name, caption, save(fig, directory, name))
