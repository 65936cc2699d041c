"""Coverage of the successor modes: Table 5, Fig. 3 (the teleport cells on the maze), Fig. 8 (raw vs gated)
and Fig. 9 (the K sweep).

Fig. 3: for each teleport-in cell, the dense prediction (left) and the MoP heads (right) of the main
configurations, same seed. Heat: cosine similarity of the predicted latent to every cell's reference latent
(for MoP, the maximum over its router-active heads). Crosses: the cells the outputs decode to (MoP: active
heads, with their router weight pi; inactive heads as faint dots). Star: the teleport-in cell; green circles:
the true exits. The maze comes from OGBench's environment (`MazeGeometry`, no torch), the similarities from
the outputs table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from mopjepa.analysis.evidence import TELEPORT_KEY, Evidence
from mopjepa.analysis.load import ExperimentResults
from mopjepa.analysis.paper import PAPER_ARMS, PAPER_TASKS, arm_label, ours_vs_paper_columns, task_label
from mopjepa.analysis.plotting import Figure, dots, save, subplots
from mopjepa.analysis.render import Table
from mopjepa.analysis.selection import Selection, k_sweep
from mopjepa.analysis.stats import per_seed
from mopjepa.config.arms import arm_colour

TABLE5_COLUMNS = (("cov_r_raw", "raw cov_r"), ("cov_r", "π-gated cov_r"), ("cov_p", "cov_p"), ("shuffle", "shuffle"))


def table5(evidence: Evidence) -> Table:
    """Coverage of the teleport exits (mode key 'teleport'), every teleport maze we or the paper have."""
    ours = sorted(set(evidence.metrics.loc[evidence.metrics["key"] == TELEPORT_KEY, "task"]))
    tasks = [t for t in PAPER_TASKS if "teleport" in t] + [t for t in ours if t not in PAPER_TASKS]
    columns = ["task"] + ours_vs_paper_columns("arm", [label for _, label in TABLE5_COLUMNS])
    table = Table("table5_teleport_coverage", "Table 5: coverage of the teleport exits", columns)
    for task in tasks:
        for arm in PAPER_ARMS:
            row = [task_label(task), arm_label(arm)]
            for metric, _ in TABLE5_COLUMNS:
                ours = evidence.main(arm, task, metric, TELEPORT_KEY).cell()
                row += [ours, evidence.paper.cell(("5", "text"), metric, task, arm)]
            table.add(row)
    table.notes += [
        "Scored cells: the teleport-in cells; modes: the teleport exits. shuffle = cov_r with true contexts / "
        "cov_r with contexts permuted across cells (1.0 = not context-conditional).",
        "The codebook has no context and cannot be gated (the paper prints 1.00‡ for its gated coverage).",
    ]
    return table


NAME = "fig3_teleport_cells"


CAPTION = "Fig. 3: predictions at the teleport cells: dense (left) vs MoP's router-active heads (right)"


def pick_trials(experiment: ExperimentResults, selection: Selection, task: str) -> tuple[str, str, int] | None:
    """(dense trial, mop trial, seed): the main configurations' trials on `task` at their lowest common seed."""
    trials = experiment.trials()
    by_arm = {}
    for arm in ("dense", "mop"):
        group = selection.main.get(arm)
        if group is None:
            return None
        mine = trials[trials["trial_id"].isin(group.trial_ids) & (trials["task"] == task)]
        by_arm[arm] = dict(zip(mine["seed"].astype(int), mine["trial_id"], strict=True))
    common = sorted(set(by_arm["dense"]) & set(by_arm["mop"]))
    if not common:
        return None
    return by_arm["dense"][common[0]], by_arm["mop"][common[0]], common[0]


