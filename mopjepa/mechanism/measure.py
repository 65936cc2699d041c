"""What the branch sweep measures, from arrays (no model): one long-form row per metric, key = M.

Inputs per state s (all latents compared by cosine, in the target encoder's space):
    mode_latents [S, M, D]   the target latents of s's M mode centres (noise-free states)
    mode_weights [S, M]      their true weights w
    outputs [S, K, D], weights [S, K]   the arm's successor set at the noise-free context
    gated [S, K]             the protocol's router gate (weight > gate_factor / K; all when K = 1)

Metrics (means over states, or over (state, mode) pairs):
    coverage           fraction of a state's modes hit by a gated output: cos(u_k, zeta_m) >= hit_cosine
    coverage_raw       the same over all outputs
    mode_distance      cosine distance 1 - cos from each mode to its best (closest) gated output
    mean_similarity    cos of the gated output closest to the normalized conditional mean
                       mu = sum_m w_m zeta_m / |.|  (Prop. 1: ~1 for a collapsed single output)
    mean_to_mode       cos of mu to its nearest mode: how far the collapse point is from every mode
    mode_separation    largest cos between two distinct modes of a state (M >= 2; encoder geometry)
    router_error       |pi_m - w_m|, pi_m = the weight of the outputs whose nearest mode is m; only
                       for arms whose weights are not all equal (mop, mdn: a router or mixture)
    head_spread        mean pairwise cosine distance between a state's outputs (K >= 2; 0 = identical
                       heads, the ensemble's collapse)
    active_outputs     gated outputs per state
"""

from __future__ import annotations

import numpy as np

Row = dict[str, str | float]


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def mechanism_rows(
    mode_latents: np.ndarray,
    mode_weights: np.ndarray,
    outputs: np.ndarray,
    weights: np.ndarray,
    gated: np.ndarray,
    hit_cosine: float,
) -> list[Row]:
    """The rows documented above, key = str(M)."""
    S, M, _ = mode_latents.shape
    K = outputs.shape[1]
    if outputs.shape[0] != S or weights.shape != (S, K) or gated.shape != (S, K) or mode_weights.shape != (S, M):
        raise ValueError(f"shapes disagree: modes {mode_latents.shape}, weights {mode_weights.shape}, "
                         f"outputs {outputs.shape}, output weights {weights.shape}, gated {gated.shape}")
    modes, u = unit(mode_latents), unit(outputs)
    cos = np.einsum("skd,smd->skm", u, modes)  # [S, K, M]
    gated_cos = np.where(gated[:, :, None], cos, -np.inf)  # [S, K, M]
    mean = unit((mode_weights[:, :, None] * modes).sum(axis=1))  # [S, D]
    to_mean = np.einsum("skd,sd->sk", u, mean)  # [S, K]
    values = {
        "coverage": (gated_cos.max(axis=1) >= hit_cosine).mean(),
        "coverage_raw": (cos.max(axis=1) >= hit_cosine).mean(),
        "mode_distance": (1.0 - gated_cos.max(axis=1)).mean(),
        "mean_similarity": np.where(gated, to_mean, -np.inf).max(axis=1).mean(),
        "mean_to_mode": np.einsum("sd,smd->sm", mean, modes).max(axis=1).mean(),
        "active_outputs": gated.sum(axis=1).mean(),
    }
    if M >= 2:
        pairwise = np.einsum("smd,snd->smn", modes, modes)  # [S, M, M]
        pairwise[:, np.arange(M), np.arange(M)] = -np.inf
        values["mode_separation"] = pairwise.max(axis=(1, 2)).mean()
    if K >= 2:
        between = np.einsum("skd,sjd->skj", u, u)  # [S, K, K]
        off_diagonal = ~np.eye(K, dtype=bool)
        values["head_spread"] = (1.0 - between[:, off_diagonal]).mean()
    if not np.allclose(weights, weights[:, :1]):
        nearest = cos.argmax(axis=2)  # [S, K] nearest mode of every output
        pi = np.zeros((S, M))
        np.add.at(pi, (np.repeat(np.arange(S), K), nearest.reshape(-1)), weights.reshape(-1))
        values["router_error"] = np.abs(pi - mode_weights).mean()
    return [{"metric": name, "key": str(M), "value": float(value)} for name, value in values.items()]
