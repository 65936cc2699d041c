"""A record's trials executed again under another execution choice, read as metrics (the execution readings).

`pipelines/record_executions.py` writes `<experiment>/executions.json`: for each (trial, reading) the rows the
trial would have written had its executor run with that reading's choice (exec_success, exec_floor, exec_lift
per task and overall; the fallback share; mean replans; and exec_ceiling, exec_truth, exec_gain where the
reading leaves the ceilings as they were). A reading changes ExecuteConfig fields (EXECUTION_READINGS).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mopjepa.config import ExecuteConfig

EXECUTIONS_FILE = "executions.json"
GATED = "plan_graph=gated"
EXPLORE = "fallback=explore"
REPAIR = "online_repair=on"
EXECUTION_READINGS = {GATED: {"plan_graph": "gated"}, EXPLORE: {"fallback": "explore"}, REPAIR: {"online_repair": True}}
"""reading -> the ExecuteConfig fields it changes: the graph planned in (the protocol's default is the raw
one), the fallback without a path (the default steers straight at the goal), whether the transitions the agent
experiences join its working graph (off by default; the paper's executor repairs online, its Table 4).
docs/protocol.md §6, §10."""
CEILING_FIELDS = ("plan_graph",)
"""The fields a reading may change and keep the trial's ceilings (executions of ground truth's graphs, which
do not depend on the proposed graph); a reading that changes another field has no ceilings, so no gain."""
COLUMNS = ["trial_id", "task", "seed", "metric", "key", "value"]


def ran_otherwise(rows: pd.DataFrame, reading: str) -> pd.Series:
    """[len(rows)] bool: the rows (with their trials' config columns) whose executor ran otherwise than `reading`
    (a field missing from an old row reads as its default)."""
    differs = pd.Series(False, index=rows.index)
    for field, value in EXECUTION_READINGS[reading].items():
        differs |= rows[field].fillna(getattr(ExecuteConfig, field)) != value
    return differs


def execution_key(entry: dict) -> tuple[str, str]:
    return entry["trial_id"], entry["reading"]


def executed_in(path: Path, reading: str) -> pd.DataFrame:
    """[trial_id, task, seed, metric, key, value]: every trial's execution rows under `reading` (none if the file
    is absent)."""
    entries = json.loads(path.read_text())["executions"] if path.exists() else []
    rows = [{"trial_id": entry["trial_id"], "task": entry["task"], "seed": entry["seed"], **row}
            for entry in entries if entry["reading"] == reading for row in entry["rows"]]
    return pd.DataFrame(rows, columns=COLUMNS)
