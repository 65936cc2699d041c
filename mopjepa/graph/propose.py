"""Blind graph proposal (docs/protocol.md#4-the-blind-graph): model outputs in, a transition graph out. No ground truth.

Arrays only: the latents and weights the predictor emitted for each free cell's query, and the
target encoder's reference latent of every cell. Nothing here reads the truth graph, the successor
laws or a model; the evaluator receives the result afterwards (tests/test_blindness.py proves it).

Choices (docs/protocol.md#4-the-blind-graph):
- Decoding: the cell whose reference latent has the highest cosine similarity; exact ties go to the
  lowest cell index (numpy argmax).
- Several outputs of one cell decoding to the same other cell make ONE edge whose weight is the
  sum of their weights (the router mass on that transition) [choice].
- An action-conditioned model is queried once per action of a set (A queries per cell): its K
  outputs per query are gated inside their query, a cell's edges are the union over its actions,
  and an edge's weight is the largest mass any ONE action gives it (the agent chooses the action;
  the masses of different actions are not a distribution over one future, so they never add up);
  the edge keeps that action. A cell's outputs are laid out action-major: output a * K + k.
- Edge cost: -log(weight) clipped at 0, weights floored at WEIGHT_FLOOR (an output with weight 0
  still gives a raw edge, at a cost of ~27.6), plus TIE_BREAK per edge so that among plans of
  equal probability the one with fewer hops wins; 'uniform' costs are 1 per edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mopjepa.config import GraphConfig
from mopjepa.graph.types import ProposedGraph

WEIGHT_FLOOR = 1e-12
TIE_BREAK = 1e-6
_MIN_NORM = 1e-8


@dataclass(frozen=True)
class BlindGraph:
    """What the model proposed, blind: decoded outputs, their gate, and the raw and gated graphs."""

    decoded: np.ndarray
    """[N, K] int cell each output decodes to (highest cosine similarity to the reference latents)."""
    weights: np.ndarray
    """[N, K] float weight of each output (router pi, mixture weight, 1/S, or 1 for one output)."""
    gated: np.ndarray
    """[N, K] bool router-active outputs: weight > threshold (every output when K = 1)."""
    threshold: float
    """The gate threshold used (gate_factor / K, or the absolute gate_threshold)."""
    raw: ProposedGraph
    """An edge c -> decoded[c, k] for every output k; self-loops dropped, duplicates merged."""
    gated_graph: ProposedGraph
    """The same from the gated outputs only."""
    num_actions: int = 1
    """A: queries per cell (1 without actions); the outputs of a cell are A groups of K."""

    @property
    def num_cells(self) -> int:
        return self.decoded.shape[0]

    @property
    def num_outputs(self) -> int:
        """Outputs per cell over all its queries (A * K)."""
        return self.decoded.shape[1]


@dataclass(frozen=True)
class TwoStepDecoding:
    """A two-step rollout decoded to cells: output k2 of the rollout through output k1."""

    decoded: np.ndarray
    """[N, K, K] int cell of the second-step output k2 rolled from the first-step output k1."""
    gated: np.ndarray
    """[N, K, K] bool pair (k1, k2) gated: both the first and the second output pass the gate."""
    pair_weights: np.ndarray
    """[N, K, K] float first weight * second weight (the rollout's probability of the pair)."""


def gate_threshold(num_outputs: int, config: GraphConfig) -> float:
    """t = gate_threshold when it is set (> 0), else gate_factor / K."""
    return config.gate_threshold if config.gate_threshold > 0 else config.gate_factor / num_outputs


def gate(weights: np.ndarray, config: GraphConfig, num_actions: int = 1) -> tuple[np.ndarray, float]:
    """[..., A * K] bool router-active outputs (weight > t, t from the K outputs of one query; all of
    them when K = 1), and t."""
    num_outputs = outputs_per_query(weights.shape[-1], num_actions)
    threshold = gate_threshold(num_outputs, config)
    if num_outputs == 1:
        return np.ones(weights.shape, dtype=bool), threshold
    return weights > threshold, threshold


def outputs_per_query(width: int, num_actions: int) -> int:
    """K of a cell's A * K outputs."""
    if num_actions < 1 or width % num_actions:
        raise ValueError(f"{width} outputs per cell are not {num_actions} queries of equally many outputs")
    return width // num_actions


def decode(latents: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """[...] int cell of highest cosine similarity for latents [..., D] against reference [N, D]."""
    _check_finite("latents", latents)
    _check_finite("reference", reference)
    if latents.shape[-1] != reference.shape[-1]:
        raise ValueError(f"latent dim {latents.shape[-1]} != reference dim {reference.shape[-1]}")
    queries = _unit("latents", latents)  # [..., D]
    keys = _unit("reference", reference)  # [N, D]
    similarity = queries @ keys.T  # [..., N]
    return similarity.argmax(axis=-1)


def propose_graph(
    latents: np.ndarray, weights: np.ndarray, reference: np.ndarray, config: GraphConfig, num_actions: int = 1
) -> BlindGraph:
    """The blind graph of model outputs latents [N, A * K, D], weights [N, A * K] (A queries of K
    outputs per cell, action-major) and reference [N, D]."""
    num_cells = reference.shape[0]
    if latents.ndim != 3 or latents.shape[0] != num_cells or reference.ndim != 2:
        raise ValueError(
            f"expected latents [N, K, D] and reference [N, D]; got {latents.shape}, {reference.shape}"
        )
    _check_weights(weights, latents.shape[:2])
    decoded = decode(latents, reference)  # [N, A * K]
    gated, threshold = gate(weights, config, num_actions)  # [N, A * K]
    everything = np.ones_like(gated)
    return BlindGraph(
        decoded=decoded,
        weights=weights.astype(np.float64),
        gated=gated,
        threshold=float(threshold),
        raw=edges_from_outputs(decoded, weights, everything, config.edge_cost, num_actions),
        gated_graph=edges_from_outputs(decoded, weights, gated, config.edge_cost, num_actions),
        num_actions=num_actions,
    )


def decode_two_step(
    latents: np.ndarray,
    first_weights: np.ndarray,
    second_weights: np.ndarray,
    reference: np.ndarray,
    config: GraphConfig,
    num_actions: int = 1,
) -> TwoStepDecoding:
    """Decode a two-step latent rollout: latents [N, K, K, D] (output k2 of the predictor applied to
    output k1 of cell c), first_weights [N, K] (step-one weights of c), second_weights [N, K, K]
    (step-two weights given output k1). A pair is gated when both of its steps pass the gate. With
    actions, K is A * K on both steps (each step over the whole action set)."""
    num_cells, num_outputs = first_weights.shape
    expected = (num_cells, num_outputs, num_outputs)
    if latents.shape[:3] != expected or latents.ndim != 4:
        raise ValueError(f"two-step latents must be [N, K, K, D] with [N, K] = {first_weights.shape}; "
                         f"got {latents.shape}")
    _check_weights(first_weights, (num_cells, num_outputs))
    _check_weights(second_weights, expected)
    first_gated, _ = gate(first_weights, config, num_actions)  # [N, K]
    second_gated, _ = gate(second_weights, config, num_actions)  # [N, K, K]
    return TwoStepDecoding(
        decoded=decode(latents, reference),
        gated=first_gated[:, :, None] & second_gated,
        pair_weights=first_weights[:, :, None] * second_weights,
    )


def edges_from_outputs(
    decoded: np.ndarray, weights: np.ndarray, keep: np.ndarray, edge_cost: str, num_actions: int = 1
) -> ProposedGraph:
    """Edges c -> decoded[c, o] over outputs with keep[c, o] (all [N, A * K]); self-loops dropped.
    Within one query, outputs to the same c' merge by summing their weights; across the A queries an
    edge takes its largest mass and keeps that action (the lowest on ties). Edges come sorted by
    (source, target)."""
    num_cells, width = decoded.shape
    per_query = outputs_per_query(width, num_actions)
    source = np.broadcast_to(np.arange(num_cells)[:, None], decoded.shape)  # [N, A * K]
    query = np.broadcast_to(np.arange(width)[None, :] // per_query, decoded.shape)  # [N, A * K] action
    mask = keep & (decoded != source)
    pair = source[mask] * num_cells + decoded[mask]  # [M] flat (c, c') index
    unique, inverse = np.unique(query[mask] * num_cells**2 + pair, return_inverse=True)  # [Q], [M]
    mass = np.bincount(inverse, weights=weights[mask], minlength=len(unique))  # [Q] per (action, c, c')
    pair, action = unique % num_cells**2, unique // num_cells**2  # [Q]
    order = np.lexsort((action, -mass, pair))  # per pair, its largest mass first
    first = np.ones(len(order), dtype=bool)
    first[1:] = pair[order][1:] != pair[order][:-1]
    best = order[first]  # [E]
    return ProposedGraph(
        num_cells=num_cells,
        source=pair[best] // num_cells,
        target=pair[best] % num_cells,
        weight=mass[best],
        cost=edge_costs(mass[best], edge_cost),
        action=action[best] if num_actions > 1 else None,
    )


def edge_costs(weight: np.ndarray, edge_cost: str) -> np.ndarray:
    """[E] planning cost: -log(weight) (>= 0) + TIE_BREAK, or 1 per edge for 'uniform'."""
    if edge_cost == "uniform":
        return np.ones(len(weight))
    if edge_cost != "neglog":
        raise ValueError(f"edge_cost {edge_cost!r} is not one of 'neglog', 'uniform'")
    return np.maximum(-np.log(np.maximum(weight, WEIGHT_FLOOR)), 0.0) + TIE_BREAK


def _check_weights(weights: np.ndarray, shape: tuple[int, ...]) -> None:
    if weights.shape != tuple(shape):
        raise ValueError(f"weights have shape {weights.shape}, expected {tuple(shape)}")
    _check_finite("weights", weights)
    if (weights < 0).any() or (weights > 1 + 1e-6).any():
        raise ValueError(f"weights must lie in [0, 1]; got min {weights.min()}, max {weights.max()}")


def _check_finite(name: str, array: np.ndarray) -> None:
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contain {int((~np.isfinite(array)).sum())} non-finite values")


def _unit(name: str, vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    if (norms < _MIN_NORM).any():
        count = int((norms < _MIN_NORM).sum())
        raise ValueError(f"{name}: {count} vectors of (near-)zero norm have no cosine direction")
    return vectors / norms
