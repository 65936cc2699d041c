"""Result rows and their Parquet tables (no torch, no Ray): the contract read by analysis."""

from mopjepa.results.parquet import (
    COMPLETE,
    MISSING,
    PARTIAL,
    TRIAL_STATES,
    UNREADABLE,
    completed_trials,
    read_table,
    trial_file,
    trial_states,
    write_trial_rows,
    write_trial_tables,
)
from mopjepa.results.schema import SCHEMA_VERSION, TABLES, Lineage, table_schema, trial_id

__all__ = [
    "COMPLETE",
    "MISSING",
    "PARTIAL",
    "TRIAL_STATES",
    "UNREADABLE",
    "SCHEMA_VERSION",
    "TABLES",
    "Lineage",
    "completed_trials",
    "read_table",
    "table_schema",
    "trial_file",
    "trial_id",
    "trial_states",
    "write_trial_rows",
    "write_trial_tables",
]
