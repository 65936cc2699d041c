"""The replanning executor (docs/protocol.md#6-execution): soundness, repair, teleports, seeding, the injected map.

Quick tests use the structural real-transition graph (4-neighbour moves + teleport in -> out edges,
which is what `build_cell_data(...).truth` contains on the main tasks); the slow soundness test
takes the truth from the data itself."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mopjepa.config import ConfigError, ExecuteConfig
from mopjepa.data import MazeGeometry, build_cell_data, load_task_data
from mopjepa.execute import (
    Episode,
    WorkingGraph,
    cached_env,
    episode_jobs,
    run_episode,
    run_episodes,
    serial_map,
)
from mopjepa.graph.plan import plan_path
from mopjepa.graph.types import ProposedGraph
from mopjepa.seeding import stream_seed

MAZES = {  # env name -> dataset of the main task
    "pointmaze-medium-v0": "pointmaze-medium-stitch-v0",
    "pointmaze-large-v0": "pointmaze-large-stitch-v0",
    "pointmaze-teleport-v0": "pointmaze-teleport-navigate-v0",
}


def geometry_of(env_name: str) -> MazeGeometry:
    return MazeGeometry.from_env(cached_env(env_name))


def structural_truth(geometry: MazeGeometry) -> np.ndarray:
    truth = np.zeros((geometry.num_cells, geometry.num_cells), dtype=bool)
    for edges in (geometry.neighbour_edges(), geometry.teleport_edges()):
        truth[edges[:, 0], edges[:, 1]] = True
    return truth


def with_false_edges(truth: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """The truth plus round(fraction * |truth|) distinct false edges (no self-loops), drawn by `rng`."""
    candidates = np.argwhere(~truth & ~np.eye(len(truth), dtype=bool))
    count = int(round(fraction * truth.sum()))
    chosen = candidates[rng.choice(len(candidates), size=count, replace=False)]
    corrupted = truth.copy()
    corrupted[chosen[:, 0], chosen[:, 1]] = True
    return corrupted


def success_rate(episodes: list[Episode]) -> float:
    return float(np.mean([episode.success for episode in episodes]))


# -- working graph -------------------------------------------------------------------------------


@pytest.mark.parametrize("zero_costs", [False, True])
def test_routes_are_cheapest_paths_without_jumps(zero_costs):
    rng = np.random.default_rng(0)
    for _ in range(20):
        count = 12
        costs = np.where(rng.random((count, count)) < 0.25, rng.random((count, count)), np.inf)
        if zero_costs:  # the dense arm: every edge costs -log 1 = 0
            costs[np.isfinite(costs)] = 0.0
        np.fill_diagonal(costs, np.inf)
        goal = int(rng.integers(count))
        for worst_case in (False, True):  # no jumps: both planners agree with plan_path
            graph = WorkingGraph(costs, goal, np.ones((count, count), dtype=bool), worst_case)
            for cell in range(count):
                route, reference = graph.route(cell), plan_path(costs, cell, goal)
                assert (route is None) == (reference is None)
                if route is not None:
                    assert route[0] == cell and route[-1] == goal and len(set(route)) == len(route)
                    cost = sum(costs[a, b] for a, b in zip(route[:-1], route[1:], strict=True))
                    expected = sum(costs[a, b] for a, b in zip(reference[:-1], reference[1:], strict=True))
                    assert cost == pytest.approx(expected)


def corridor_with_teleport(trap: bool) -> tuple[np.ndarray, np.ndarray]:
    """Cells 0-1-2-3-4-5 in a row (goal 5); cell 1 jumps to 4 and 6 (6: a dead end unless `trap` is off)."""
    count = 7
    neighbours = np.zeros((count, count), dtype=bool)
    for cell in range(5):
        neighbours[cell, cell + 1] = neighbours[cell + 1, cell] = True
    costs = np.full((count, count), np.inf)
    for cell in range(5):
        costs[cell, cell + 1] = costs[cell + 1, cell] = 1.0
    costs[1, 4] = costs[1, 6] = 1.0
    if not trap:
        costs[6, 5] = 1.0
    return costs, neighbours


def test_worst_case_planning_avoids_a_teleport_that_can_strand():
    costs, neighbours = corridor_with_teleport(trap=True)
    assert WorkingGraph(costs, 5, neighbours, worst_case=False).route(0) == [0, 1, 4, 5]
    assert WorkingGraph(costs, 5, neighbours, worst_case=True).route(0) == [0, 1, 2, 3, 4, 5]
    costs, neighbours = corridor_with_teleport(trap=False)  # every exit reaches the goal: take it
    assert WorkingGraph(costs, 5, neighbours, worst_case=True).route(0) == [0, 1, 4, 5]
    costs, neighbours = corridor_with_teleport(trap=True)
    costs[2, 3] = costs[3, 2] = np.inf  # only the risky way is left: take it rather than give up
    assert WorkingGraph(costs, 5, neighbours, worst_case=True).route(0) == [0, 1, 4, 5]
    costs, neighbours = corridor_with_teleport(trap=True)
    costs[1, 6] = np.inf  # a single jump is an edge the agent chooses, not a gamble
    assert WorkingGraph(costs, 5, neighbours, worst_case=True).route(0) == [0, 1, 4, 5]


def test_dropping_and_adding_edges_replans():
    costs, neighbours = corridor_with_teleport(trap=False)
    graph = WorkingGraph(costs, 5, neighbours)
    graph.drop(1, 4)
    graph.drop(1, 6)
    assert graph.route(0) == [0, 1, 2, 3, 4, 5]
    graph.drop(2, 3)
    assert graph.route(0) is None and graph.route(3) == [3, 4, 5]
    graph.add(0, 5, 1.0)
    assert graph.route(0) == [0, 5]


# -- episodes in the real environment --------------------------------------------------------------


@pytest.mark.parametrize("env_name", list(MAZES))
def test_truth_graph_quick(env_name):
    geometry = geometry_of(env_name)
    graph = ProposedGraph.from_adjacency(structural_truth(geometry))
    episodes = run_episodes(env_name, geometry, graph, ExecuteConfig(episodes_per_task=2), seed=0)
    assert len(episodes) == 10 and all(episode.success for episode in episodes), episodes
    for episode in episodes:
        assert episode.dropped_edges == episode.replans == episode.teleports == 0
        assert not episode.used_fallback and episode.path_length >= 2 and episode.steps < 1000


def test_a_false_shortcut_is_dropped_and_the_agent_replans():
    env_name = "pointmaze-medium-v0"
    geometry = geometry_of(env_name)
    truth = structural_truth(geometry)
    start, goal = geometry.cells_of(geometry.tasks[0])
    truth[start, goal] = True  # a jump straight to the goal that the maze does not have
    graph = ProposedGraph.from_adjacency(truth)
    env = cached_env(env_name)
    replanned = run_episode(env, geometry, graph, 1, 0, 123, ExecuteConfig())
    assert replanned.path_length == 2 and replanned.success
    assert replanned.dropped_edges == 1 and replanned.replans == 1 and not replanned.used_fallback
    control = run_episode(env, geometry, graph, 1, 0, 123, ExecuteConfig(replan=False))
    assert not control.success and control.steps == 1000
    assert control.dropped_edges == control.replans == 0


def test_repair_quick():
    env_name = "pointmaze-medium-v0"
    geometry = geometry_of(env_name)
    graph = ProposedGraph.from_adjacency(
        with_false_edges(structural_truth(geometry), 0.1, np.random.default_rng(0)))
    rates = {}
    for replan in (True, False):
        cfg = ExecuteConfig(episodes_per_task=2, replan=replan)
        rates[replan] = success_rate(run_episodes(env_name, geometry, graph, cfg, seed=0))
    print(f"medium, 10% false edges: replan {rates[True]:.2f}, no replan {rates[False]:.2f}")
    assert rates[True] >= 0.9 and rates[True] >= rates[False] + 0.3, rates


def test_teleported_agents_replan_from_where_they_land():
    """Task 1's cheapest path crosses the teleport at (5, 1): the agent lands on the planned exit and
    goes on, or lands elsewhere and replans from there, or lands in the dead-end exit (1, 7) and,
    with no path left, falls back."""
    env_name = "pointmaze-teleport-v0"
    geometry = geometry_of(env_name)
    graph = ProposedGraph.from_adjacency(structural_truth(geometry))
    cfg = ExecuteConfig(episodes_per_task=8, jump_planning="shortest")
    episodes = [e for e in run_episodes(env_name, geometry, graph, cfg, seed=0) if e.task_id == 1]
    assert all(episode.teleports >= 1 for episode in episodes)
    outcomes = set()
    for episode in episodes:
        if episode.replans == 0:
            outcomes.add("planned exit")
            assert episode.success and not episode.used_fallback
        elif episode.used_fallback:
            outcomes.add("dead end")
            assert not episode.success
        else:
            outcomes.add("replanned")
            assert episode.success
    assert "replanned" in outcomes, episodes
    # The default worst-case planner does not take a teleport that might strand it (see
    # test_truth_graph_quick: no teleports, every episode succeeds).


def test_no_path_falls_back_and_online_repair_adds_experienced_edges():
    env_name = "pointmaze-medium-v0"
    geometry = geometry_of(env_name)
    empty = ProposedGraph.from_adjacency(np.zeros((geometry.num_cells,) * 2, dtype=bool))
    env = cached_env(env_name)
    episode = run_episode(env, geometry, empty, 1, 0, 7, ExecuteConfig())
    assert episode.used_fallback and episode.path_length == 0
    assert episode.replans == episode.added_edges == 0
    repaired = run_episode(env, geometry, empty, 1, 0, 7, ExecuteConfig(online_repair=True))
    assert repaired.added_edges >= 1 and repaired.used_fallback


def test_same_seed_same_records_and_jobs_follow_the_stream_seed():
    env_name = "pointmaze-medium-v0"
    geometry = geometry_of(env_name)
    graph = ProposedGraph.from_adjacency(structural_truth(geometry))
    cfg = ExecuteConfig(episodes_per_task=2)
    first = run_episodes(env_name, geometry, graph, cfg, seed=5)
    assert first == run_episodes(env_name, geometry, graph, cfg, seed=5)
    assert [(e.task_id, e.episode, e.seed) for e in first] == [
        (task, index, stream_seed(5, "episodes", task, index)) for task in range(1, 6) for index in range(2)
    ]
    other = run_episodes(env_name, geometry, graph, cfg, seed=6)
    assert [e.steps for e in other] != [e.steps for e in first]


def test_the_injected_map_must_keep_job_order():
    env_name = "pointmaze-medium-v0"
    geometry = geometry_of(env_name)
    graph = ProposedGraph.from_adjacency(structural_truth(geometry))
    cfg = ExecuteConfig(episodes_per_task=1)

    def backwards_map(fn, jobs):  # runs in another order, answers in job order
        results = {index: fn(job) for index, job in reversed(list(enumerate(jobs)))}
        return [results[index] for index in range(len(jobs))]

    assert run_episodes(env_name, geometry, graph, cfg, 1, backwards_map) == run_episodes(
        env_name, geometry, graph, cfg, 1, serial_map)
    with pytest.raises(RuntimeError, match="job order"):
        run_episodes(env_name, geometry, graph, cfg, 1, lambda fn, jobs: serial_map(fn, jobs)[::-1])
    with pytest.raises(RuntimeError, match="returned 4 episodes for 5 jobs"):
        run_episodes(env_name, geometry, graph, cfg, 1, lambda fn, jobs: serial_map(fn, jobs[:4]))
    assert len(episode_jobs(env_name, geometry, graph, ExecuteConfig(episodes_per_task=0), 1)) == 0


def test_bad_inputs_fail_loudly():
    env_name = "pointmaze-medium-v0"
    geometry = geometry_of(env_name)
    wrong = ProposedGraph.from_adjacency(np.zeros((3, 3), dtype=bool))
    with pytest.raises(ValueError, match="3 cells"):
        run_episode(cached_env(env_name), geometry, wrong, 1, 0, 0, ExecuteConfig())
    with pytest.raises(ValueError, match="pointmaze-large-v0"):
        run_episode(cached_env("pointmaze-large-v0"), geometry, wrong, 1, 0, 0, ExecuteConfig())
    for bad, field in [(dict(jump_planning="mean"), "jump_planning"),
                       (dict(jump_steering="x"), "jump_steering"),
                       (dict(replan=False, online_repair=True), "online_repair"),
                       (dict(progress_tol=-1.0), "progress_tol"), (dict(stall_steps=0), "stall_steps")]:
        with pytest.raises(ConfigError, match=field):
            ExecuteConfig(**bad)


# -- slow: the protocol's soundness checks at size ---------------------------------------------------


def data_truth(dataset: str) -> np.ndarray:
    """`build_cell_data(...).truth` of the full dataset (regenerated offline when missing)."""
    directory = Path(os.environ.get("MOPJEPA_TEST_DATASET_DIR", "~/.cache/mopjepa/test-data")).expanduser()
    task = load_task_data(dataset, directory, download=False)
    return build_cell_data(task, 0.2, 0.05, np.random.default_rng(0)).truth


@pytest.mark.slow
@pytest.mark.parametrize("env_name", list(MAZES))
def test_truth_graph_soundness(env_name):
    geometry = geometry_of(env_name)
    truth = data_truth(MAZES[env_name])
    episodes = run_episodes(env_name, geometry, ProposedGraph.from_adjacency(truth),
                            ExecuteConfig(episodes_per_task=50), seed=0)
    rate = success_rate(episodes)
    print(f"{env_name}: success {rate:.3f} on the truth graph over {len(episodes)} episodes")
    assert rate >= 0.95
    assert all(episode.dropped_edges == 0 for episode in episodes)  # a real edge is never given up
    for task_id in range(1, 6):
        assert success_rate([e for e in episodes if e.task_id == task_id]) >= 0.9


@pytest.mark.slow
@pytest.mark.parametrize("env_name", list(MAZES))
def test_replanning_repairs_false_edges(env_name):
    geometry = geometry_of(env_name)
    truth = structural_truth(geometry)
    rates = {True: [], False: []}
    for graph_seed in range(3):
        graph = ProposedGraph.from_adjacency(with_false_edges(truth, 0.1, np.random.default_rng(graph_seed)))
        for replan in (True, False):
            cfg = ExecuteConfig(episodes_per_task=6, replan=replan)
            rates[replan].append(success_rate(run_episodes(env_name, geometry, graph, cfg, seed=graph_seed)))
    replan, control = float(np.mean(rates[True])), float(np.mean(rates[False]))
    print(f"{env_name}, 10% false edges: replan {replan:.2f} {rates[True]}, "
          f"no replan {control:.2f} {rates[False]}")
    assert replan >= 0.95 and replan >= control + 0.25
