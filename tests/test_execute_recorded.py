"""A trial's graphs rebuilt from its edges table execute as the trial executed them (mopjepa.execute.recorded), and
pipelines/record_executions.py reads a trial in its other graph with the trial's own floor and ceilings."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mopjepa.analysis.executions import EXECUTIONS_FILE, EXPLORE, REPAIR, executed_in
from mopjepa.analysis.load import load_experiment
from mopjepa.config import TrialConfig
from mopjepa.config.identity import current_flat
from mopjepa.data.maze import MazeGeometry
from mopjepa.data.names import parse_dataset_name
from mopjepa.execute import Episode, run_episodes
from mopjepa.execute.recorded import recorded_graph
from pipelines import record_executions

RECORD = Path(__file__).resolve().parents[1] / "reproduction" / "reproduce"
MOP_STEP_MEDIUM = "9b14e11579dc"
"""MoP, action context 'step', pointmaze-medium-stitch-v0, seed 0: a raw graph of 155 edges, 112 of them unreal."""
EPISODES = 2


def edges(graph: str, source, target, action=None) -> pd.DataFrame:
    count = len(source)
    return pd.DataFrame({"trial_id": "t", "graph": graph, "source": source, "target": target,
                         "weight": np.linspace(0.1, 1.0, count), "cost": np.arange(count, dtype=float),
                         "action": action if action is not None else [None] * count})


def test_recorded_graph_takes_one_graphs_edges_and_their_actions():
    rows = pd.concat([edges("raw", [0, 1, 2], [1, 2, 0], [3, 1, 7]), edges("gated", [0], [1], [3])])
    raw = recorded_graph(rows, 3, "raw")
    assert raw.source.tolist() == [0, 1, 2] and raw.target.tolist() == [1, 2, 0]
    assert raw.cost.tolist() == [0.0, 1.0, 2.0] and raw.action.tolist() == [3, 1, 7]
    assert recorded_graph(rows, 3, "gated").num_edges == 1
    assert recorded_graph(edges("raw", [0], [1]), 3, "raw").action is None  # an action-free trial
    with pytest.raises(ValueError, match="graph 'best'"):
        recorded_graph(rows, 3, "best")
    with pytest.raises(ValueError, match="2 trials"):
        recorded_graph(pd.concat([rows, rows.assign(trial_id="u")]), 3, "raw")


def test_a_committed_trials_raw_graph_executes_as_the_trial_executed_it():
    experiment = load_experiment(RECORD)
    trial = experiment.trials().set_index("trial_id").loc[MOP_STEP_MEDIUM]
    cfg = TrialConfig.from_flat(current_flat(json.loads(trial["config_json"])))
    assert cfg.execute.plan_graph == "raw" and cfg.execute.episodes_per_task > EPISODES
    env_name = parse_dataset_name(cfg.data.task).env_name
    geometry = MazeGeometry.from_env_name(env_name)
    graph = recorded_graph(experiment.table("edges", [MOP_STEP_MEDIUM]), geometry.num_cells, "raw")
    # The first episodes of each task: job seeds depend only on (seed, task, index).
    episodes = run_episodes(env_name, geometry, graph, dataclasses.replace(cfg.execute, episodes_per_task=EPISODES),
                            cfg.seed)
    recorded = experiment.table("episodes", [MOP_STEP_MEDIUM])
    recorded = recorded[recorded["episode"] < EPISODES].sort_values(["task_id", "episode"])
    columns = [column for column, _, _ in Episode.table_fields()]
    assert [episode.row() for episode in episodes] == recorded[columns].to_dict("records")


def test_record_executions_reads_the_gated_graph_against_the_trials_own_floor_and_truth(tmp_path):
    experiment_dir = tmp_path / "reproduce"
    left_out = shutil.ignore_patterns("tune", "trials", "report", "*.lock", EXECUTIONS_FILE)
    shutil.copytree(RECORD, experiment_dir, ignore=left_out)
    args = [str(experiment_dir), "--reading", "plan_graph=gated", "--study", "action_context"]
    store = record_executions.ExecutionFile(experiment_dir / EXECUTIONS_FILE)
    planned = record_executions.trials_to_execute(load_experiment(experiment_dir), "plan_graph=gated", "action_context")
    assert MOP_STEP_MEDIUM in set(planned["trial_id"]) and not store.entries
    # Run one trial only: mark every other one as already held.
    for trial in sorted(set(planned["trial_id"]) - {MOP_STEP_MEDIUM}):
        store.add({"trial_id": trial, "reading": "plan_graph=gated", "rows": []})
    assert record_executions.main(args) == 0

    rows = executed_in(experiment_dir / EXECUTIONS_FILE, "plan_graph=gated")
    mine = rows[rows["trial_id"] == MOP_STEP_MEDIUM].set_index(["metric", "key"])["value"]
    own = load_experiment(experiment_dir).metrics
    own = own[own["trial_id"] == MOP_STEP_MEDIUM].set_index(["metric", "key"])["value"]
    for metric in ("exec_floor", "exec_truth", "exec_ceiling"):  # the same references, whatever the graph
        assert mine[metric].to_dict() == own[metric].to_dict()
    assert mine[("exec_lift", "")] == pytest.approx(mine[("exec_success", "")] - mine[("exec_floor", "")])
    gated = experiment_dir / EXECUTIONS_FILE
    before = gated.read_text()
    assert record_executions.main(args) == 0  # a rerun holds every entry: nothing runs, nothing changes
    assert gated.read_text() == before


@pytest.mark.parametrize(("reading", "field", "value"), [(EXPLORE, "fallback", "explore"),
                                                     (REPAIR, "online_repair", True)])
def test_an_executor_reading_executes_against_its_own_floor_and_claims_no_ceilings(tmp_path, reading, field, value):
    experiment_dir = tmp_path / "reproduce"
    left_out = shutil.ignore_patterns("tune", "trials", "report", "floors", "*.lock", EXECUTIONS_FILE)
    shutil.copytree(RECORD, experiment_dir, ignore=left_out)
    store = record_executions.ExecutionFile(experiment_dir / EXECUTIONS_FILE)
    planned = record_executions.trials_to_execute(load_experiment(experiment_dir), reading, "action_context")
    for trial in sorted(set(planned["trial_id"]) - {MOP_STEP_MEDIUM}):
        store.add({"trial_id": trial, "reading": reading, "rows": []})
    assert record_executions.main([str(experiment_dir), "--reading", reading, "--study", "action_context"]) == 0

    (entry,) = [e for e in json.loads((experiment_dir / EXECUTIONS_FILE).read_text())["executions"] if e["rows"]]
    assert entry["execute"][field] == value and entry["execute"]["plan_graph"] == "raw"
    rows = executed_in(experiment_dir / EXECUTIONS_FILE, reading)
    metrics = set(rows["metric"])
    assert {"exec_success", "exec_floor", "exec_lift"} <= metrics
    assert not metrics & {"exec_ceiling", "exec_truth", "exec_gain"}  # the ceilings ran with the default executor
    floors = [json.loads(json.loads(path.read_text())["key"]) for path in (experiment_dir / "floors").glob("*.json")]
    assert [key[field] for key in floors] == [value]  # the floor under the same executor
