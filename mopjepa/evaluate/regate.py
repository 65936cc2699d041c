"""A trial's graph read again under another gate, from its committed `outputs` and `edges` tables.

The `outputs` table holds every output of every cell query (its weight and the cell it decoded to);
the raw graph of the `edges` table marks which proposed pairs are real. That is all the planning
metrics of any gate need, since every gated graph is a subgraph of the raw one: the readings that
change only the gate (docs/protocol.md#10-readings: `paper_graphs`, `gate@t`, `raw_floor`) are read
from the record without retraining. At the trial's own gate they give back its own plan_all,
precision and realroute (tests/test_regate.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mopjepa.config import GraphConfig
from mopjepa.evaluate.routes import plan_all, precision, realroute
from mopjepa.graph.propose import edges_from_outputs, gate
from mopjepa.graph.types import ProposedGraph


@dataclass(frozen=True)
class RecordedOutputs:
    """One trial's cell queries as its tables recorded them."""

    decoded: np.ndarray
    """[N, A * K] int cell each output decoded to."""
    weights: np.ndarray
    """[N, A * K] float weight of each output."""
    real: np.ndarray
    """[N, N] bool: the raw graph's edges that are real transitions (False off the raw graph)."""
    num_actions: int = 1
    """A: queries per cell (the trial's query action set; 1 without actions)."""

    @classmethod
    def from_tables(cls, outputs, edges, num_actions: int = 1) -> RecordedOutputs:
        """From one trial's `outputs` rows (query 'context': cell, output, weight, decoded) and `edges`
        rows (graph 'raw': source, target, real), as pandas frames."""
        rows = outputs[outputs["query"] == "context"].sort_values(["cell", "output"])
        cells, width = rows["cell"].nunique(), rows["output"].nunique()
        if len(rows) != cells * width:
            raise ValueError(f"outputs table: {len(rows)} rows are not {cells} cells x {width} outputs")
        decoded = rows["decoded"].to_numpy(dtype=np.int64).reshape(cells, width)  # [N, A * K]
        weights = rows["weight"].to_numpy(dtype=np.float64).reshape(cells, width)  # [N, A * K]
        raw = edges[(edges["graph"] == "raw") & edges["real"].astype(bool)]
        real = np.zeros((cells, cells), dtype=bool)
        real[raw["source"].to_numpy(dtype=np.int64), raw["target"].to_numpy(dtype=np.int64)] = True
        return cls(decoded, weights, real, num_actions)


def gated_outputs(recorded: RecordedOutputs, config: GraphConfig) -> np.ndarray:
    """[N, A * K] bool: the outputs the gate of `config` keeps (the trial's own rule, any threshold)."""
    return gate(recorded.weights, config, recorded.num_actions)[0]


def graph_of(recorded: RecordedOutputs, keep: np.ndarray, edge_cost: str = "neglog") -> ProposedGraph:
    """The graph of the kept outputs [N, A * K] (all of them: the raw graph)."""
    return edges_from_outputs(recorded.decoded, recorded.weights, keep, edge_cost, recorded.num_actions)


def planning_metrics(recorded: RecordedOutputs, keep: np.ndarray) -> dict[str, float]:
    """plan_all, precision and realroute of the graph of the kept outputs."""
    graph = graph_of(recorded, keep)
    return {"plan_all": plan_all(graph), "precision": precision(graph, recorded.real),
            "realroute": realroute(graph, recorded.real)}
