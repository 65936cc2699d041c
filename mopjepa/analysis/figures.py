"""Figures 5-9 as PNG (matplotlib Agg), from the main configurations' metrics.

Every figure function returns a `Figure` record: its path, or, when its inputs are absent, no path
and a note saying why it was skipped. Nothing here invents a point: a missing seed is not drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from mopjepa.analysis.paper import PAPER_ARMS, arm_label, task_label  # noqa: E402
from mopjepa.analysis.selection import k_sweep  # noqa: E402
from mopjepa.analysis.stats import per_seed  # noqa: E402
from mopjepa.analysis.tables import TABLE3_ARMS, TELEPORT_KEY, Inputs  # noqa: E402
from mopjepa.config.arms import ARM_COLOURS  # noqa: E402

COLORS = ARM_COLOURS
JITTER = np.random.default_rng(0)


@dataclass(frozen=True)
class Figure:
    name: str
    caption: str
    path: Path | None
    note: str = ""


def _save(fig, directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def _dots(ax, x: float, values: np.ndarray) -> None:
    values = values[np.isfinite(values)]
    offsets = JITTER.uniform(-0.08, 0.08, len(values))
    ax.scatter(x + offsets, values, s=14, color="black", zorder=3, linewidths=0)


def bar_figure(inputs: Inputs, directory: Path, name: str, metric: str, key: str, table: str, caption: str,
               ylabel: str, arms=PAPER_ARMS) -> Figure:
    """Bars: mean over seeds per (task, arm), dots: seeds, black ticks: the paper's means."""
    tasks = [t for t in inputs.tasks(metric, key) if any(len(inputs.seeds(a, t, metric, key)) for a in arms)]
    arms = [a for a in arms if any(len(inputs.seeds(a, t, metric, key)) for t in tasks)]
    if not tasks:
        return Figure(name, caption, None, f"skipped: no {metric} of any main configuration")
    fig, ax = plt.subplots(figsize=(2.2 + 1.1 * len(tasks) * max(len(arms), 2) / 3, 3.6))
    width = 0.8 / len(arms)
    paper_drawn = False
    for a, arm in enumerate(arms):
        for t, task in enumerate(tasks):
            x = t + (a - (len(arms) - 1) / 2) * width
            values = inputs.seeds(arm, task, metric, key).to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            if len(finite):
                ax.bar(x, finite.mean(), width * 0.9, color=COLORS.get(arm, "gray"), alpha=0.85,
                       hatch="//" if arm == "codebook" else None, edgecolor="black" if arm == "codebook" else "white",
                       label=arm_label(arm))
                _dots(ax, x, values)
            paper = inputs.paper.get(table, metric, task, arm)
            if paper is not None and np.isfinite(paper.mean):
                ax.plot([x - width * 0.45, x + width * 0.45], [paper.mean] * 2, color="black", lw=2,
                        label=None if paper_drawn else "paper mean")
                paper_drawn = True
    ax.set_xticks(range(len(tasks)), [task_label(t) for t in tasks])
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.02)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(caption, fontsize=9)
    return Figure(name, caption, _save(fig, directory, name))


def fig5(inputs: Inputs, directory: Path) -> Figure:
    return bar_figure(inputs, directory, "fig5_plan_all", "plan_all", "", "2",
                      "Fig. 5: plan_all by arm (bars: mean; dots: seeds; codebook hatched)", "plan_all")


def fig6(inputs: Inputs, directory: Path) -> Figure:
    return bar_figure(inputs, directory, "fig6_realroute", "realroute", "", "3",
                      "Fig. 6: verified routes (realroute) by task (bars: mean; dots: seeds)", "realroute")


