"""Fig. 3: the collapse and the fix at the teleport cells, drawn on the maze.

For each teleport-in cell, one row: the dense prediction (left) and the MoP heads (right) of the
main configurations, same seed. Heat: cosine similarity of the predicted latent to every cell's
reference latent (for MoP, the maximum over its router-active heads). Crosses: the cells the
outputs decode to (MoP: active heads, with their router weight pi; inactive heads as faint dots).
Star: the teleport-in cell; green circles: the true exits. The maze comes from OGBench's
environment (`MazeGeometry`, no torch), the similarities from the outputs table.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mopjepa.analysis.figures import Figure, _save  # noqa: E402
from mopjepa.analysis.load import ExperimentResults  # noqa: E402
from mopjepa.analysis.paper import arm_label, task_label  # noqa: E402
from mopjepa.analysis.selection import Selection  # noqa: E402
from mopjepa.analysis.tables import TELEPORT_KEY  # noqa: E402

NAME = "fig3_teleport_cells"
CAPTION = "Fig. 3: predictions at the teleport cells: dense (left) vs MoP's router-active heads (right)"


def load_geometry(task: str):
    """The maze of `task` from OGBench's environment (raises ImportError without ogbench/mujoco)."""
    from mopjepa.data.maze import MazeGeometry
    from mopjepa.data.names import parse_dataset_name

    return MazeGeometry.from_env_name(parse_dataset_name(task).env_name)


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


def teleport_figure(experiment: ExperimentResults, selection: Selection, directory: Path,
                    geometry_loader=load_geometry) -> Figure:
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
        geometry = geometry_loader(task)
    except ImportError as error:
        return Figure(NAME, CAPTION, None, f"skipped: the maze of {task} needs ogbench ({error})")
    entries = geometry.cells_of(geometry.teleport_in)
    if len(entries) == 0:
        return Figure(NAME, CAPTION, None, f"skipped: {task} has no teleport cells")
    exits = np.asarray(geometry.teleport_out).reshape(-1, 2)
    fig, axes = plt.subplots(len(entries), 2, figsize=(10, 3.8 * len(entries)), squeeze=False)
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
        plt.Line2D([], [], marker="*", ls="", color="gold", markeredgecolor="black", ms=14, label="teleport-in cell"),
        plt.Line2D([], [], marker="o", ls="", markerfacecolor="none", markeredgecolor="lime", mew=2.5, ms=13,
                   label="true exits"),
        plt.Line2D([], [], marker="x", ls="", color="red", mew=3, ms=10, label="dense prediction (decoded)"),
        plt.Line2D([], [], marker="x", ls="", color="deepskyblue", mew=3, ms=10, label="MoP active head (π)"),
        plt.Line2D([], [], marker=".", ls="", color="deepskyblue", ms=8, label="MoP inactive head"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.suptitle(f"{CAPTION}\n{task_label(task)}, seed {seed}", fontsize=10)
    return Figure(NAME, CAPTION, _save(fig, directory, NAME))


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
