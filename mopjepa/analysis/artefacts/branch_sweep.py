"""The branch sweep (Fig. 4, middle), the gate-threshold sweep and the two-step beliefs (Fig. 2), from Parquet only.

    artefacts(evidence, out) -> [Figure | CsvTable]   the report's items below, captioned

    render(results_root, out_dir) -> [Path]   the PNGs below (a figure without data is skipped)
        mechanism_sweep.png          Fig. 4 middle: gated mode coverage vs the number of modes M per
                                     arm, Prop. 1's similarity to the conditional mean, router error
        threshold_sweep_<task>.png   gated cov_r, cov_p, transition precision and coverage under
                                     permuted contexts vs the gate threshold t, per arm
        beliefs_<task>.png           Fig. 2: two-step beliefs at the 3 cells with most two-step modes,
                                     one trial per panel: each arm's main configuration at one seed
    tables(results_root) -> {"mechanism_sweep": DataFrame, "threshold_sweep": DataFrame}
        mean, std and seed count per (arm, M) and per (task, arm, t) (the arms' main configurations)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure as MplFigure

from mopjepa.analysis import selection
from mopjepa.analysis.evidence import Evidence
from mopjepa.analysis.plotting import Figure
from mopjepa.config.arms import arm_colour
from mopjepa.data.names import TELEPORT
from mopjepa.results import read_table

SWEEP_METRICS = ("coverage", "mean_similarity", "router_error")
SWEEP_TITLES = {"coverage": "gated mode coverage", "mean_similarity": "cos(best output, conditional mean)",
                "router_error": "router-weight error |π − w|"}
THRESHOLD_METRICS = ("threshold_cov_r", "threshold_cov_p", "threshold_precision", "threshold_cov_r_shuffled")
THRESHOLD_TITLES = {"threshold_cov_r": "gated cov_r", "threshold_cov_p": "cov_p (outputs on a mode)",
                    "threshold_precision": "transition precision",
                    "threshold_cov_r_shuffled": "cov_r, permuted contexts"}
PAPER_THRESHOLD = {"threshold_cov_r": ((1 / 64, 0.74), (1 / 4, 0.40)), "threshold_cov_p": 0.92,
                   "threshold_cov_r_shuffled": 0.26}
"""The paper's MoP-JEPA on pointmaze-teleport ("Coverage of Stochastic Dynamics"): gated coverage
0.74 -> 0.40 over t in [1/64, 1/4], precision ~0.92 (Table 5's COV-P .924), shuffle leakage ~0.26."""
PANEL_CMAPS = {"truth": "Greens", "dense": "Reds", "mop": "Blues"}


def _summary(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return frame.groupby(by, observed=True).value.agg(["mean", "std", "count"]).reset_index()


def sweep_frame(results_root: Path) -> pd.DataFrame:
    frame = read_table(results_root, "mechanism")
    return frame.assign(M=frame.key.astype(int)) if not frame.empty else frame


def threshold_frame(results_root: Path, main_trials: Mapping[str, Iterable[str]] | None = None) -> pd.DataFrame:
    """Threshold rows of the arms' main configurations (other configurations of an arm, e.g. the K sweep or
    the MDN softness study, are not that arm), with their mode set ('' for keys without one) and t as a float."""
    frame = read_table(results_root, "metrics")
    frame = frame[frame.metric.isin(THRESHOLD_METRICS + ("threshold_shuffle",))]
    if frame.empty:
        return frame.assign(mode_set=pd.Series(dtype=str), t=pd.Series(dtype=float))
    main = {trial for ids in _main_trials(results_root, main_trials).values() for trial in ids}
    frame = frame[frame.trial_id.isin(main)]
    parts = frame.key.str.rpartition("@")
    return frame.assign(mode_set=parts[0], t=parts[2].astype(float))


def _main_trials(results_root: Path, main_trials: Mapping[str, Iterable[str]] | None) -> Mapping[str, Iterable[str]]:
    """arm -> the trial ids of its main configuration: as given, else selected from the complete trials."""
    if main_trials is not None:
        return main_trials
    metrics = read_table(results_root, "metrics")
    if metrics.empty:
        return {}
    trials = metrics.drop(columns=["metric", "key", "value"]).drop_duplicates("trial_id")
    return {arm: group.trial_ids for arm, group in selection.select(trials).main.items()}


def tables(results_root: Path, main_trials: Mapping[str, Iterable[str]] | None = None) -> dict[str, pd.DataFrame]:
    sweep = sweep_frame(results_root)
    threshold = threshold_frame(results_root, main_trials)
    return {
        "mechanism_sweep": _summary(sweep, ["metric", "arm", "M"]) if not sweep.empty else sweep,
        "threshold_sweep": _summary(threshold, ["task", "metric", "mode_set", "arm", "t"])
        if not threshold.empty else threshold,
    }


def render(results_root: Path, out_dir: Path, main_trials: Mapping[str, Iterable[str]] | None = None) -> list[Path]:
    """Every figure there is data for, as PNGs in out_dir (Fig. 2 from `figure_trials`)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    sweep = sweep_frame(results_root)
    if not sweep.empty:
        paths.append(_save(sweep_figure(sweep), out_dir / "mechanism_sweep.png"))
    threshold = threshold_frame(results_root, main_trials)
    for task, rows in threshold.groupby("task", observed=True):
        paths.append(_save(threshold_figure(rows, str(task)), out_dir / f"threshold_sweep_{task}.png"))
    beliefs = read_table(results_root, "beliefs")
    shown = figure_trials(results_root, main_trials)
    for task, rows in beliefs.groupby("task", observed=True):
        chosen = set(shown.get(str(task), {}).values())
        rows = rows[rows.trial_id.isin(chosen)]
        if not rows.empty:
            paths.append(_save(beliefs_figure(rows, str(task)), out_dir / f"beliefs_{task}.png"))
    return paths


def figure_trials(results_root: Path, main_trials: Mapping[str, Iterable[str]] | None = None) -> dict[str, dict]:
    """Fig. 2's trials: task -> {arm: trial id}, one trial per panel, the arm's main configuration
    (mopjepa.analysis.selection, from the complete trials unless `main_trials` gives arm -> its trial ids)
    at the lowest seed every shown arm has on that task (else each arm's lowest)."""
    metrics = read_table(results_root, "metrics")
    if metrics.empty:
        return {}
    trials = metrics.drop(columns=["metric", "key", "value"]).drop_duplicates("trial_id")
    main = {trial: arm for arm, ids in _main_trials(results_root, main_trials).items() for trial in ids}
    trials = trials[trials.trial_id.isin(set(main))]  # maze trials: only they write `metrics`
    chosen: dict[str, dict] = {}
    for task, rows in trials.groupby("task", observed=True):
        seeds = [set(group.seed) for _, group in rows.groupby("arm", observed=True)]
        common = set.intersection(*seeds) if seeds else set()
        picks = {}
        for arm, group in rows.groupby("arm", observed=True):
            seed = min(common) if common else group.seed.min()
            picks[str(arm)] = sorted(group[group.seed == seed].trial_id)[0]
        chosen[str(task)] = picks
    return chosen


def _save(figure: MplFigure, path: Path) -> Path:
    figure.savefig(path, dpi=130, bbox_inches="tight")
    return path


def _lines(axis, frame: pd.DataFrame, x: str) -> None:
    """Per arm: the mean over seeds as a line, every seed as a dot."""
    for arm, rows in frame.groupby("arm", observed=True):
        stats = rows.groupby(x).value.agg(["mean", "std"]).reset_index()
        axis.plot(stats[x], stats["mean"], "-o", color=arm_colour(arm), label=arm, markersize=4)
        axis.fill_between(stats[x], stats["mean"] - stats["std"].fillna(0), stats["mean"] + stats["std"].fillna(0),
                          color=arm_colour(arm), alpha=0.12, linewidth=0)
        axis.plot(rows[x], rows.value, ".", color=arm_colour(arm), alpha=0.35, markersize=3)


def sweep_figure(sweep: pd.DataFrame) -> MplFigure:
    figure = MplFigure(figsize=(4.2 * len(SWEEP_METRICS), 3.4))
    axes = figure.subplots(1, len(SWEEP_METRICS))
    for axis, metric in zip(axes, SWEEP_METRICS, strict=True):
        _lines(axis, sweep[sweep.metric == metric], "M")
        axis.set(title=SWEEP_TITLES[metric], xlabel="true number of successor modes M",
                 xticks=sorted(sweep.M.unique()))
        axis.grid(alpha=0.3)
    axes[0].set_ylim(-0.03, 1.03)
    axes[0].legend(fontsize=8)
    seeds = sweep.groupby(["arm", "M"]).trial_id.nunique().max()
    figure.suptitle(f"Controlled branch sweep (mean ± std over up to {seeds} seeds; dots: seeds)", fontsize=10, y=1.03)
    return figure


def threshold_figure(frame: pd.DataFrame, task: str) -> MplFigure:
    mode_set = "teleport" if (frame.mode_set == "teleport").any() else "branching"
    figure = MplFigure(figsize=(4.0 * len(THRESHOLD_METRICS), 3.4))
    axes = figure.subplots(1, len(THRESHOLD_METRICS))
    for axis, metric in zip(axes, THRESHOLD_METRICS, strict=True):
        rows = frame[(frame.metric == metric) & ((frame.mode_set == mode_set) | (frame.mode_set == ""))]
        _lines(axis, rows, "t")
        if task == TELEPORT and metric in PAPER_THRESHOLD:
            reference = PAPER_THRESHOLD[metric]
            if isinstance(reference, tuple):
                axis.plot(*zip(*reference, strict=True), "*--", color=arm_colour("mop"), markersize=10, alpha=0.6,
                          label="paper MoP (endpoints)")
            else:
                axis.axhline(reference, color=arm_colour("mop"), linestyle="--", alpha=0.6, label="paper MoP")
        axis.set_xscale("log", base=2)
        ticks = sorted(frame.t.unique())
        axis.set_xticks(ticks, [f"1/{round(1 / t)}" if t > 0 else "0" for t in ticks])
        axis.set(title=THRESHOLD_TITLES[metric], xlabel="gate threshold t (weight > t)", ylim=(-0.03, 1.03))
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    note = "; dashed: the paper's MoP-JEPA" if task == TELEPORT else ""
    figure.suptitle(f"Gate-threshold sweep on {task} ({mode_set} modes; the same outputs re-gated{note})",
                    fontsize=10, y=1.03)
    return figure


def _density(axis, points: np.ndarray, weights: np.ndarray, extent: tuple, bandwidth: float, cmap: str) -> None:
    """The weighted sum of Gaussian bumps at points [P, 2], unit-normalized, as a heat map."""
    xs = np.linspace(extent[0], extent[1], 160)
    ys = np.linspace(extent[2], extent[3], 160)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)  # [160, 160, 2]
    squared = ((grid[:, :, None, :] - points[None, None]) ** 2).sum(axis=-1)  # [160, 160, P]
    density = (weights * np.exp(-squared / (2 * bandwidth**2))).sum(axis=-1)
    if density.max() > 0:
        density = density / density.max()
    axis.imshow(density, origin="lower", extent=extent, cmap=cmap, vmin=0, vmax=1, aspect="equal")


def beliefs_figure(frame: pd.DataFrame, task: str) -> MplFigure:
    """Rows: the belief cells; columns: ground truth, then each arm's two-step beliefs (one seed)."""
    frame = frame[frame.seed == frame.seed.min()]
    arms = [arm for arm in ("dense", "mop") if arm in set(frame.arm)] or sorted(set(frame.arm))[:2]
    anchor = arms[-1]
    cells = frame[frame.arm == anchor].drop_duplicates("rank").sort_values("rank")
    columns = ["truth", *arms]
    figure = MplFigure(figsize=(3.3 * len(columns), 3.2 * len(cells)))
    axes = np.atleast_2d(figure.subplots(len(cells), len(columns), squeeze=False))
    for row, (_, cell) in enumerate(cells.iterrows()):
        for column, name in enumerate(columns):
            arm = anchor if name == "truth" else name
            rows = frame[(frame.arm == arm) & (frame["rank"] == cell["rank"])]
            _belief_panel(axes[row, column], rows, name)
        axes[row, 0].set_ylabel(f"cell {cell.cell} · {cell.num_modes} two-step modes", fontsize=8)
    for column, name in enumerate(columns):
        axes[0, column].set_title({"truth": "ground truth (branch freq.)"}.get(name, f"{name} (gated, π)"), fontsize=9)
    seed = frame.seed.min()
    figure.suptitle(f"Two-step beliefs in the cell's local latent plane (each model's own) · {task}, seed {seed}\n"
                    "▼ true successor latents · × predicted peak on a true mode · + predicted peak elsewhere; "
                    "heat: unit-normalized weighted density", fontsize=9, y=1.0)
    return figure


def _belief_panel(axis, rows: pd.DataFrame, name: str) -> None:
    truth = rows[rows.kind == "truth"]
    predicted = rows[(rows.kind == "prediction") & rows.gated]
    shown = truth if name == "truth" else predicted
    points = np.concatenate([truth[["x", "y"]].to_numpy(), predicted[["x", "y"]].to_numpy()])
    span = max(float(np.ptp(truth[["x", "y"]].to_numpy(), axis=0).max()), 1e-3)
    low, high = points.min(axis=0) - 0.35 * span, points.max(axis=0) + 0.35 * span
    extent = (low[0], high[0], low[1], high[1])
    cmap = PANEL_CMAPS.get(name, "Purples")
    _density(axis, shown[["x", "y"]].to_numpy(), shown.weight.to_numpy(), extent, 0.12 * span, cmap)
    axis.plot(truth.x, truth.y, "v", color="darkgreen", markersize=7, markeredgecolor="white", label="true successor")
    if name == "truth":
        for _, mode in truth.iterrows():
            axis.annotate(f"{mode.weight:.0%}", (mode.x, mode.y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    else:
        peaks = predicted.assign(wx=predicted.x * predicted.weight, wy=predicted.y * predicted.weight)
        peaks = peaks.groupby("target_cell").agg(weight=("weight", "sum"), wx=("wx", "sum"), wy=("wy", "sum"),
                                                 is_mode=("is_mode", "first"))
        for _, peak in peaks.iterrows():
            x, y = peak.wx / max(peak.weight, 1e-12), peak.wy / max(peak.weight, 1e-12)
            axis.plot(x, y, "x" if peak.is_mode else "+", color="black", markersize=7)
            if peak.weight >= 0.03:
                axis.annotate(f"{peak.weight:.0%}", (x, y), textcoords="offset points", xytext=(4, -9), fontsize=7)
    axis.set_xticks([])
    axis.set_yticks([])


@dataclass(frozen=True)
class CsvTable:
    """A long table written as CSV only (the branch sweep's and the gate-threshold sweep's)."""

    path: Path


CAPTIONS = {
    "mechanism_sweep": "Fig. 4 (middle): gated mode coverage vs the number of successor modes M (branch sweep)",
    "threshold_sweep": "Gate-threshold sweep: gated cov_r, precision and shuffle vs t",
    "beliefs": "Fig. 2: two-step successor beliefs at the cells with the most two-step modes (one trial per "
               "panel: each arm's main configuration, at the seed in the figure's title)",
}


def artefacts(evidence: Evidence, out: Path) -> list[Figure | CsvTable]:
    """The figures above, captioned, and the sweeps' CSV tables, where their rows exist; Fig. 2 shows the
    trials of the arms' main configurations."""
    if evidence.experiment is None:
        return []
    results = evidence.experiment.results_dir
    found: list[Figure | CsvTable] = []
    main_trials = {arm: g.trial_ids for arm, g in evidence.selection.main.items()}
    for path in render(results, out / "figures", main_trials):
        prefix = next(p for p in CAPTIONS if path.stem.startswith(p))
        task = path.stem.removeprefix(prefix).strip("_")
        found.append(Figure(path.stem, CAPTIONS[prefix] + (f" ({task})" if task else ""), path))
    for name, frame in tables(results, main_trials).items():
        if not frame.empty:
            path = out / "tables" / f"{name}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(path, index=False)
            found.append(CsvTable(path))
    return found
