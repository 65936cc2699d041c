"""A record's trials executed again in another of their recorded graphs, read as metrics (the plan_graph readings).

`pipelines/record_executions.py` writes `<experiment>/executions.json`: for each (trial, plan_graph) the
rows the trial would have written had its executor planned in that graph (exec_success, exec_floor,
exec_lift, exec_ceiling, exec_truth, exec_gain per task and overall; the fallback share; mean replans).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

EXECUTIONS_FILE = "executions.json"
PLAN_GRAPH = "gated"
"""The graph the record is executed again in: the protocol's default executor plans in the raw one (§6 [choice])."""
COLUMNS = ["trial_id", "task", "seed", "metric", "key", "value"]


def execution_key(entry: dict) -> tuple[str, str]:
    return entry["trial_id"], entry["plan_graph"]


def executed_in(path: Path, plan_graph: str) -> pd.DataFrame:
    """[trial_id, task, seed, metric, key, value]: every trial's execution rows in `plan_graph` (none if the file
    is absent)."""
    entries = json.loads(path.read_text())["executions"] if path.exists() else []
    rows = [{"trial_id": entry["trial_id"], "task": entry["task"], "seed": entry["seed"], **row}
            for entry in entries if entry["plan_graph"] == plan_graph for row in entry["rows"]]
    return pd.DataFrame(rows, columns=COLUMNS)
