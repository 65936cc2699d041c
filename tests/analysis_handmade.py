"""A small hand-made experiment (metrics rows written with write_trial_rows) with known answers."""

from __future__ import annotations

import json
from pathlib import Path

from mopjepa.analysis.evidence import Evidence
from mopjepa.analysis.load import load_experiment
from mopjepa.analysis.paper import PaperTables
from mopjepa.analysis.selection import select
from mopjepa.config import TrialConfig
from mopjepa.results import Lineage, split_studies, trial_id, write_trial_rows

MED = "pointmaze-medium-stitch-v0"
TEL = "pointmaze-teleport-navigate-v0"
LARGE = "pointmaze-large-stitch-v0"
BUDGET = {"steps": 100, "batch_size": 32}
"""Shared by every trial: the experiment's reference, not a deviation."""

NAN = float("nan")
MAIN = {"studies": ["main"]}
MATCHED = {"studies": ["matched_capacity"]}

# (flat config without budget, {(metric, key): value})
TRIALS = [
    *[({"task": MED, "arm": "dense", "seed": s, "episodes_per_task": 5 if s == 0 else 0, **MAIN},
       {("plan_all", ""): p, ("realroute", ""): r, ("precision", ""): 0.9})
      for s, p, r in ((0, 0.1, 0.05), (1, 0.2, 0.06), (2, 0.3, 0.07))],
    *[({"task": MED, "arm": "mdn", "seed": s, "studies": ["main", "mdn_grid"]},
       {("plan_all", ""): p, ("realroute", ""): r, ("precision", ""): 0.2, ("realroute_ceiling", ""): c,
        ("realroute_norm", ""): r / c})
      for s, p, r, c in ((0, 0.5, 0.10, 0.4), (1, 0.6, 0.12, 0.3), (2, 0.7, 0.20, 0.5))],
    *[({"task": MED, "arm": "mop", "seed": s, **MAIN},
       {("plan_all", ""): p, ("realroute", ""): r, ("precision", ""): 0.5, ("realroute_ceiling", ""): c,
        ("realroute_norm", ""): r / c})
      for s, p, r, c in ((0, 0.4, 0.30, 0.4), (1, 0.5, 0.25, 0.3), (2, 0.6, 0.41, 0.5))],
    *[({"task": LARGE, "arm": "dense", "seed": s, "episodes_per_task": 5, **MAIN},
       {("exec_success", ""): e, ("exec_floor", ""): f, ("exec_lift", ""): e - f, ("exec_fallback", ""): 0.5,
        **references})
      for s, e, f, references in (
          (0, 0.6, 0.4, {("exec_ceiling", ""): 0.5, ("exec_truth", ""): 1.0, ("exec_gain", ""): 0.2 / 0.6}),
          (1, 0.4, 0.4, {}),  # written before the ceilings existed
      )],
    ({"task": MED, "arm": "mop", "seed": 0, "K": 2, "studies": ["k_sweep"]}, {("plan_all", ""): 0.9,
                                                                             ("realroute", ""): 0.9}),
    *[({"task": MED, "arm": "mdn", "seed": s, "lam_bal": 0.1, "studies": ["mdn_grid"]}, {("realroute", ""): r})
      for s, r in ((0, 0.15), (1, 0.25))],
    *[({"task": TEL, "arm": "mop", "seed": s, **MAIN},
       {("cov_r_raw", "teleport"): 1.0, ("cov_r", "teleport"): c, ("shuffle", "teleport"): sh})
      for s, c, sh in ((0, 0.5, 2.0), (1, 0.7, NAN))],
    # Matched capacity: a larger step budget than every other trial's.
    *[({"task": LARGE, "arm": "mop", "seed": s, "K": 16, "steps": 400, **MATCHED}, {("realroute", ""): r})
      for s, r in ((0, 0.2), (1, 0.3))],
    *[({"task": LARGE, "arm": "mdn", "seed": s, "K": 16, "lam_bal": 0.1, "steps": 400, **MATCHED},
       {("realroute", ""): r})
      for s, r in ((0, 0.1), (1, 0.12))],
]
PLANNED_BUT_MISSING = {"task": MED, "arm": "var", "seed": 0, "studies": ["main"]}


def flat_of(partial: dict) -> dict:
    return {**BUDGET, **partial}


def write_handmade(root: Path, with_manifest: bool = True) -> Path:
    """Write the hand-made experiment into root/'exp'; its manifest also plans one var trial never run."""
    experiment = Path(root) / "exp"
    planned = []
    for partial, metrics in TRIALS:
        flat, studies = split_studies(flat_of(partial))
        cfg = TrialConfig.from_flat(flat)
        lineage = Lineage(trial_id(cfg), "exp", "regenerated", f"hash-{cfg.data.task}", "abc123", studies)
        rows = [{"metric": metric, "key": key, "value": value} for (metric, key), value in metrics.items()]
        write_trial_rows(experiment / "results", "metrics", rows, lineage.columns(cfg))
        planned.append({"trial_id": trial_id(cfg), "flat": flat, "studies": list(studies)})
    missing, studies = split_studies(flat_of(PLANNED_BUT_MISSING))
    planned.append({"trial_id": trial_id(TrialConfig.from_flat(missing)), "flat": missing, "studies": list(studies)})
    if with_manifest:
        (experiment / "manifest.json").write_text(json.dumps({"preset": "handmade", "name": "exp", "trials": planned}))
    return experiment


def missing_trial_id() -> str:
    return trial_id(TrialConfig.from_flat(split_studies(flat_of(PLANNED_BUT_MISSING))[0]))


def write_trials(root: Path, trials: list[tuple[dict, list[str], dict[str, float]]]) -> Evidence:
    """trials: [(flat, studies, {metric: value})] written as real Parquet; the evidence read back."""
    for flat, studies, metrics in trials:
        cfg = TrialConfig.from_flat({"steps": 10, **flat})
        lineage = Lineage(trial_id(cfg), "exp", "regenerated", "h", "c", tuple(studies)).columns(cfg)
        rows = [{"metric": m, "key": "", "value": v} for m, v in metrics.items()]
        write_trial_rows(root / "results", "metrics", rows, lineage)
    results = load_experiment(root)
    return Evidence(results.metrics, select(results.trials()), PaperTables.load(), curves=results.table("curves"))