def fig7(inputs: Inputs, directory: Path) -> Figure:
    name, caption = "fig7_realroute_by_distance", "Fig. 7: realroute vs true shortest-path distance"
    tasks = [t for t in inputs.tasks("realroute") if _distances(inputs, t)]
    if not tasks:
        return Figure(name, caption, None, "skipped: no realroute_by_dist of dense, MDN or MoP")
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.4), squeeze=False, sharey=True)
    for ax, task in zip(axes[0], tasks, strict=True):
        for arm in TABLE3_ARMS:
            by_distance = _distances(inputs, task).get(arm)
            if not by_distance:
                continue
            distances = sorted(by_distance)
            means = [np.nanmean(by_distance[d]) for d in distances]
            ax.plot(distances, means, "-o", ms=3, color=COLORS[arm], label=arm_label(arm))
            for d in distances:
                ax.scatter([d] * len(by_distance[d]), by_distance[d], s=6, color=COLORS[arm], alpha=0.35)
        ax.set_title(task_label(task), fontsize=9)
        ax.set_xlabel("true shortest-path distance (cells)")
        ax.set_ylim(-0.02, 1.02)
    axes[0][0].set_ylabel("realroute (line: mean; dots: seeds)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(caption, fontsize=10)
    return Figure(name, caption, _save(fig, directory, name))


def _distances(inputs: Inputs, task: str) -> dict[str, dict[int, list[float]]]:
    """arm -> distance -> per-seed realroute at that distance."""
    rows = inputs.metrics[(inputs.metrics["metric"] == "realroute_by_dist") & (inputs.metrics["task"] == task)]
    out: dict[str, dict[int, list[float]]] = {}
    for arm in TABLE3_ARMS:
        group = inputs.selection.main.get(arm)
        if group is None:
            continue
        mine = rows[rows["trial_id"].isin(group.trial_ids)]
        for key, values in mine.groupby("key")["value"]:
            out.setdefault(arm, {})[int(key)] = values.tolist()
    return out


def fig8(inputs: Inputs, directory: Path) -> Figure:
    name = "fig8_raw_vs_gated_coverage"
    caption = "Fig. 8: raw (light) vs router-gated (solid) coverage of the teleport exits"
    tasks = [t for t in inputs.tasks("cov_r_raw", TELEPORT_KEY) if any(
        len(inputs.seeds(a, t, "cov_r_raw", TELEPORT_KEY)) for a in PAPER_ARMS)]
    if not tasks:
        return Figure(name, caption, None, "skipped: no teleport coverage (cov_r key 'teleport') of any main arm")
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        arms = [a for a in PAPER_ARMS if len(inputs.seeds(a, task, "cov_r_raw", TELEPORT_KEY))]
        for x, arm in enumerate(arms):
            for offset, metric, alpha in ((-0.2, "cov_r_raw", 0.35), (0.2, "cov_r", 1.0)):
                values = inputs.seeds(arm, task, metric, TELEPORT_KEY).to_numpy(dtype=float)
                if np.isfinite(values).any():
                    ax.bar(x + offset, np.nanmean(values), 0.38, color=COLORS.get(arm, "gray"), alpha=alpha)
                    _dots(ax, x + offset, values)
                paper = inputs.paper.get(("5", "text"), metric, task, arm)
                if paper is not None and np.isfinite(paper.mean):
                    ax.plot([x + offset - 0.17, x + offset + 0.17], [paper.mean] * 2, color="black", lw=2)
        ax.set_xticks(range(len(arms)), [arm_label(a).split(" (")[0] for a in arms], fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("cov_r of the teleport exits")
        ax.set_title(task_label(task), fontsize=9)
        ax.legend(handles=[Patch(color="gray", alpha=0.35, label="raw (all outputs)"),
                           Patch(color="gray", label="π-gated (π > 0.5/K)"),
                           Line2D([], [], color="black", lw=2, label="paper mean")], fontsize=7)
    fig.suptitle(caption + " (dots: seeds)", fontsize=10)
    return Figure(name, caption, _save(fig, directory, name))


def fig9(inputs: Inputs, directory: Path) -> Figure:
    name, caption = "fig9_k_sweep", "Fig. 9: K sweep: teleport cov_r of MoP vs K (MDN as reference)"
    groups = k_sweep(inputs.selection, "mop")
    tasks = [t for t in inputs.tasks("cov_r_raw", TELEPORT_KEY)
             if sum(len(per_seed(inputs.metrics, g.trial_ids, t, "cov_r_raw", TELEPORT_KEY)) > 0 for g in groups) >= 2]
    if not tasks:
        return Figure(name, caption, None, "skipped: fewer than two MoP values of K with teleport coverage")
    task = tasks[0]
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for metric, style, label in (("cov_r_raw", "--o", "MoP raw"), ("cov_r", "-s", "MoP π-gated")):
        ks, means = [], []
        for group in groups:
            values = per_seed(inputs.metrics, group.trial_ids, task, metric, TELEPORT_KEY).to_numpy(dtype=float)
            if np.isfinite(values).any():
                ks.append(group.value("K"))
                means.append(np.nanmean(values))
                ax.scatter([group.value("K")] * len(values), values, s=10, color=COLORS["mop"], alpha=0.4)
        ax.plot(ks, means, style, color=COLORS["mop"], label=label, mfc="none" if metric == "cov_r" else None, ms=8)
    reference = _mdn_reference(inputs)
    if reference is not None:
        for metric, style in (("cov_r_raw", "--"), ("cov_r", "-")):
            values = per_seed(inputs.metrics, reference.trial_ids, task, metric, TELEPORT_KEY).to_numpy(dtype=float)
            if np.isfinite(values).any():
                kind = "raw" if metric == "cov_r_raw" else "π-gated"
                label = f"MDN K={reference.value('K')} {kind}"
                ax.axhline(np.nanmean(values), ls=style, color=COLORS["mdn"], label=label)
    paper_ks = set()
    for arm, marker in (("mop", "x"), ("mdn", "+")):
        points = [(k, inputs.paper.get("9", f"cov_r_raw_k{k}", task, arm)) for k in range(1, 65)]
        points = [(k, v.mean) for k, v in points if v is not None]
        if points:
            ax.scatter(*zip(*points, strict=True), marker=marker, s=50, color="black", zorder=4,
                       label=f"paper {arm_label(arm)} raw")
            paper_ks |= {k for k, _ in points}
    ax.set_xscale("log", base=2)
    ticks = sorted({g.value("K") for g in groups} | paper_ks)
    ax.set_xticks(ticks, [str(k) for k in ticks])
    ax.minorticks_off()
    ax.set_xlabel("K (heads)")
    ax.set_ylabel(f"cov_r of the teleport exits ({task_label(task)})")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7)
    ax.set_title(caption, fontsize=9)
    return Figure(name, caption, _save(fig, directory, name))


def _mdn_reference(inputs: Inputs):
    """The MDN of the K sweep (the paper's: K = 8) if there is one, else the main MDN."""
    candidates = k_sweep(inputs.selection, "mdn")
    return candidates[0] if candidates else inputs.selection.main.get("mdn")
