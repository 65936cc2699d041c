"""Parquet I/O: one file per (table, trial), hive-partitioned by task and arm, written atomically.

    <root>/<table>/task=<task>/arm=<arm>/<trial_id>.parquet

A trial that runs again replaces its own files, so re-running never duplicates rows. The metrics
file (the mechanism file for branch-sweep trials) is written last. The one completeness rule, used by
every reader of results (the driver's summary, the report, every table and figure): a trial is
complete when that final file exists with rows and every table file of the trial reads back as
Parquet (`trial_states`); `read_table` returns the rows of complete trials only, so a killed trial's
leftover tables and a truncated file of any table never reach a table or a figure, nor stop one.

Files are written with the permissions of the process's umask (0666 & ~umask), like any other file
the user creates, so that results on shared storage stay readable by the group.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from mopjepa.config.identity import ADDED_KEYS, context_action_mode
from mopjepa.data.npzio import public_mode
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
        os.chmod(temporary, public_mode())  # mkstemp makes 0600 files
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_trial_tables(root: Path, tables: dict[str, Sequence[dict[str, Any]]], lineage: dict[str, Any]) -> None:
    """Write every table of one trial, the metrics table last (it marks the trial complete)."""
    for table in sorted(tables, key=lambda name: name == "metrics"):
        write_trial_rows(root, table, tables[table], lineage)


def read_table(
    root: Path, table: str, filter_expression: ds.Expression | None = None, complete_only: bool = True
) -> pd.DataFrame:
    """One table's rows (empty, with the right columns, if none): by default only those of complete trials
    (`trial_states`), so no reader sees a partial trial."""
    schema = table_schema(table)
    directory = Path(root) / table
    if not directory.exists():
        return schema.empty_table().to_pandas()
    files = sorted(str(path) for path in directory.glob("task=*/arm=*/*.parquet"))
    if complete_only:
        complete = completed_trials(root)
        files = [path for path in files if Path(path).stem in complete]
    if not files:
        return schema.empty_table().to_pandas()
    dataset = ds.dataset(
        files, format="parquet", partitioning=_PARTITIONING, partition_base_dir=str(directory), schema=schema
    )
    # Nullable integers keep K = 4 an integer where other arms have no K.
    frame = dataset.to_table(filter=filter_expression).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    # Files of schema <= 3 hold context_action as a bool (read back as 'false'/'true'): its mode now;
    # and the keys added since at the value those trials had (mopjepa.config.identity).
    frame["context_action"] = frame["context_action"].map(context_action_mode, na_action="ignore")
    for key, old_value in ADDED_KEYS.items():
        if key in frame:
            frame[key] = frame[key].fillna(old_value)
    return frame


FINAL_TABLES = ("metrics", "mechanism")
"""A trial's last-written table: metrics for maze trials, mechanism for branch-sweep trials."""

COMPLETE, PARTIAL, UNREADABLE, MISSING = "complete", "partial", "unreadable", "missing"
TRIAL_STATES = (COMPLETE, PARTIAL, UNREADABLE, MISSING)


def trial_states(root: Path, planned: Iterable[str] = ()) -> dict[str, str]:
    """The completeness rule: every trial id found under `root` (and every `planned` one) -> its state.

    complete: its final table's file exists and has rows, and every table file of the trial reads back;
    unreadable: it has a final file, but that file is empty or one of its table files (the final one or
        any other) is truncated or corrupt;
    partial: other tables of the trial exist but no final file (a trial killed part-way);
    missing: planned, and nothing of it was written.
    A file reads back when its Parquet footer does (what a truncated file loses first): cheap enough to
    check every file of a record of thousands on each call, and a file is checked again only once it changed.
    """
    states = dict.fromkeys(planned, MISSING)
    for trial, files in _files_by_trial(Path(root)).items():
        states[trial] = _state_of(files)
    return states


def _files_by_trial(root: Path) -> dict[str, dict[str, Path]]:
    """trial id -> {table: its file}, for every table file under `root`."""
    found: dict[str, dict[str, Path]] = {}
    if root.is_dir():
        for path in root.glob("*/task=*/arm=*/*.parquet"):
            found.setdefault(path.stem, {})[path.parents[2].name] = path
    return found


def _state_of(files: dict[str, Path]) -> str:
    """The state of one trial found on disk, from its table files ({table: file})."""
    if not any(table in files for table in FINAL_TABLES):
        return PARTIAL
    rows = {table: _footer_rows(path) for table, path in files.items()}
    if None in rows.values() or not any(rows.get(table) for table in FINAL_TABLES):
        return UNREADABLE
    return COMPLETE


_FOOTERS: dict[tuple[str, int, int, int], int | None] = {}
"""(path, inode, size, mtime) -> the rows its footer declares (None: unreadable); a rewritten file gets a new key."""


def _footer_rows(path: Path) -> int | None:
    """The number of rows `path`'s Parquet footer declares, or None when the footer cannot be read."""
    try:
        status = path.stat()
    except OSError:
        return None
    key = (str(path), status.st_ino, status.st_size, status.st_mtime_ns)
    if key not in _FOOTERS:
        try:
            _FOOTERS[key] = pq.read_metadata(path).num_rows
        except (OSError, ValueError, pa.ArrowException):
            _FOOTERS[key] = None
    return _FOOTERS[key]


def completed_trials(root: Path) -> set[str]:
    """Ids of the complete trials under `root` (see `trial_states`)."""
    return {trial for trial, state in trial_states(root).items() if state == COMPLETE}
