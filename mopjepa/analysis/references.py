"""The execution ceilings of a record's trials that ran before trials wrote them, read into the metrics.

`pipelines/record_references.py` writes `<experiment>/references.json`: for each (maze, seed) the
ceiling and truth success of the trials' executor on reference graphs built from this machine's data,
and whether their truth and hold-out matched every edge flag and route metric those trials recorded.
`with_references` adds, for every trial without its own, the rows a trial writes (exec_ceiling,
exec_truth, exec_gain), marked in REFERENCE_SOURCE so that a table can say where they came from.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mopjepa.evaluate.execution import execution_gains

REFERENCES_FILE = "references.json"
"""The ceilings of a record's trials that ran before trials wrote them (pipelines/record_references.py)."""
REFERENCE_SOURCE = "exec_reference_source"
"""A metrics column naming where rows added by `with_references` came from (absent: the trial's own)."""


def per_task(metrics: pd.DataFrame, metric: str) -> dict[int, float]:
    """{task id: value} of one trial's per-task rows of `metric` (key = the task id)."""
    rows = metrics[(metrics["metric"] == metric) & (metrics["key"] != "")]
    return dict(zip(rows["key"].astype(int), rows["value"].astype(float), strict=True))


def with_references(metrics: pd.DataFrame, path: Path) -> pd.DataFrame:
    """`metrics` plus exec_ceiling, exec_truth and exec_gain rows, as a trial writes them, for every trial without
    its own that a matched entry of the references file at `path` names (rows marked in REFERENCE_SOURCE)."""
    entries = json.loads(path.read_text())["references"] if path.exists() else []
    own = set(metrics.loc[metrics["metric"] == "exec_ceiling", "trial_id"])
    found: dict[str, dict[str, dict[int, float]]] = {}
    for entry in entries:
        if not entry.get("matched"):  # a partial entry, or data that did not match the trials' record
            continue
        for trial in set(entry["trials"]) - own:
            found.setdefault(trial, {})[entry["reference"]] = {int(t): v for t, v in entry["success"].items()}
    rows = []
    for trial, references in sorted(found.items()):
        mine = metrics[metrics["trial_id"] == trial]
        if mine.empty or set(references) != {"ceiling", "truth"}:
            continue
        gain, overall_gain = execution_gains(per_task(mine, "exec_success"), per_task(mine, "exec_floor"),
                                             references["truth"])
        base = mine.iloc[0].drop(["metric", "key", "value"]).to_dict()
        for metric, values in (("exec_ceiling", references["ceiling"]), ("exec_truth", references["truth"]),
                               ("exec_gain", gain)):
            keyed = [(str(task), value) for task, value in values.items()]
            mean = sum(values.values()) / len(values) if values else None
            overall = overall_gain if metric == "exec_gain" else mean
            keyed += [("", overall)] if overall is not None else []
            rows += [{**base, "metric": metric, "key": key, "value": value, REFERENCE_SOURCE: path.name}
                     for key, value in keyed]
    return pd.concat([metrics, pd.DataFrame(rows)], ignore_index=True) if rows else metrics
