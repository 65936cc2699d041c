"""Blind graph proposal from model outputs (arrays in) and shortest-path planning. No ground truth here."""

from mopjepa.graph.plan import hop_distances, plan_path, reachability
from mopjepa.graph.types import ProposedGraph

__all__ = ["ProposedGraph", "hop_distances", "plan_path", "reachability"]
