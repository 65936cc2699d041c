"""The action_context tables on a hand-made experiment with known answers (real Parquet files)."""

from __future__ import annotations

import json

import pytest

from mopjepa.analysis.artefacts.action_context import (
    action_context_pairs,
    action_context_table,
    curve_lines,
    fig_action_context_curves,
)
from mopjepa.analysis.evidence import Evidence
from mopjepa.analysis.load import load_experiment
from mopjepa.analysis.paper import PaperTables, arm_label
from mopjepa.analysis.selection import select
from mopjepa.config import TrialConfig
from mopjepa.results import Lineage, split_studies, trial_id, write_trial_rows
from tests.analysis_handmade import BUDGET, MED

STEP = {"context_action": "step", "query_actions": "compass8", "studies": ["action_context"]}
# arm -> seed -> (realroute, recall_heldout) of the action-free main run and of the 'step' run
FREE = {"mop": {0: 0.30, 1: 0.25, 2: 0.40}, "mdn": {0: 0.10, 1: 0.20, 2: 0.20}}
STEPPED = {"mop": {0: (0.60, 0.5), 1: (0.50, 0.4), 2: (0.80, 0.6)}, "mdn": {0: (0.30, 0.2), 1: (0.30, 0.1)}}


def write(root, trials) -> None:
    for partial, metrics, data_hash in trials:
        flat, studies = split_studies({**BUDGET, **partial})
        cfg = TrialConfig.from_flat(flat)
        lineage = Lineage(trial_id(cfg), "exp", "regenerated", data_hash, "abc123", studies)
        rows = [{"metric": metric, "key": key, "value": value} for (metric, key), value in metrics.items()]
        write_trial_rows(root / "results", "metrics", rows, lineage.columns(cfg))


@pytest.fixture
def inputs(tmp_path):
    trials = [({"task": MED, "arm": arm, "seed": seed, "studies": ["main"]}, {("realroute", ""): value}, "old")
              for arm, seeds in FREE.items() for seed, value in seeds.items()]
    trials += [({"task": MED, "arm": arm, "seed": seed, **STEP},
                {("realroute", ""): realroute, ("recall_heldout", ""): recall}, "old" if arm == "mdn" else "new")
               for arm, seeds in STEPPED.items() for seed, (realroute, recall) in seeds.items()]
    write(tmp_path, trials)
    experiment = load_experiment(tmp_path)
    return Evidence(experiment.metrics, select(experiment.trials()), PaperTables.load())


def row(table, *first):
    return next(r for r in table.rows if tuple(r[:len(first)]) == first)


def test_each_arm_and_mode_sits_beside_its_action_free_run(inputs):
    table = action_context_table(inputs)
    assert [tuple(r[:3]) for r in table.rows] == [("medium-stitch", mode, arm_label(arm))
                                                  for mode in ("none", "step") for arm in ("mdn", "mop")]
    realroute, recall, ratio = (table.columns.index(c) for c in
                                ("realroute", "recall_heldout", "realroute / action-free (same seed)"))
    mop = row(table, "medium-stitch", "step", arm_label("mop"))
    assert mop[realroute] == "0.633 ± 0.153 (n=3)" and mop[recall] == "0.500 ± 0.100 (n=3)"
    assert mop[ratio] == "2.00 ± 0.00 (n=3)"  # 0.6/0.3, 0.5/0.25, 0.8/0.4
    assert row(table, "medium-stitch", "step", arm_label("mdn"))[ratio] == "2.25 ± 1.06 (n=2)"  # 3.0 and 1.5
    assert row(table, "medium-stitch", "none", arm_label("mop"))[ratio] == "—"
    # MoP's step runs were trained on other data than its action-free runs: the note names it, not MDN's
    (note,) = [note for note in table.notes if "other data" in note]
    assert "mop on medium-stitch (step)" in note and "mdn on" not in note


def test_mop_against_mdn_is_paired_by_seed(inputs):
    table = action_context_pairs(inputs)
    step = row(table, "medium-stitch", "step")
    assert step[table.columns.index("MoP − MDN realroute, 95% CI")].startswith("+0.250 [0.200, 0.300] (n=2)")
    assert step[table.columns.index("MoP − dense realroute, 95% CI")] == "—"
    none = row(table, "medium-stitch", "none")
    assert none[table.columns.index("MoP − MDN realroute, 95% CI")].startswith("+0.150 ")  # 0.2, 0.05, 0.2