def fig3(evidence: Evidence, directory: Path) -> Figure:
    """Fig. 3: for each teleport-in cell, the dense prediction (left) and MoP's heads (right), on the maze."""
    experiment, selection = evidence.experiment, evidence.selection
    if experiment is None:
        return Figure(NAME, CAPTION, None, "skipped: no experiment directory (the outputs table)")
    metrics = experiment.metrics
    tasks = set(metrics.loc[metrics["key"] == TELEPORT_KEY, "task"])
    tasks = sorted(tasks, key=lambda t: (not t.startswith("point"), t))  # the point maze first
    picked = [(task, pick_trials(experiment, selection, task)) for task in tasks]
    picked = [(task, trials) for task, trials in picked if trials is not None]
    if not picked:
        return Figure(NAME, CAPTION, None, "skipped: no teleport maze (coverage key 'teleport') with both a dense "
                      "and a MoP main trial")
    task, (dense_id, mop_id, seed) = picked[0]
    outputs = experiment.table("outputs", [dense_id, mop_id])
    outputs = outputs[outputs["query"] == "context"]
    if outputs.empty:
        return Figure(NAME, CAPTION, None, f"skipped: no outputs rows for trials {dense_id}, {mop_id}")
    try:
        geometry = evidence.geometry_loader(task)
    except ImportError as error:
        return Figure(NAME, CAPTION, None, f"skipped: the maze of {task} needs ogbench ({error})")
    entries = geometry.cells_of(geometry.teleport_in)
    if len(entries) == 0:
        return Figure(NAME, CAPTION, None, f"skipped: {task} has no teleport cells")
    exits = np.asarray(geometry.teleport_out).reshape(-1, 2)
    fig, axes = subplots(len(entries), 2, figsize=(10, 3.8 * len(entries)), squeeze=False)
    image = None
    for row, cell in enumerate(entries):
        for column, (trial, title) in enumerate(((dense_id, arm_label("dense")), (mop_id, arm_label("mop")))):
            mine = outputs[(outputs["trial_id"] == trial) & (outputs["cell"] == int(cell))].sort_values("output")
            if mine.empty:
                raise ValueError(f"trial {trial} has no outputs for teleport cell {cell}")
            ax = axes[row][column]
            image = draw_cell(ax, geometry, mine, int(cell), exits)
            i, j = (int(v) for v in geometry.free_ij[cell])
            ax.set_title(f"{title}: teleport-in cell (i={i}, j={j})", fontsize=9)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6, label="cosine similarity to the cell's latent")
    handles = [
        Line2D([], [], marker="*", ls="", color="gold", markeredgecolor="black", ms=14, label="teleport-in cell"),
        Line2D([], [], marker="o", ls="", markerfacecolor="none", markeredgecolor="lime", mew=2.5, ms=13,
                   label="true exits"),
        Line2D([], [], marker="x", ls="", color="red", mew=3, ms=10, label="dense prediction (decoded)"),
        Line2D([], [], marker="x", ls="", color="deepskyblue", mew=3, ms=10, label="MoP active head (π)"),
        Line2D([], [], marker=".", ls="", color="deepskyblue", ms=8, label="MoP inactive head"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.suptitle(f"{CAPTION}\n{task_label(task)}, seed {seed}", fontsize=10)
    return Figure(NAME, CAPTION, save(fig, directory, NAME))


def draw_cell(ax, geometry, outputs: pd.DataFrame, cell: int, exits: np.ndarray):
    """Heat of one query cell's outputs over the maze, with its decoded cells, the cell and the exits."""
    free = geometry.free_ij  # [N, 2]
    similarity = np.stack([np.asarray(s, dtype=float) for s in outputs["similarity"]])  # [K, N]
    if similarity.shape[1] != len(free):
        raise ValueError(f"similarity lists have {similarity.shape[1]} cells; the maze has {len(free)} free cells")
    gated = outputs["gated"].to_numpy(dtype=bool)
    heat_rows = similarity[gated] if gated.any() else similarity
    heat = np.full(geometry.maze_map.shape, np.nan)
    heat[free[:, 0], free[:, 1]] = heat_rows.max(axis=0)
    walls = np.where(geometry.maze_map == 1, 1.0, np.nan)
    ax.imshow(walls, origin="lower", cmap="Greys", vmin=0, vmax=1.6)
    image = ax.imshow(heat, origin="lower", cmap="viridis", vmin=-1, vmax=1)
    i, j = free[cell]
    ax.plot(j, i, "*", color="gold", markeredgecolor="black", ms=16, zorder=3)
    ax.plot(exits[:, 1], exits[:, 0], "o", markerfacecolor="none", markeredgecolor="lime", mew=2.5, ms=14, zorder=3)
    single = len(outputs) == 1
    for (_, output), active in zip(outputs.iterrows(), gated, strict=True):
        i, j = free[int(output["decoded"])]
        if single:
            ax.plot(j, i, "x", color="red", mew=3, ms=12, zorder=4)
        elif active:
            ax.plot(j, i, "x", color="deepskyblue", mew=3, ms=12, zorder=4)
            ax.annotate(f"π={output['weight']:.2g}", (j, i), xytext=(3, 7), textcoords="offset points", fontsize=7,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.8, "lw": 0}, zorder=5,
                        annotation_clip=False)
        else:
            ax.plot(j, i, ".", color="deepskyblue", ms=7, alpha=0.8, zorder=4)
    ax.set_xlabel("j (x)")
    ax.set_ylabel("i (y)")
    return image


def fig8(evidence: Evidence, directory: Path) -> Figure:
    name = "fig8_raw_vs_gated_coverage"
    caption = "Fig. 8: raw (light) vs router-gated (solid) coverage of the teleport exits"
    tasks = [t for t in evidence.tasks("cov_r_raw", TELEPORT_KEY) if any(
        len(evidence.seeds(a, t, "cov_r_raw", TELEPORT_KEY)) for a in PAPER_ARMS)]
    if not tasks:
        return Figure(name, caption, None, "skipped: no teleport coverage (cov_r key 'teleport') of any main arm")
    rng = np.random.default_rng(0)
    fig, axes = subplots(1, len(tasks), figsize=(5 * len(tasks), 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        arms = [a for a in PAPER_ARMS if len(evidence.seeds(a, task, "cov_r_raw", TELEPORT_KEY))]
        for x, arm in enumerate(arms):
            for offset, metric, alpha in ((-0.2, "cov_r_raw", 0.35), (0.2, "cov_r", 1.0)):
                values = evidence.seeds(arm, task, metric, TELEPORT_KEY).to_numpy(dtype=float)
                if np.isfinite(values).any():
                    ax.bar(x + offset, np.nanmean(values), 0.38, color=arm_colour(arm), alpha=alpha)
                    dots(ax, x + offset, values, rng)
                paper = evidence.paper.get(("5", "text"), metric, task, arm)
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
    return Figure(name, caption, save(fig, directory, name))


def fig9(evidence: Evidence, directory: Path) -> Figure:
    name, caption = "fig9_k_sweep", "Fig. 9: K sweep: teleport cov_r of MoP vs K (MDN as reference)"
    groups = k_sweep(evidence.selection, "mop")
    tasks = [t for t in evidence.tasks("cov_r_raw", TELEPORT_KEY)
             if sum(len(per_seed(evidence.metrics, g.trial_ids, t, "cov_r_raw", TELEPORT_KEY)) > 0
                    for g in groups) >= 2]
    if not tasks:
        return Figure(name, caption, None, "skipped: fewer than two MoP values of K with teleport coverage")
    task = tasks[0]
    fig, ax = subplots(figsize=(5, 3.6))
    for metric, style, label in (("cov_r_raw", "--o", "MoP raw"), ("cov_r", "-s", "MoP π-gated")):
        ks, means = [], []
        for group in groups:
            values = per_seed(evidence.metrics, group.trial_ids, task, metric, TELEPORT_KEY).to_numpy(dtype=float)
            if np.isfinite(values).any():
                ks.append(group.value("K"))
                means.append(np.nanmean(values))
                ax.scatter([group.value("K")] * len(values), values, s=10, color=arm_colour("mop"), alpha=0.4)
        ax.plot(ks, means, style, color=arm_colour("mop"), label=label, mfc="none" if metric == "cov_r" else None, ms=8)
    reference = _mdn_reference(evidence)
    if reference is not None:
        for metric, style in (("cov_r_raw", "--"), ("cov_r", "-")):
            values = per_seed(evidence.metrics, reference.trial_ids, task, metric, TELEPORT_KEY).to_numpy(dtype=float)
            if np.isfinite(values).any():
                kind = "raw" if metric == "cov_r_raw" else "π-gated"
                label = f"MDN K={reference.value('K')} {kind}"
                ax.axhline(np.nanmean(values), ls=style, color=arm_colour("mdn"), label=label)
    paper_ks = set()
    for arm, marker in (("mop", "x"), ("mdn", "+")):
        points = [(k, evidence.paper.get("9", f"cov_r_raw_k{k}", task, arm)) for k in range(1, 65)]
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
    return Figure(name, caption, save(fig, directory, name))


def _mdn_reference(evidence: Evidence):
    """The MDN of the K sweep (the paper's: K = 8) if there is one, else the main MDN."""
    candidates = k_sweep(evidence.selection, "mdn")
    return candidates[0] if candidates else evidence.selection.main.get("mdn")
