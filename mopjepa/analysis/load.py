"""An experiment directory as the analysis sees it: its metrics, its plan, its lineage.

    EXP/manifest.json                                   the planned trials (absent for single trials)
    EXP/results/<table>/task=<task>/arm=<arm>/<id>.parquet

Only Parquet and JSON are read; nothing here needs torch, Ray or a tracking server. Which trials
are complete is decided by the one rule of mopjepa.results (`trial_states`: the final table, metrics
or mechanism, exists and reads back); every other trial, planned or found on disk, is listed with its
state (missing, partial, unreadable), and no table or figure reads its rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds

from mopjepa.config import RUNTIME_KEYS
from mopjepa.results import COMPLETE, MISSING, STUDIES_KEY, read_table, trial_states
from mopjepa.results.studies import parse_studies, studies_text

LINEAGE_FIELDS = ("git_commit", "data_source", "data_hash", "schema_version")


@dataclass(frozen=True)
class MissingTrial:
    """A trial that is not complete: planned and never written, or partial, or unreadable."""

    trial_id: str
    flat: dict
    state: str = MISSING
    """missing, partial or unreadable (mopjepa.results.TRIAL_STATES)."""
    studies: tuple[str, ...] = ()
    """The studies the manifest declares for it (mopjepa.results.studies)."""

    def describe(self) -> str:
        if not self.flat:
            return f"{self.trial_id}: {self.state} (not in manifest.json)"
        keys = ", ".join(f"{k}={v}" for k, v in self.flat.items() if k not in ("task", "arm", "seed", *RUNTIME_KEYS))
        head = f"{self.trial_id}: {self.flat.get('arm', '?')} on {self.flat.get('task', '?')}"
        return f"{head}, seed {self.flat.get('seed', 0)}" + (f" ({keys})" if keys else "") + f": {self.state}"


@dataclass(frozen=True)
class ExperimentResults:
    root: Path
    """The experiment directory EXP."""
    metrics: pd.DataFrame
    """Every metrics row of every completed trial (long form, with the flat config columns)."""
    manifest: dict | None
    """manifest.json as written by the matrix driver, or None."""
    missing: list[MissingTrial] = field(default_factory=list)
    """Every trial that is not complete: planned ones (in the manifest's order), then others found on disk."""
    unplanned: list[str] = field(default_factory=list)
    """Complete trials on disk that the manifest does not plan (e.g. a manifest replaced by hand): no table
    reads them."""

    @property
    def complete(self) -> bool:
        """True only when the planned trials are known and every one of them is complete."""
        return self.manifest is not None and not self.missing

    @property
    def name(self) -> str:
        return self.manifest["name"] if self.manifest and "name" in self.manifest else self.root.name

    @property
    def results_dir(self) -> Path:
        return self.root / "results"

    @property
    def trial_ids(self) -> list[str]:
        return sorted(self.metrics["trial_id"].unique())

    def trials(self) -> pd.DataFrame:
        """One row per completed trial: its flat config columns and lineage (metric columns dropped).

        Its `studies` are the ones its rows carry and the ones the manifest declares for it now: a plan
        that grows may add a study to a trial that already ran (e.g. the MDN grid's default cell, which
        is the main MDN)."""
        drop = ["metric", "key", "value"]
        trials = self.metrics.drop(columns=drop).drop_duplicates("trial_id").reset_index(drop=True)
        planned = {t["trial_id"]: t.get(STUDIES_KEY, []) for t in (self.manifest or {}).get("trials", [])}
        if planned and "studies" in trials:
            trials["studies"] = [studies_text({*parse_studies(rows), *planned.get(trial, [])})
                                 for trial, rows in zip(trials["trial_id"], trials["studies"], strict=True)]
        return trials

    def table(self, name: str, trial_ids: list[str] | None = None) -> pd.DataFrame:
        """Another result table (outputs, edges, ...), optionally only some trials' rows."""
        expression = None if trial_ids is None else ds.field("trial_id").isin(list(trial_ids))
        return read_table(self.results_dir, name, expression)

    def lineage(self) -> dict[str, list[str]]:
        """Every distinct git commit, data source, data hash and schema version seen, per field."""
        trials = self.trials()
        seen = {}
        for name in LINEAGE_FIELDS:
            values = trials[name].dropna().astype(str) if name in trials else pd.Series(dtype=str)
            seen[name] = sorted(values.unique())
        seen["data"] = data_lineage(trials)
        return seen


def data_lineage(trials: pd.DataFrame) -> list[str]:
    """Per task, each data hash its trials were trained on, with their count and where it was made.

    Regenerated data depends on the machine (docs/reproduction.md), so one task may have several."""
    known = trials["environment"].astype(object) if "environment" in trials else pd.Series(None, trials.index, object)
    trials = trials.assign(made=known.map(_made_on, na_action="ignore").fillna("machine not recorded"))
    lines = []
    for (task, source, data_hash), rows in trials.groupby(["task", "data_source", "data_hash"], sort=True):
        made = "; ".join(sorted(set(rows["made"])))
        lines.append(f"{task}: {source} {data_hash} ({len(rows)} trial{'s' * (len(rows) != 1)}; {made})")
    return lines


def _made_on(environment: str) -> str:
    known = json.loads(environment)
    return f"{known.get('processor', '?')}, mujoco {known.get('mujoco', '?')}, numpy {known.get('numpy', '?')}"


def load_experiment(root: Path) -> ExperimentResults:
    """Read an experiment directory; a partial experiment loads and lists its missing trials."""
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"experiment directory {root} does not exist")
    manifest = read_manifest(root)
    results = root / "results"
    if not results.is_dir() and manifest is None:
        raise FileNotFoundError(f"{root} has neither results/ nor manifest.json: not an experiment directory")
    metrics = read_table(results, "metrics")  # complete trials only
    plan = {trial["trial_id"]: trial for trial in (manifest or {}).get("trials", [])}
    states = trial_states(results, plan)
    missing = [MissingTrial(trial, dict(plan.get(trial, {}).get("flat", {})), state,
                            tuple(plan.get(trial, {}).get("studies", ())))
               for trial, state in states.items() if state != COMPLETE]
    unplanned = sorted(set(metrics["trial_id"]) - set(plan)) if manifest is not None else []
    if unplanned:  # the manifest is the plan the results are read against
        metrics = metrics[metrics["trial_id"].isin(plan)].reset_index(drop=True)
    return ExperimentResults(root=root, metrics=metrics, manifest=manifest, missing=missing, unplanned=unplanned)


def read_manifest(root: Path) -> dict | None:
    path = Path(root) / "manifest.json"
    if not path.exists():
        return None
    manifest = json.loads(path.read_text())
    trials = manifest.get("trials")
    if not isinstance(trials, list) or any("trial_id" not in trial for trial in trials):
        raise ValueError(f"{path}: 'trials' must be a list of {{'trial_id': ..., 'flat': {{...}}}}")
    return manifest
