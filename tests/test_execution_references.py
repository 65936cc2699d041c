"""The ceilings of trials written before trials wrote them: read from the record's references.json
(pipelines/record_references.py) only where the data matched, into Tables 4 and 6 and the execution figure."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mopjepa.analysis.artefacts.execution import fig_execution, table4, table6
from mopjepa.analysis.evidence import Evidence
from mopjepa.analysis.load import load_experiment
from mopjepa.analysis.paper import PaperTables, task_label
from mopjepa.analysis.references import REFERENCE_SOURCE, REFERENCES_FILE, with_references
from mopjepa.analysis.selection import select
from mopjepa.data.names import EXECUTION_TASKS
from mopjepa.evaluate.execution import execution_gains

RECORD = Path(__file__).resolve().parents[1] / "reproduction" / "reproduce"
TASKS = (1, 2, 3)


def frame(trial: str, metrics: dict[str, dict[int, float]]) -> pd.DataFrame:
    rows = [{"trial_id": trial, "task": "maze", "seed": 0, "metric": metric, "key": str(task), "value": value}
            for metric, values in metrics.items() for task, value in values.items()]
    return pd.DataFrame(rows)


def entry(reference: str, trials: list[str], success: dict[int, float], matched: bool = True) -> dict:
    return {"key": f"{reference}-{matched}", "reference": reference, "trials": trials, "matched": matched,
            "success": {str(task): value for task, value in success.items()}}


def test_a_trial_without_ceilings_reads_them_from_a_matched_entry_with_the_executors_gain(tmp_path):
    success, floor = {1: 1.0, 2: 0.5, 3: 0.0}, {1: 1.0, 2: 0.0, 3: 0.0}
    ceiling, truth = {1: 1.0, 2: 0.4, 3: 0.0}, {1: 1.0, 2: 1.0, 3: 0.5}
    metrics = pd.concat([
        frame("old", {"exec_success": success, "exec_floor": floor}),
        frame("new", {"exec_success": success, "exec_floor": floor, "exec_ceiling": floor, "exec_truth": floor}),
        frame("other", {"exec_success": success, "exec_floor": floor}),
    ], ignore_index=True)
    path = tmp_path / REFERENCES_FILE
    path.write_text(json.dumps({"references": [
        entry("ceiling", ["old", "new"], ceiling), entry("truth", ["old", "new"], truth),
        entry("ceiling", ["other"], ceiling, matched=False), entry("truth", ["other"], truth, matched=False),
        {"key": "partial", "success": {"1": 0.0}, "partial": True},
    ]}))
    out = with_references(metrics, path)
    added = out[out[REFERENCE_SOURCE].notna()]
    assert set(added["trial_id"]) == {"old"}  # "new" has its own, "other" did not match
    values = {(row.metric, row.key): row.value for row in added.itertuples()}
    gain, overall = execution_gains(success, floor, truth)
    assert gain == {2: 0.5, 3: 0.0}  # task 1: truth does not beat the floor, no gain
    assert overall == pytest.approx((0.5 - 1 / 3) / (2.5 / 3 - 1 / 3))  # of the overall rates
    assert values == {**{("exec_ceiling", str(t)): v for t, v in ceiling.items()}, ("exec_ceiling", ""): 1.4 / 3,
                      **{("exec_truth", str(t)): v for t, v in truth.items()}, ("exec_truth", ""): 2.5 / 3,
                      **{("exec_gain", str(t)): v for t, v in gain.items()}, ("exec_gain", ""): overall}
    assert (added["seed"] == 0).all() and (added["task"] == "maze").all()  # the trial's own columns
    assert with_references(metrics, tmp_path / "absent.json") is metrics


# The committed record: its trials executed before trials wrote ceilings.

@pytest.fixture(scope="module")
def record() -> Evidence:
    experiment = load_experiment(RECORD)
    metrics = with_references(experiment.metrics, RECORD / REFERENCES_FILE)
    return Evidence(metrics, select(experiment.trials()), PaperTables.load())


def references() -> list[dict]:
    return [e for e in json.loads((RECORD / REFERENCES_FILE).read_text())["references"] if not e.get("partial")]


def test_every_executing_trial_of_the_record_matched_the_data_here_and_has_its_ceilings(record):
    entries = references()
    assert entries and all(e["matched"] and e["checks"]["truth_determined"] for e in entries)
    assert all(e["checks"]["edge_flags_checked"] > 500 and e["checks"]["metrics_checked"] > 100 for e in entries)
    metrics = record.metrics
    executing = set(metrics.loc[metrics["metric"] == "exec_success", "trial_id"])
    with_ceiling = set(metrics.loc[metrics["metric"] == "exec_ceiling", "trial_id"])
    with_truth = set(metrics.loc[metrics["metric"] == "exec_truth", "trial_id"])
    filed = {trial for e in entries for trial in e["trials"]}
    assert filed <= executing
    assert executing - with_ceiling <= executing - filed and with_ceiling == with_truth


def test_tables_4_and_6_show_the_records_ceiling_and_truth_from_the_file(record):
    entries = references()
    for task in EXECUTION_TASKS:
        mop = record.selection.main["mop"]
        seeds = sorted(record.seeds("mop", task, "exec_success").index)
        for reference in ("ceiling", "truth"):
            by_seed = {e["seed"]: e["success"] for e in entries if e["task"] == task and e["reference"] == reference
                       and set(e["trials"]) & set(mop.trial_ids)}
            expected = pd.Series({seed: sum(by_seed[seed].values()) / 5 for seed in seeds})
            assert record.main("mop", task, f"exec_{reference}").values.sort_index().tolist() == pytest.approx(
                expected.tolist())
    for table in (table4(record), table6(record)):
        assert f"ceiling {task_label(EXECUTION_TASKS[-1])} (ours)" in table.columns
        note = next(n for n in table.notes if n.startswith("ceiling, truth, gain of the"))
        assert f"from {REFERENCES_FILE} of the experiment" in note
        mop = next(row for row in table.rows if row[0] == "MoP-JEPA")
        index = table.columns.index(f"truth {task_label(EXECUTION_TASKS[-1])} (ours)")
        assert mop[index].startswith("1.000 ± 0.000 (n=3)")  # the executor is sound on the real graph


def test_the_execution_figure_draws_the_records_floor_ceiling_and_truth(record, tmp_path):
    figure = fig_execution(record, tmp_path)
    assert figure.path is not None and figure.path.stat().st_size > 10_000
