"""Row schemas of the result tables: the contract between a trial and every analysis.

Every row of every table carries the trial's lineage (trial id, task, arm, seed, data source and
hash, git commit, schema version, the flat config as JSON) and the flat config itself as typed
columns, one per key any arm has (null where the trial's arm, or its kind, has no such key: a
branch-sweep trial has none of the maze keys, mopjepa.config.MAZE_KEYS).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from mopjepa.config import TrialConfig, flat_key_types
from mopjepa.config.identity import identity
from mopjepa.execute.episode import Episode
from mopjepa.results.studies import studies_text

SCHEMA_VERSION = 4
"""1: the first five tables. 2: adds the `beliefs` table (Fig. 2's two-step beliefs, written by every
maze trial), the `mechanism` table (the branch sweep's long-form rows) and the BranchSweepConfig
config columns (null for maze trials); metrics gain the threshold_* rows. 3: adds the `curves` table
(the protocol's metrics during training) and the eval_every, threads, device and sigma_fixed config
columns; metrics gain exec_floor, exec_lift, realroute_ceiling, realroute_norm(_raw) and the arms'
diagnostics (mdn_sigma, mdn_resp_max); every row gains `studies` (the studies its preset declared).
4: context_action is a mode ('none', 'step', 'to_exit'; a bool before, read back as its mode), the
query_actions config column, the edges' `action` (the queried action that realizes an edge) and the
query_action_scale metric; every row gains `environment` (JSON: the python, torch, numpy, mujoco, ogbench and
ray versions and the processor model of the process that ran the trial), and from then on `data_hash` is the
content hash of the data's arrays (the file hash before). Older files read back with the new columns null."""

TABLES = ("metrics", "edges", "episodes", "training", "curves", "outputs", "beliefs", "mechanism")
"""metrics: long form (metric, key, value); edges: the proposed graph; episodes: execution records;
training: the loss curve; curves: the protocol's metrics during training (long form step, metric, key,
value; the last step's rows equal the trial's final metrics); outputs: every output of every cell query
(for figures); beliefs: the two-step beliefs at the cells with the most two-step modes, in each cell's
local latent plane
(mopjepa.evaluate.beliefs); mechanism: the branch sweep's long form (metric, key = M, value)."""

PARTITION_COLUMNS = ("task", "arm")

_ARROW_TYPES = {int: pa.int64(), float: pa.float64(), bool: pa.bool_(), str: pa.string()}


CONFIG_COLUMNS: dict[str, pa.DataType] = {key: _ARROW_TYPES[kind] for key, kind in flat_key_types().items()}

LINEAGE_COLUMNS: dict[str, pa.DataType] = {
    "trial_id": pa.string(),
    "experiment": pa.string(),
    "data_source": pa.string(),
    "data_hash": pa.string(),
    "git_commit": pa.string(),
    "schema_version": pa.int64(),
    "config_json": pa.string(),
    "studies": pa.string(),
    "environment": pa.string(),
}

TABLE_COLUMNS: dict[str, dict[str, pa.DataType]] = {
    "metrics": {"metric": pa.string(), "key": pa.string(), "value": pa.float64()},
    "edges": {
        "graph": pa.string(),
        "source": pa.int64(),
        "target": pa.int64(),
        "source_i": pa.int64(),
        "source_j": pa.int64(),
        "target_i": pa.int64(),
        "target_j": pa.int64(),
        "weight": pa.float64(),
        "cost": pa.float64(),
        "real": pa.bool_(),
        "heldout": pa.bool_(),
        "action": pa.int64(),
    },
    "episodes": {column: _ARROW_TYPES[kind] for column, _, kind in Episode.table_fields()},
    "training": {"step": pa.int64(), "metric": pa.string(), "value": pa.float64()},
    "curves": {"step": pa.int64(), "metric": pa.string(), "key": pa.string(), "value": pa.float64()},
    "outputs": {
        "query": pa.string(),
        "cell": pa.int64(),
        "output": pa.int64(),
        "weight": pa.float64(),
        "gated": pa.bool_(),
        "decoded": pa.int64(),
        "similarity": pa.list_(pa.float32()),
    },
    "beliefs": {
        "cell": pa.int64(),
        "rank": pa.int64(),
        "num_modes": pa.int64(),
        "kind": pa.string(),
        "index": pa.int64(),
        "x": pa.float64(),
        "y": pa.float64(),
        "residual": pa.float64(),
        "weight": pa.float64(),
        "gated": pa.bool_(),
        "target_cell": pa.int64(),
        "is_mode": pa.bool_(),
    },
    "mechanism": {"metric": pa.string(), "key": pa.string(), "value": pa.float64()},
}


def table_schema(table: str) -> pa.Schema:
    if table not in TABLE_COLUMNS:
        raise ValueError(f"unknown result table {table!r}; known: {TABLES}")
    columns = {**TABLE_COLUMNS[table], **LINEAGE_COLUMNS, "task": pa.string(), **CONFIG_COLUMNS}
    return pa.schema(list(columns.items()))


def trial_id(cfg: TrialConfig) -> str:
    """A stable 12-hex id of what a trial computes (mopjepa.config.identity: its flat config less the
    runtime keys and the added keys at their old value)."""
    text = json.dumps(identity(cfg.to_flat()), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Lineage:
    """What every row of a trial says about where it came from."""

    trial_id: str
    experiment: str
    data_source: str
    data_hash: str
    git_commit: str
    studies: tuple[str, ...] = ()
    """The studies the trial feeds (mopjepa.results.studies), as its preset declared them."""

    def columns(self, cfg: TrialConfig) -> dict[str, Any]:
        return self.columns_of_flat(cfg.to_flat(), cfg.data.task)

    def columns_of_flat(self, flat: dict[str, Any], task: str) -> dict[str, Any]:
        """The lineage columns of a flat config that need not be a TrialConfig (an audited model's:
        its `arm` names the model, keys without a config column live in config_json only)."""
        row = {name: flat.get(name) for name in CONFIG_COLUMNS}
        row.update(dataclasses.asdict(self))
        row["studies"] = studies_text(self.studies)
        row.update(task=task, schema_version=SCHEMA_VERSION, config_json=json.dumps(flat, sort_keys=True))
        return row
