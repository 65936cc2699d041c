"""Parquet I/O: one file per (table, trial), hive-partitioned by task and arm, written atomically.

    <root>/<table>/task=<task>/arm=<arm>/<trial_id>.parquet

A trial that runs again replaces its own files, so re-running never duplicates rows. The metrics
file is written last: its presence marks the trial as complete.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from mopjepa.results.schema import PARTITION_COLUMNS, table_schema

_PARTITIONING = ds.partitioning(pa.schema([(c, pa.string()) for c in PARTITION_COLUMNS]), flavor="hive")


def trial_file(root: Path, table: str, task: str, arm: str, trial_id: str) -> Path:
    return Path(root) / table / f"task={task}" / f"arm={arm}" / f"{trial_id}.parquet"


def write_trial_rows(root: Path, table: str, rows: Sequence[dict[str, Any]], lineage: dict[str, Any]) -> Path | None:
    """Write one trial's rows of `table` (each row completed with the lineage columns); None if no rows."""
    if not rows:
        return None
    schema = table_schema(table)
    columns = {name: [] for name in schema.names}
    for row in rows:
        unknown = set(row) - set(schema.names)
        if unknown:
            raise ValueError(f"rows of table {table!r} have unknown columns {sorted(unknown)}")
        full = {**lineage, **row}
        for name in schema.names:
            columns[name].append(full.get(name))
    arrow = pa.table(columns, schema=schema).drop_columns(list(PARTITION_COLUMNS))
    path = trial_file(root, table, lineage["task"], lineage["arm"], lineage["trial_id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        pq.write_table(arrow, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_trial_tables(root: Path, tables: dict[str, Sequence[dict[str, Any]]], lineage: dict[str, Any]) -> None:
    """Write every table of one trial, the metrics table last (it marks the trial complete)."""
    for table in sorted(tables, key=lambda name: name == "metrics"):
        write_trial_rows(root, table, tables[table], lineage)


def read_table(root: Path, table: str, filter_expression: ds.Expression | None = None) -> pd.DataFrame:
    """All rows of one table of an experiment (empty, with the right columns, if none were written)."""
    schema = table_schema(table)
    directory = Path(root) / table
    if not directory.exists():
        return schema.empty_table().to_pandas()
    dataset = ds.dataset(
        directory, format="parquet", partitioning=_PARTITIONING, schema=schema, exclude_invalid_files=True
    )
    # Nullable integers keep K = 4 an integer where other arms have no K.
    return dataset.to_table(filter=filter_expression).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)


FINAL_TABLES = ("metrics", "mechanism")
"""A trial's last-written table: metrics for maze trials, mechanism for branch-sweep trials."""


def completed_trials(root: Path) -> set[str]:
    """Trial ids whose final table exists (it is the last file a trial writes)."""
    done = set()
    for table in FINAL_TABLES:
        directory = Path(root) / table
        if directory.exists():
            done |= {path.stem for path in directory.glob("task=*/arm=*/*.parquet")}
    return done
