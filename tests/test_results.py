"""Result schemas and Parquet I/O: lineage on every row, atomic idempotent writes, typed reads."""

import json

import pandas as pd
import pytest

from mopjepa.config import TrialConfig
from mopjepa.results import Lineage, completed_trials, read_table, table_schema, trial_id, write_trial_rows
from mopjepa.results.schema import SCHEMA_VERSION


def lineage_for(flat):
    cfg = TrialConfig.from_flat(flat)
    return cfg, Lineage(trial_id(cfg), "exp", "regenerated", "f" * 64, "abc1234").columns(cfg)


def test_trial_id_is_stable_and_ignores_runtime_keys():
    a, _ = lineage_for({"arm": "mop", "K": 4})
    b, _ = lineage_for({"arm": "mop", "K": 4, "dataset_dir": "/elsewhere", "execute_workers": 3})
    c, _ = lineage_for({"arm": "mop", "K": 5})
    assert trial_id(a) == trial_id(b) != trial_id(c)
    assert len(trial_id(a)) == 12


def test_rows_carry_lineage_and_flat_config(tmp_path):
    cfg, lineage = lineage_for({"arm": "mop", "K": 4, "task": "pointmaze-large-stitch-v0", "seed": 2})
    write_trial_rows(tmp_path, "metrics", [{"metric": "plan_all", "key": "", "value": 0.75}], lineage)
    frame = read_table(tmp_path, "metrics")
    row = frame.iloc[0]
    assert row.task == "pointmaze-large-stitch-v0" and row.arm == "mop" and row.seed == 2 and row.K == 4
    assert row.data_source == "regenerated" and row.git_commit == "abc1234"
    assert row.schema_version == SCHEMA_VERSION and row.trial_id == trial_id(cfg)
    assert json.loads(row.config_json) == cfg.to_flat()
    assert (tmp_path / "metrics" / "task=pointmaze-large-stitch-v0" / "arm=mop" / f"{trial_id(cfg)}.parquet").exists()


def test_rewriting_a_trial_replaces_its_rows(tmp_path):
    _, lineage = lineage_for({"arm": "dense"})
    for value in (0.1, 0.2):
        write_trial_rows(tmp_path, "metrics", [{"metric": "plan_all", "key": "", "value": value}], lineage)
    frame = read_table(tmp_path, "metrics")
    assert frame.value.tolist() == [0.2]
    assert not list(tmp_path.rglob("*.tmp"))


def test_arms_without_a_key_read_back_as_null_and_integers_stay_integers(tmp_path):
    for flat in ({"arm": "dense"}, {"arm": "mop", "K": 16}):
        _, lineage = lineage_for(flat)
        write_trial_rows(tmp_path, "metrics", [{"metric": "plan_all", "key": "", "value": 1.0}], lineage)
    frame = read_table(tmp_path, "metrics").set_index("arm")
    assert pd.isna(frame.loc["dense", "K"]) and frame.loc["mop", "K"] == 16
    assert str(frame["K"].dtype) == "Int64"
    assert completed_trials(tmp_path) == set(frame.trial_id)


def test_unknown_columns_and_tables_are_errors(tmp_path):
    _, lineage = lineage_for({"arm": "dense"})
    with pytest.raises(ValueError, match=r"unknown columns \['valu'\]"):
        write_trial_rows(tmp_path, "metrics", [{"metric": "x", "key": "", "valu": 1.0}], lineage)
    with pytest.raises(ValueError, match="unknown result table"):
        table_schema("losses")


def test_empty_tables_read_with_their_columns(tmp_path):
    frame = read_table(tmp_path, "episodes")
    assert frame.empty and {"success", "trial_id", "task", "arm"} <= set(frame.columns)
