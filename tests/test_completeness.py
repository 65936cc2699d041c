"""One completeness rule for every reader: truncated, partial and missing trials are named, and left out.

A hand-made experiment gets one truncated metrics file (unreadable), one planned trial that was killed
after writing its training table (partial) and one planned trial never started (missing). The report
names all three, never says complete, and no table (metrics, training, ...) returns their rows.
"""

from __future__ import annotations

import os
import stat

from mopjepa.analysis.load import load_experiment
from mopjepa.config import TrialConfig
from mopjepa.results import (
    COMPLETE,
    MISSING,
    PARTIAL,
    UNREADABLE,
    Lineage,
    read_table,
    split_studies,
    trial_file,
    trial_id,
    trial_states,
    write_trial_rows,
)
from pipelines import aggregate
from tests.analysis_handmade import MED, TRIALS, flat_of, missing_trial_id, write_handmade


def _broken_experiment(tmp_path):
    experiment = write_handmade(tmp_path)
    results = experiment / "results"
    truncated_cfg = TrialConfig.from_flat(split_studies(flat_of(TRIALS[5][0]))[0])  # mdn seed 2
    truncated = trial_id(truncated_cfg)
    path = trial_file(results, "metrics", MED, "mdn", truncated)
    path.write_bytes(path.read_bytes()[:-40])
    # The planned var trial: killed after its training table, before its metrics table.
    missing_cfg = TrialConfig.from_flat(flat_of({"task": MED, "arm": "var", "seed": 0}))
    lineage = Lineage(missing_trial_id(), "exp", "regenerated", "h", "abc123").columns(missing_cfg)
    write_trial_rows(results, "training", [{"step": 0, "metric": "train/loss", "value": 1.0}], lineage)
    return experiment, truncated


def test_the_rule_names_complete_partial_unreadable_and_missing_trials(tmp_path):
    experiment, truncated = _broken_experiment(tmp_path)
    results = experiment / "results"
    states = trial_states(results, ["never-started"])
    assert states[truncated] == UNREADABLE
    assert states[missing_trial_id()] == PARTIAL
    assert states["never-started"] == MISSING
    assert sum(state == COMPLETE for state in states.values()) == len(TRIALS) - 1
    assert truncated not in set(read_table(results, "metrics").trial_id)
    assert read_table(results, "training").empty  # the partial trial's rows reach no reader
    assert not read_table(results, "training", complete_only=False).empty


def test_the_report_names_every_incomplete_trial_and_never_says_complete(tmp_path, capsys):
    experiment, truncated = _broken_experiment(tmp_path)
    loaded = load_experiment(experiment)
    assert not loaded.complete
    assert {(t.trial_id, t.state) for t in loaded.missing} == {(truncated, UNREADABLE), (missing_trial_id(), PARTIAL)}
    assert aggregate.main([str(experiment), "--out", str(tmp_path / "report")]) == 0
    output = capsys.readouterr().out
    assert f"{len(TRIALS) - 1} completed trials" in output
    assert "are complete" not in output and "NOT COMPLETE: 2 trial(s)" in output
    assert f"{truncated}: mdn on {MED}, seed 2" in output and "unreadable" in output
    assert f"{missing_trial_id()}: var on {MED}, seed 0" in output and "partial" in output
    page = (tmp_path / "report" / "report.md").read_text()
    assert "2 trial(s) are not complete (1 partial, 1 unreadable)" in page and truncated in page


def test_results_are_written_with_the_umask_not_0600(tmp_path):
    previous = os.umask(0o002)
    try:
        experiment = write_handmade(tmp_path)
    finally:
        os.umask(previous)
    files = list((experiment / "results").rglob("*.parquet"))
    assert files and {stat.S_IMODE(path.stat().st_mode) for path in files} == {0o664}
