"""The execution floor: what the executor achieves with no proposed graph at all.

With an empty graph every episode takes the executor's shared fallback (steer straight at the goal),
so the floor is the success that needs no world model; on pointmaze-medium-stitch-v0 two of the five
official tasks succeed that way. A trial's `exec_lift` = exec_success - exec_floor is what its graph
adds. The floor depends only on (env, seed, execute config): `floor_key` names that triple, so a
matrix computes it once and every arm of the same task and seed shares it. Its ceilings, the same
executor on graphs made of ground truth, are in mopjepa.execute.references.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from mopjepa.config import ExecuteConfig
from mopjepa.config.components import runtime_keys
from mopjepa.config.identity import ADDED_KEYS
from mopjepa.data.maze import MazeGeometry
from mopjepa.execute.episode import Episode
from mopjepa.execute.trial import MapEpisodes, run_episodes, serial_map
from mopjepa.graph.types import ProposedGraph

FLOOR_INDEPENDENT = (*runtime_keys(ExecuteConfig), "plan_graph")
"""ExecuteConfig fields the floor does not depend on (where episodes run; which graph: there is none)."""


def empty_graph(num_cells: int) -> ProposedGraph:
    nothing = np.zeros(0, dtype=np.int64)
    return ProposedGraph(num_cells, nothing, nothing.copy(), np.zeros(0), np.zeros(0))


def floor_key(env_name: str, cfg: ExecuteConfig, seed: int) -> str:
    """A stable name of what the floor depends on, e.g. for a cache file.

    A field added after the cache began is left out at the value every earlier floor had
    (mopjepa.config.identity.ADDED_KEYS), so earlier cache files keep their names."""
    fields = {k: v for k, v in execute_fields(cfg).items() if k not in FLOOR_INDEPENDENT}
    return json.dumps({"env": env_name, "seed": seed, **fields}, sort_keys=True)


def execute_fields(cfg: ExecuteConfig) -> dict:
    """The config's fields less the added ones at their old value."""
    return {k: v for k, v in dataclasses.asdict(cfg).items() if not (k in ADDED_KEYS and v == ADDED_KEYS[k])}


def success_by_task(episodes: list[Episode]) -> dict[int, float]:
    """{task id: success rate} in task order."""
    by_task: dict[int, list[bool]] = {}
    for episode in episodes:
        by_task.setdefault(episode.task_id, []).append(bool(episode.success))
    return {task: float(np.mean(group)) for task, group in sorted(by_task.items())}


def floor_success(
    env_name: str, geometry: MazeGeometry, cfg: ExecuteConfig, seed: int, map_episodes: MapEpisodes = serial_map
) -> dict[int, float]:
    """Success per official task of the executor on an empty graph, with the trial's episode seeds."""
    episodes = run_episodes(env_name, geometry, empty_graph(geometry.num_cells), cfg, seed, map_episodes)
    return success_by_task(episodes)
