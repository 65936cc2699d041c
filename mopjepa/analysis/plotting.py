"""What every figure shares: its record, an off-screen matplotlib figure, the dots of seeds, bars with the
paper's means. Arms are drawn in their registered colours (mopjepa.config.arm_colour)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure as MplFigure

from mopjepa.analysis.paper import PAPER_ARMS, arm_label, task_label
from mopjepa.config.arms import arm_colour

if False:  # typing only
    from mopjepa.analysis.evidence import Evidence


@dataclass(frozen=True)
class Figure:
    name: str
    caption: str
    path: Path | None
    note: str = ""


def subplots(nrows: int = 1, ncols: int = 1, figsize=None, **kwargs):
    """(figure, axes) drawn off-screen with matplotlib's object API: no pyplot, no global backend to set."""
    figure = MplFigure(figsize=figsize)
    return figure, figure.subplots(nrows, ncols, **kwargs)


def save(fig: MplFigure, directory: Path, name: str) -> Path:
    """`fig` as <directory>/<name>.png."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


def dots(ax, x: float, values: np.ndarray, rng: np.random.Generator) -> None:
    """Each seed's value as a dot, jittered sideways by `rng` (one seeded generator per figure)."""
    values = values[np.isfinite(values)]
    offsets = rng.uniform(-0.08, 0.08, len(values))
    ax.scatter(x + offsets, values, s=14, color="black", zorder=3, linewidths=0)


def bar_figure(evidence: Evidence, directory: Path, name: str, metric: str, key: str, table: str, caption: str,
               ylabel: str, arms=PAPER_ARMS) -> Figure:
    """Bars: mean over seeds per (task, arm), dots: seeds, black ticks: the paper's means."""
    tasks = [t for t in evidence.tasks(metric, key) if any(len(evidence.seeds(a, t, metric, key)) for a in arms)]
    arms = [a for a in arms if any(len(evidence.seeds(a, t, metric, key)) for t in tasks)]
    if not tasks:
        return Figure(name, caption, None, f"skipped: no {metric} of any main configuration")
    rng = np.random.default_rng(0)
    fig, ax = subplots(figsize=(2.2 + 1.1 * len(tasks) * max(len(arms), 2) / 3, 3.6))
    width = 0.8 / len(arms)
    paper_drawn = False
    for a, arm in enumerate(arms):
        for t, task in enumerate(tasks):
            x = t + (a - (len(arms) - 1) / 2) * width
            values = evidence.seeds(arm, task, metric, key).to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            if len(finite):
                ax.bar(x, finite.mean(), width * 0.9, color=arm_colour(arm), alpha=0.85,
                       hatch="//" if arm == "codebook" else None, edgecolor="black" if arm == "codebook" else "white",
                       label=arm_label(arm))
                dots(ax, x, values, rng)
            paper = evidence.paper.get(table, metric, task, arm)
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
    return Figure(name, caption, save(fig, directory, name))
