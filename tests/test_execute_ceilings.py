"""Execution read between its floor and its ceilings, and the 'explore' fallback (docs/protocol.md#6-execution).

The ceilings run the executor on graphs made of ground truth, so they live in mopjepa.execute beside the
floor and must stay out of reach of the blind proposal; their cache keys must never let one hold-out
read another's success; a matrix computes each once and every arm shares it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mopjepa.config import ConfigError, ExecuteConfig, TrialConfig
from mopjepa.config.identity import ADDED_KEYS
from mopjepa.data import load_task_data
from mopjepa.evaluate.execution import execution_gains
from mopjepa.execute import (
    cached_env,
    floor_key,
    reference_adjacency,
    reference_key,
    reference_successes,
    run_episode,
    run_episodes,
)
from mopjepa.experiment import TrialHooks, execution_rows, run_trial
from mopjepa.graph.types import ProposedGraph
from mopjepa.seeding import stream_seed
from pipelines.floors import FloorFileCache
from tests.test_blindness import imported_modules
from tests.test_execute import geometry_of, structural_truth

REPO = Path(__file__).resolve().parents[1]
BLIND_PACKAGES = ("mopjepa/graph", "mopjepa/audit")
TINY = {"steps": 20, "batch_size": 32, "latent_dim": 8, "encoder_hidden": 32, "hidden_dim": 32, "log_every": 10}


# -- keys ------------------------------------------------------------------------------------------


def committed_floor_files() -> list[Path]:
    return [path for path in sorted(REPO.glob("reproduction/*/floors/*.json"))
            if "reference" not in json.loads(json.loads(path.read_text())["key"])]


def test_committed_floor_keys_are_unchanged_at_the_straight_fallback():
    import hashlib

    files = committed_floor_files()
    if not files:
        pytest.skip("no committed floor cache")
    for path in files:
        key = json.loads(path.read_text())["key"]
        fields = json.loads(key)
        env_name, seed = fields.pop("env"), fields.pop("seed")
        assert floor_key(env_name, ExecuteConfig(**fields), seed) == key, path
        assert hashlib.sha256(key.encode()).hexdigest()[:16] == path.stem  # FloorFileCache names it so


def test_the_fallback_enters_the_floor_key_only_away_from_straight():
    assert ADDED_KEYS["fallback"] == ExecuteConfig().fallback == "straight"
    assert "fallback" not in json.loads(floor_key("pointmaze-medium-v0", ExecuteConfig(), 0))
    explore = json.loads(floor_key("pointmaze-medium-v0", ExecuteConfig(fallback="explore"), 0))
    assert explore["fallback"] == "explore"
    with pytest.raises(ConfigError, match="fallback"):
        ExecuteConfig(fallback="wander")


def test_reference_keys_follow_the_data_and_the_hold_out():
    rng = np.random.default_rng(0)
    truth = rng.random((12, 12)) < 0.3
    heldout = truth & (rng.random((12, 12)) < 0.2)
    other_heldout = truth & (rng.random((12, 12)) < 0.2)
    graphs = reference_adjacency(truth, heldout)
    np.testing.assert_array_equal(graphs["ceiling"], truth & ~heldout)
    np.testing.assert_array_equal(graphs["truth"], truth)
    cfg = ExecuteConfig()

    def key(name, held=heldout, data_hash="abc", seed=0, execute=cfg):
        return reference_key(name, reference_adjacency(truth, held)[name], "pointmaze-medium-v0", execute, seed,
                             data_hash)

    assert key("ceiling") == key("ceiling")
    assert key("ceiling") != key("ceiling", held=other_heldout)  # another hold-out never hits this cache
    assert key("truth") == key("truth", held=other_heldout)  # the truth does not depend on the hold-out
    assert len({key("ceiling"), key("truth"), key("ceiling", data_hash="abd"), key("ceiling", seed=1),
                key("ceiling", execute=ExecuteConfig(stall_steps=30)),
                floor_key("pointmaze-medium-v0", cfg, 0)}) == 6
    assert key("ceiling", execute=ExecuteConfig(plan_graph="gated", execute_workers=4)) == key("ceiling")


# -- rows --------------------------------------------------------------------------------------------


def test_gain_reads_success_between_floor_and_truth():
    success, floor = {1: 0.5, 2: 1.0, 3: 0.0}, {1: 0.0, 2: 1.0, 3: 0.5}
    truth = {1: 1.0, 2: 1.0, 3: 0.5}
    # tasks 2, 3: the truth does not beat the floor; overall (0.5 - 0.5) / (2.5 / 3 - 0.5)
    assert execution_gains(success, floor, truth) == ({1: 0.5}, 0.0)
    assert execution_gains(success, floor, floor) == ({}, None)


def test_the_overall_gain_is_of_the_overall_rates_not_a_mean_of_task_gains():
    # task 1: the truth barely beats the floor, and the graph lost it: its own gain is -49
    gains, overall = execution_gains({1: 0.0, 2: 1.0}, {1: 0.98, 2: 0.0}, {1: 1.0, 2: 1.0})
    assert gains == pytest.approx({1: -49.0, 2: 1.0})
    assert overall == pytest.approx((0.5 - 0.49) / (1.0 - 0.49))  # not (-49 + 1) / 2


def test_execution_rows_hold_ceilings_and_gain():
    from mopjepa.execute import Episode

    episodes = [Episode(task, 0, task, task == 1, 10, 0, 0, 0, 2, False, 0) for task in (1, 2)]
    floor = {1: 0.0, 2: 0.0}
    rows = execution_rows(episodes, floor, {"ceiling": {1: 1.0, 2: 0.0}, "truth": {1: 1.0, 2: 0.0}})
    values = {(row["metric"], row["key"]): row["value"] for row in rows}
    assert values[("exec_ceiling", "")] == values[("exec_truth", "")] == 0.5
    assert values[("exec_gain", "1")] == 1.0 and ("exec_gain", "2") not in values
    assert values[("exec_gain", "")] == 1.0  # (0.5 - 0) / (0.5 - 0), of the overall rates
    rows = execution_rows(episodes, floor, {"ceiling": floor, "truth": floor})
    assert not [row for row in rows if row["metric"] == "exec_gain"]  # no task where truth beats the floor
    assert not [row for row in execution_rows(episodes, floor) if row["metric"] == "exec_truth"]
    with pytest.raises(ValueError, match="the truth covers tasks"):
        execution_rows(episodes, floor, {"ceiling": floor, "truth": {1: 1.0}})


# -- the matrix computes each reference once -----------------------------------------------------------


def test_two_arms_share_one_floor_ceiling_and_truth(small_data_dir, tmp_path):
    task = load_task_data("pointmaze-teleport-navigate-v0", small_data_dir)
    file_cache = FloorFileCache(tmp_path / "floors")
    computed: list[str] = []

    def counting_cache(key, compute):
        def counted():
            computed.append(key)
            return compute()

        return file_cache(key, counted)

    summaries = []
    for arm in ("mop", "dense"):
        flat = {"task": "pointmaze-teleport-navigate-v0", "arm": arm, "episodes_per_task": 1, **TINY}
        if arm == "mop":
            flat["K"] = 4
        summaries.append(run_trial(TrialConfig.from_flat(flat), task, hooks=TrialHooks(floor_cache=counting_cache)))
    kinds = sorted(json.loads(key).get("reference", "floor") for key in computed)
    assert kinds == ["ceiling", "floor", "truth"]  # once each, for both arms
    assert len(list((tmp_path / "floors").glob("*.json"))) == 3
    for summary in summaries:
        rows = {(r["metric"], r["key"]) for r in summary.metrics}
        for metric in ("exec_ceiling", "exec_truth"):
            assert {(metric, key) for key in ("", "1", "2", "3", "4", "5")} <= rows
        assert summary.metric("exec_truth") >= summary.metric("exec_floor")
        assert ("exec_gain", "") in rows
    first, second = ({(r["metric"], r["key"]): r["value"] for r in s.metrics if r["metric"] in
                      ("exec_floor", "exec_ceiling", "exec_truth")} for s in summaries)
    assert first == second


def test_reference_successes_compute_once_per_key():
    env_name = "pointmaze-medium-v0"
    geometry = geometry_of(env_name)
    truth = structural_truth(geometry)
    heldout = np.zeros_like(truth)
    held = np.argwhere(truth)[::5]  # [H, 2]
    heldout[held[:, 0], held[:, 1]] = True
    store: dict[str, dict[int, float]] = {}
    calls: list[str] = []

    def cache(key, compute):
        if key not in store:
            calls.append(key)
            store[key] = compute()
        return store[key]

    cfg = ExecuteConfig(episodes_per_task=1)
    first = reference_successes(env_name, geometry, truth, heldout, cfg, 0, "h", cache)
    second = reference_successes(env_name, geometry, truth, heldout, cfg, 0, "h", cache)
    assert first == second and len(calls) == 2
    assert all(rate == 1.0 for rate in first["truth"].values())
    reference_successes(env_name, geometry, truth, ~heldout & truth, cfg, 0, "h", cache)
    assert len(calls) == 3  # another hold-out: a new ceiling, the same truth


# -- blindness -----------------------------------------------------------------------------------------


def test_the_blind_proposal_cannot_reach_the_reference_graphs():
    for package in BLIND_PACKAGES:
        for path in (REPO / package).glob("*.py"):
            bad = {name for name in imported_modules(path) if name.startswith("mopjepa.execute")}
            assert not bad, f"{path} imports {bad}"
            source = path.read_text()
            assert "reference_adjacency" not in source and "reference_success" not in source, path
    code = ("import sys, mopjepa.graph, mopjepa.graph.propose, mopjepa.audit; "
            "print(sorted(m for m in sys.modules if m.startswith('mopjepa.execute')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip() == "[]"


# -- the explore fallback --------------------------------------------------------------------------------


def cut(geometry, truth: np.ndarray, edges) -> np.ndarray:
    """`truth` less the edges ((i, j) -> (i, j) grid squares)."""
    kept = truth.copy()
    for source, target in edges:
        kept[geometry.cell_index[source], geometry.cell_index[target]] = False
    return kept


def test_explore_is_reproducible_and_leaves_walls_where_straight_pushes():
    env_name = "pointmaze-medium-v0"
    geometry = geometry_of(env_name)
    empty = ProposedGraph.from_adjacency(np.zeros((geometry.num_cells,) * 2, dtype=bool))
    explore = ExecuteConfig(episodes_per_task=1, fallback="explore")
    first = run_episodes(env_name, geometry, empty, explore, seed=4)
    assert first == run_episodes(env_name, geometry, empty, explore, seed=4)
    straight = run_episodes(env_name, geometry, empty, ExecuteConfig(episodes_per_task=1), seed=4)
    assert all(e.used_fallback for e in first + straight)
    assert all(e.explore_moves == 0 for e in straight) and any(e.explore_moves > 0 for e in first)
    assert [e.replans for e in first] != [e.replans for e in straight]  # each new cell is a new plan: its subgoal


def test_explore_crosses_a_missing_edge_on_the_only_route():
    """Task 5 of medium must leave (2, 4) south to (3, 4); the graph lacks that edge. Straight at the goal
    pushes into the wall beside it; explore leaves it and, once in (3, 4), has its path again. One missing
    edge needs no repair: where the agent crosses it, the rest of the route is still in its graph."""
    env_name = "pointmaze-medium-v0"
    geometry = geometry_of(env_name)
    graph = ProposedGraph.from_adjacency(cut(geometry, structural_truth(geometry), [((2, 4), (3, 4))]))
    env = cached_env(env_name)
    for repair in (False, True):
        for seed in (11, 12):
            straight = run_episode(env, geometry, graph, 5, 0, seed, ExecuteConfig(online_repair=repair))
            explore = run_episode(env, geometry, graph, 5, 0, seed,
                                  ExecuteConfig(online_repair=repair, fallback="explore"))
            assert not straight.success and explore.success and explore.explore_moves >= 1


def test_online_repair_brings_the_explorer_back_to_a_cell_it_passed():
    """Large maze, task 1, on the real graph less ~30% of its edges (seeded). The agent reaches a pocket
    next to the goal, leaves it on an exploratory run and passes (5, 8) from (5, 7), a transition its graph
    lacks. With repair that transition enters its graph, so (5, 8) is reachable again: the agent returns
    and heads on from there into the goal corridor. Without repair it never finds its way back."""
    env_name = "pointmaze-large-v0"
    geometry = geometry_of(env_name)
    truth = structural_truth(geometry)
    graph = ProposedGraph.from_adjacency(truth & (np.random.default_rng(1).random(truth.shape) < 0.7))
    env = cached_env(env_name)
    outcomes = {}
    for repair in (False, True):
        cfg = ExecuteConfig(fallback="explore", online_repair=repair)
        outcomes[repair] = [run_episode(env, geometry, graph, 1, k, stream_seed(3, "episodes", 1, k), cfg)
                            for k in range(3)]
    assert not any(e.success for e in outcomes[False])
    assert all(e.success and e.added_edges >= 1 for e in outcomes[True])
