"""An experiment's plan on disk (manifest.json): it may grow and reorder what has not run, never lose a
trial; and the trial ids of a committed record stand as the configuration gains keys."""

from __future__ import annotations

import json

import pytest

from mopjepa.config import TrialConfig
from mopjepa.results import STUDIES_KEY, trial_id
from pipelines.common import ManifestError
from pipelines.full_matrix import write_manifest


def _entry(seed: int, **extra) -> dict:
    return {"task": "pointmaze-medium-stitch-v0", "arm": "dense", "seed": seed, **extra, STUDIES_KEY: ["main"]}


def _planned(tmp_path) -> list[str]:
    return [t["trial_id"] for t in json.loads((tmp_path / "manifest.json").read_text())["trials"]]


def test_a_plan_may_append_and_reorder_trials_but_never_drop_one(tmp_path, capsys):
    first = write_manifest(tmp_path, "p", "n", [_entry(0), _entry(1)])
    grown = write_manifest(tmp_path, "p", "n", [_entry(2), _entry(1), _entry(0)])
    assert _planned(tmp_path) == grown and set(first) < set(grown) and grown[0] not in first
    assert "the plan grows from 2 to 3 trials" in capsys.readouterr().out
    with pytest.raises(ManifestError, match="1 of them no longer planned"):
        write_manifest(tmp_path, "p", "n", [_entry(2), _entry(0)])
    assert _planned(tmp_path) == grown  # a refused plan leaves the manifest as it was


def test_the_committed_records_trial_ids_stand():
    """Ids of trials from before context_action became a mode and query_actions/fallback existed."""
    flat = {"task": "pointmaze-medium-stitch-v0", "arm": "mop", "seed": 3, "episodes_per_task": 0}
    assert trial_id(TrialConfig.from_flat(flat)) == "002262a4e0ff"  # reproduction/reproduce, mop seed 3
    legacy = TrialConfig.from_flat({**flat, "context_action": False, "query_actions": "none"})
    assert trial_id(legacy) == "002262a4e0ff"
    queried = {**flat, "query_actions": "compass8"}
    assert TrialConfig.from_flat({**queried, "context_action": True}).data.context_action == "to_exit"
    assert trial_id(TrialConfig.from_flat({**queried, "context_action": "step"})) != "002262a4e0ff"
