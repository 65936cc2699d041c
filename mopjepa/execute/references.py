"""The execution ceilings: the executor on graphs made of ground truth (docs/protocol.md#the-execution-ceilings).

    ceiling  the real graph less the trial's held-out transitions (truth & ~heldout): the best graph a
             model that never proposes a held-out transition can hand the executor
    truth    the full real graph: what the executor does with a perfect graph

Each runs the trial's executor with the trial's episode seeds, like the floor (mopjepa.execute.floor)
on the empty graph, so success reads between them: `exec_gain` = (success - floor) / (truth - floor).
These graphs read ground truth by construction, so they live here beside the floor, never in the
blind proposal (mopjepa.graph, mopjepa.audit). A reference graph depends on the data (its truth and
hold-out) as well as on what the floor depends on: `reference_key` adds the data hash and a digest of
the graph's edges to the floor's key, so a trial with another hold-out can never read another's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import numpy as np

from mopjepa.config import ExecuteConfig
from mopjepa.data.maze import MazeGeometry
from mopjepa.execute.floor import floor_key, success_by_task
from mopjepa.execute.trial import MapEpisodes, run_episodes, serial_map
from mopjepa.graph.types import ProposedGraph

REFERENCES = ("ceiling", "truth")
ReferenceCache = Callable[[str, Callable[[], dict[int, float]]], dict[int, float]]
"""cache(key, compute) -> compute()'s value, or the value stored under `key` by an earlier call."""


def reference_adjacency(truth: np.ndarray, heldout: np.ndarray) -> dict[str, np.ndarray]:
    """{'ceiling': [N, N] truth & ~heldout, 'truth': [N, N] truth}, bool (cells.truth, cells.heldout)."""
    truth = np.asarray(truth, dtype=bool)
    return {"ceiling": truth & ~np.asarray(heldout, dtype=bool), "truth": truth.copy()}


def adjacency_digest(adjacency: np.ndarray) -> str:
    """A short hash of an [N, N] bool edge set (its size included)."""
    adjacency = np.asarray(adjacency, dtype=bool)
    payload = np.asarray(adjacency.shape, dtype=np.int64).tobytes() + np.packbits(adjacency).tobytes()
    return hashlib.sha256(payload).hexdigest()[:16]


def reference_key(
    name: str, adjacency: np.ndarray, env_name: str, cfg: ExecuteConfig, seed: int, data_hash: str
) -> str:
    """A stable name of what reference `name`'s success depends on: the floor's key, the data and the graph."""
    floor = json.loads(floor_key(env_name, cfg, seed))
    return json.dumps(
        {**floor, "reference": name, "data_hash": data_hash, "graph": adjacency_digest(adjacency)}, sort_keys=True
    )


def reference_success(
    env_name: str,
    geometry: MazeGeometry,
    adjacency: np.ndarray,
    cfg: ExecuteConfig,
    seed: int,
    map_episodes: MapEpisodes = serial_map,
) -> dict[int, float]:
    """Success per official task of the executor on the unit-cost graph of `adjacency`, with the trial's seeds."""
    graph = ProposedGraph.from_adjacency(adjacency)
    return success_by_task(run_episodes(env_name, geometry, graph, cfg, seed, map_episodes))


def reference_successes(
    env_name: str,
    geometry: MazeGeometry,
    truth: np.ndarray,
    heldout: np.ndarray,
    cfg: ExecuteConfig,
    seed: int,
    data_hash: str,
    cache: ReferenceCache,
    map_episodes: MapEpisodes = serial_map,
) -> dict[str, dict[int, float]]:
    """{'ceiling': {task: success}, 'truth': {...}}, each computed once per key of `cache`."""
    successes = {}
    for name, adjacency in reference_adjacency(truth, heldout).items():
        key = reference_key(name, adjacency, env_name, cfg, seed, data_hash)
        successes[name] = cache(
            key, lambda adjacency=adjacency: reference_success(env_name, geometry, adjacency, cfg, seed, map_episodes)
        )
    return successes
