"""Re-gating a trial from its committed tables gives back its own metrics (mopjepa.evaluate.regate)."""

from __future__ import annotations

import numpy as np
import pytest

from mopjepa.config import GraphConfig, TrialConfig
from mopjepa.data import load_task_data
from mopjepa.evaluate.regate import RecordedOutputs, gated_outputs, planning_metrics
from mopjepa.experiment import run_trial, summary_tables
from mopjepa.results import Lineage, read_table, trial_id, write_trial_tables
from tests.test_verdicts import MEDIUM, TINY


@pytest.fixture(scope="module", params=[{"arm": "mop"}, {"arm": "mdn"},
                                        {"arm": "mop", "context_action": "step", "query_actions": "compass4"}],
                ids=["mop", "mdn", "mop-actions"])
def recorded(request, small_data_dir, tmp_path_factory):
    """(the trial's metrics by name, its outputs read back from Parquet, its config)."""
    cfg = TrialConfig.from_flat({"task": MEDIUM, "seed": 1, **TINY, **request.param})
    summary = run_trial(cfg, load_task_data(MEDIUM, small_data_dir))
    root = tmp_path_factory.mktemp("results")
    lineage = Lineage(trial_id(cfg), "test", "regenerated", "hash", "abc").columns(cfg)
    write_trial_tables(root, summary_tables(summary), lineage)
    outputs, edges = read_table(root, "outputs"), read_table(root, "edges")
    actions = {"none": 1, "compass4": 4}[cfg.graph.query_actions]
    metrics = {(row["metric"], row["key"]): row["value"] for row in summary.metrics}
    return metrics, RecordedOutputs.from_tables(outputs, edges, actions), cfg


def test_the_trials_own_gate_gives_back_its_own_metrics(recorded):
    metrics, outputs, cfg = recorded
    got = planning_metrics(outputs, gated_outputs(outputs, cfg.graph))
    assert got == pytest.approx({name: metrics[name, ""] for name in got}, nan_ok=True, abs=0, rel=0)


def test_every_output_kept_gives_back_the_raw_metrics(recorded):
    metrics, outputs, _ = recorded
    got = planning_metrics(outputs, np.ones_like(outputs.weights, dtype=bool))
    assert got == pytest.approx({name: metrics[f"{name}_raw", ""] for name in got}, nan_ok=True, abs=0, rel=0)


def test_the_threshold_sweep_is_read_again_at_each_threshold(recorded):
    metrics, outputs, _ = recorded
    sweep = {float(key): value for (name, key), value in metrics.items() if name == "threshold_precision"}
    assert sweep
    for threshold, value in sweep.items():
        keep = gated_outputs(outputs, GraphConfig(gate_threshold=threshold))
        assert planning_metrics(outputs, keep)["precision"] == pytest.approx(value, nan_ok=True, abs=0, rel=0)