def test_the_gated_graphs_execution_is_read_from_the_records_executions(tmp_path):
    import json

    from mopjepa.analysis.executions import EXECUTIONS_FILE

    trials = [({"task": MED, "arm": "mop", "seed": seed, **STEP}, {("exec_lift", ""): 0.0}, "new") for seed in (0, 1)]
    trials.append(({"task": MED, "arm": "mop", "seed": 0, "studies": ["main"]}, {("exec_lift", ""): 0.0}, "new"))
    write(tmp_path, trials)
    experiment = load_experiment(tmp_path)
    stepped = experiment.trials().query("context_action == 'step'").sort_values("seed")
    entries = [{"trial_id": t, "reading": "plan_graph=gated", "task": MED, "seed": int(seed),
                "rows": [{"metric": "exec_lift", "key": "", "value": lift}]}
               for t, seed, lift in zip(stepped["trial_id"], stepped["seed"], (0.2, 0.4), strict=True)]
    (tmp_path / EXECUTIONS_FILE).write_text(json.dumps({"executions": entries}))
    evidence = Evidence(experiment.metrics, select(experiment.trials()), PaperTables.load(), experiment=experiment)
    table = action_context_table(evidence)
    recorded, gated = (table.columns.index(c) for c in ("exec_lift", "exec_lift, gated graph"))
    mop = row(table, "medium-stitch", "step", arm_label("mop"))
    assert mop[recorded] == "0.000 ± 0.000 (n=2)" and mop[gated] == "0.300 ± 0.141 (n=2)"
    assert row(table, "medium-stitch", "none", arm_label("mop"))[gated] == "—"  # not executed again


def test_the_curves_figure_draws_each_mode_beside_the_action_free_run_on_the_studied_mazes(tmp_path):
    # recall_heldout at steps 1000, 2000: the step runs generalize early and forget; a maze without a study
    # trial (teleport) gets no line, even where its action-free run has curves
    curves = {("mop", "step", 0): (0.6, 0.2), ("mop", "step", 1): (0.4, 0.2), ("mop", "none", 0): (0.1, 0.0),
              ("mdn", "step", 0): (0.5, 0.3)}
    trials = [({"task": MED, "arm": arm, "seed": seed, **(STEP if mode == "step" else {"studies": ["main"]})},
               {("realroute", ""): 0.3}, "new") for arm, mode, seed in curves]
    trials.append(({"task": "pointmaze-teleport-navigate-v0", "arm": "mop", "seed": 0, "studies": ["main"]},
                   {("realroute", ""): 0.3}, "new"))
    write(tmp_path, trials)
    experiment = load_experiment(tmp_path)
    for trial in experiment.trials().itertuples():
        mode = str(trial.context_action)
        values = curves.get((trial.arm, mode, trial.seed), (0.9, 0.9))
        rows = [{"step": step, "metric": "recall_heldout", "key": "", "value": value}
                for step, value in zip((1000, 2000), values, strict=True)]
        cfg = TrialConfig.from_flat(split_studies(json.loads(trial.config_json))[0])
        lineage = Lineage(trial.trial_id, "exp", "regenerated", "new", "abc123", (trial.studies,))
        write_trial_rows(tmp_path / "results", "curves", rows, lineage.columns(cfg))
    experiment = load_experiment(tmp_path)
    evidence = Evidence(experiment.metrics, select(experiment.trials()), PaperTables.load(),
                        curves=experiment.table("curves"))

    lines = {(task, mode, arm): frame for task, mode, arm, frame in curve_lines(evidence, "recall_heldout")}
    assert set(lines) == {(MED, "none", "mop"), (MED, "step", "mop"), (MED, "step", "mdn")}
    mop = lines[MED, "step", "mop"]
    assert mop["mean"].tolist() == pytest.approx([0.5, 0.2]) and mop["count"].tolist() == [2, 2]
    assert curve_lines(evidence, "precision") == []  # no such curve rows

    figure = fig_action_context_curves(evidence, tmp_path / "figures")
    assert figure.path is not None and figure.path.stat().st_size > 0
    empty = Evidence(experiment.metrics, select(experiment.trials()), PaperTables.load())
    assert fig_action_context_curves(empty, tmp_path / "figures").path is None
