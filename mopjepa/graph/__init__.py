"""Blind graph proposal from model outputs (arrays in) and shortest-path planning. No ground truth here."""

from mopjepa.graph.plan import hop_distances, plan_path, reachability
from mopjepa.graph.propose import (
    BlindGraph,
    TwoStepDecoding,
    decode,
    decode_two_step,
    edges_from_outputs,
    gate,
    gate_threshold,
    propose_graph,
)
from mopjepa.graph.types import ProposedGraph

__all__ = [
    "BlindGraph",
    "ProposedGraph",
    "TwoStepDecoding",
    "decode",
    "decode_two_step",
    "edges_from_outputs",
    "gate",
    "gate_threshold",
    "hop_distances",
    "plan_path",
    "propose_graph",
    "reachability",
]
