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
from mopjepa.results.studies import STUDIES, STUDIES_KEY, parse_studies, split_studies, tagged

__all__ = [
    "COMPLETE",
    "MISSING",
    "PARTIAL",
    "TRIAL_STATES",
    "UNREADABLE",
    "SCHEMA_VERSION",
    "STUDIES",
    "STUDIES_KEY",
    "TABLES",
    "Lineage",
    "completed_trials",
    "parse_studies",
    "read_table",
    "split_studies",
    "table_schema",
    "tagged",
    "trial_file",
    "trial_id",
    "trial_states",
    "write_trial_rows",
    "write_trial_tables",
]
