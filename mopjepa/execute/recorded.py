"""A trial's proposed graph rebuilt from its `edges` rows, so that it can be executed again without the model.

The executor reads only a graph's edges and costs (mopjepa.execute.episode), and a trial records both of
its graphs edge by edge, so executing the rebuilt graph with the trial's executor and episode seeds gives
the trial's own episodes (tests/test_execute_recorded.py). This is how a record is read under another
execution choice, e.g. `plan_graph='gated'` for trials that planned in the raw graph.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mopjepa.graph.types import ProposedGraph

GRAPHS = ("raw", "gated")
"""The graphs a trial records (the `graph` column of its `edges` table)."""


def recorded_graph(edges: pd.DataFrame, num_cells: int, graph: str) -> ProposedGraph:
    """The `graph` ('raw' | 'gated') of one trial from its `edges` rows, in the order they were recorded."""
    if graph not in GRAPHS:
        raise ValueError(f"graph {graph!r}: expected one of {GRAPHS}")
    if edges["trial_id"].nunique() > 1:
        raise ValueError(f"edges of {edges['trial_id'].nunique()} trials given; pass one trial's rows")
    rows = edges[edges["graph"] == graph]
    actions = rows["action"] if "action" in rows else pd.Series(dtype=float)
    action = None if actions.isna().all() else actions.to_numpy(dtype=np.int64)  # [E] or None (action-free)
    return ProposedGraph(
        num_cells,
        rows["source"].to_numpy(dtype=np.int64),  # [E]
        rows["target"].to_numpy(dtype=np.int64),  # [E]
        rows["weight"].to_numpy(dtype=np.float64),  # [E]
        rows["cost"].to_numpy(dtype=np.float64),  # [E]
        action,
    )
