"""Two-step beliefs at high-branching cells (Fig. 2), as rows a figure can draw without a model.

For the BELIEF_CELLS cells with the most two-step modes (ties: more observed two-step visits first,
then the lower cell index) [choice], each cell's *local latent plane* is the best-fit 2-D affine
plane of its true two-step successor latents (the reference latents of its two-step mode cells,
unit-normalized): origin = their mean, axes = their top two principal directions. Three modes span
it exactly; with four the off-plane part of each is kept as `residual`.

Rows (table `beliefs`; one set per cell, `rank` 0, 1, 2):
    kind "truth"       index j = the j-th mode, target_cell = that mode's cell, weight = its empirical
                       two-step branch frequency (counts / all two-step visits of the cell)
    kind "prediction"  index k1 * K + k2 = the rollout pair, target_cell = the cell it decodes to,
                       weight = pi_k1 * pi_k2 (the rollout's pair weight), gated = both steps gated
x, y are in-plane coordinates and residual the norm of the off-plane part (unit latents); is_mode
says whether target_cell is a two-step mode of the cell. Cells with fewer than 2 two-step modes
have no plane and are skipped.
"""

from __future__ import annotations

import numpy as np

from mopjepa.evaluate.truth import Truth
from mopjepa.graph.propose import TwoStepDecoding

BELIEF_CELLS = 3
MIN_PLANE_MODES = 2


def belief_cells(two_step_modes: np.ndarray, two_step_counts: np.ndarray, count: int = BELIEF_CELLS) -> np.ndarray:
    """[<= count] cells with the most two-step modes (>= MIN_PLANE_MODES), ties broken as documented."""
    num_modes = two_step_modes.sum(axis=1)  # [N]
    visits = two_step_counts.sum(axis=1)  # [N]
    order = np.lexsort((np.arange(len(num_modes)), -visits, -num_modes))  # last key sorts first
    order = order[num_modes[order] >= MIN_PLANE_MODES]
    return order[:count]


def local_plane(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(origin [D], axes [2, D]) of the best-fit 2-D affine plane through points [J, D], J >= 2."""
    origin = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - origin, full_matrices=True)  # vt [D, D]
    return origin, vt[:2]


def project(vectors: np.ndarray, origin: np.ndarray, axes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(coordinates [..., 2], off-plane residual norms [...]) of vectors [..., D]."""
    centred = vectors - origin
    coordinates = centred @ axes.T  # [..., 2]
    residual = np.linalg.norm(centred - coordinates @ axes, axis=-1)
    return coordinates, residual


def belief_rows(
    reference: np.ndarray, two_step_latents: np.ndarray, rollout: TwoStepDecoding, truth: Truth
) -> list[dict]:
    """Fig. 2's rows from reference [N, D], the rollout latents [N, K, K, D] and their decoding."""
    if truth.two_step_counts is None:
        return []
    num_cells, num_outputs = rollout.decoded.shape[:2]
    if two_step_latents.shape[:3] != (num_cells, num_outputs, num_outputs):
        raise ValueError(f"two-step latents {two_step_latents.shape} do not match the decoding "
                         f"{rollout.decoded.shape}")
    reference = _unit(reference)
    rows = []
    for rank, cell in enumerate(belief_cells(truth.two_step_modes, truth.two_step_counts)):
        modes = np.flatnonzero(truth.two_step_modes[cell])  # [J]
        frequency = truth.two_step_counts[cell, modes] / truth.two_step_counts[cell].sum()  # [J]
        origin, axes = local_plane(reference[modes])
        common = {"cell": int(cell), "rank": rank, "num_modes": len(modes)}
        xy, residual = project(reference[modes], origin, axes)
        rows += [
            {**common, "kind": "truth", "index": j, "x": float(xy[j, 0]), "y": float(xy[j, 1]),
             "residual": float(residual[j]), "weight": float(frequency[j]), "gated": True,
             "target_cell": int(mode), "is_mode": True}
            for j, mode in enumerate(modes)
        ]
        latents = _unit(two_step_latents[cell].reshape(num_outputs * num_outputs, -1))  # [K*K, D]
        xy, residual = project(latents, origin, axes)
        decoded = rollout.decoded[cell].reshape(-1)
        weights = rollout.pair_weights[cell].reshape(-1)
        gated = rollout.gated[cell].reshape(-1)
        rows += [
            {**common, "kind": "prediction", "index": pair, "x": float(xy[pair, 0]), "y": float(xy[pair, 1]),
             "residual": float(residual[pair]), "weight": float(weights[pair]), "gated": bool(gated[pair]),
             "target_cell": int(decoded[pair]), "is_mode": bool(truth.two_step_modes[cell, decoded[pair]])}
            for pair in range(num_outputs * num_outputs)
        ]
    return rows


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
