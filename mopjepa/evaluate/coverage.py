"""Coverage of stochastic dynamics (docs/protocol.md#coverage): cov_r, cov_p, the shuffle test, two-step recovery.

Outputs enter as decoded cells [N, K] with an active mask [N, K] (all True for raw coverage, the
gate for gated coverage). A *mode set* is a list of scored cells [B] with their modes [B, N] bool:
- "branching": cells with >= 2 successor modes, and those modes;
- "teleport": the teleport-in cells, with every teleport-out cell as a mode (teleport mazes only).
Choices (docs/protocol.md#coverage): cov_r is the mean over scored cells of each cell's recovered
fraction (every cell weighs the same); cov_p pools all active outputs at the scored cells.
"""

from __future__ import annotations

import numpy as np

from mopjepa.evaluate.routes import ratio

MIN_BRANCHING_MODES = 2
MIN_TWO_STEP_MODES = 3


def branching_modes(successor_modes: np.ndarray, minimum: int = MIN_BRANCHING_MODES):
    """(cells [B], modes [B, N]): cells with at least `minimum` modes and their modes."""
    cells = np.flatnonzero(successor_modes.sum(axis=1) >= minimum)
    return cells, successor_modes[cells]


def teleport_modes(teleport_in: np.ndarray, teleport_out: np.ndarray, num_cells: int):
    """(cells [I], modes [I, N]): the teleport-in cells, each with all teleport-out cells as modes."""
    modes = np.zeros((len(teleport_in), num_cells), dtype=bool)
    modes[:, teleport_out] = True
    return np.asarray(teleport_in, dtype=np.int64), modes


def output_hits(decoded: np.ndarray, active: np.ndarray) -> np.ndarray:
    """[N, N] bool: hit[c, m] when some active output of cell c decodes to m."""
    num_cells = decoded.shape[0]
    rows = np.broadcast_to(np.arange(num_cells)[:, None], decoded.shape)  # [N, K]
    hit = np.zeros((num_cells, num_cells), dtype=bool)
    hit[rows[active], decoded[active]] = True
    return hit


def cov_r(decoded: np.ndarray, active: np.ndarray, cells: np.ndarray, modes: np.ndarray,
          sources: np.ndarray | None = None) -> float:
    """Mean over scored cells of the fraction of their modes hit by >= 1 active output.
    Scored cell cells[b] uses the outputs of sources[b] (default: itself; the shuffle test
    passes permuted contexts). NaN when there is no scored cell."""
    _check_mode_set(cells, modes, decoded.shape[0])
    if len(cells) == 0:
        return float("nan")
    sources = cells if sources is None else sources
    hit = output_hits(decoded, active)[sources]  # [B, N]
    recovered = (hit & modes).sum(axis=1) / modes.sum(axis=1)  # [B]
    return float(recovered.mean())


def cov_p(decoded: np.ndarray, active: np.ndarray, cells: np.ndarray, modes: np.ndarray) -> float:
    """Fraction of the active outputs at the scored cells that decode to one of that cell's modes."""
    _check_mode_set(cells, modes, decoded.shape[0])
    scored_active = active[cells]  # [B, K]
    on_mode = np.take_along_axis(modes, decoded[cells], axis=1)  # [B, K]
    return ratio(int((on_mode & scored_active).sum()), int(scored_active.sum()))


def context_permutations(num_cells: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """[P, N] permutations of the cells drawn from rng (plain permutations: a cell may keep its own)."""
    return np.stack([rng.permutation(num_cells) for _ in range(count)])


def shuffle(decoded: np.ndarray, active: np.ndarray, cells: np.ndarray, modes: np.ndarray,
            permutations: np.ndarray) -> float:
    """cov_r with the true contexts / mean cov_r when cell c is scored with the outputs of perm(c),
    over the [P, N] permutations. 1.0 = the outputs do not depend on the context; NaN when the
    shuffled coverage is 0 (or nothing is scored)."""
    true = cov_r(decoded, active, cells, modes)
    return ratio(true, shuffled_cov_r(decoded, active, cells, modes, permutations)) if len(cells) else float("nan")


def shuffled_cov_r(decoded: np.ndarray, active: np.ndarray, cells: np.ndarray, modes: np.ndarray,
                   permutations: np.ndarray) -> float:
    """The mean over the [P, N] permutations of cov_r when cell c is scored with the outputs of
    perm(c): coverage under permuted contexts (the paper's "shuffle leakage"); NaN if nothing is scored."""
    if len(cells) == 0:
        return float("nan")
    return float(np.mean([cov_r(decoded, active, cells, modes, sources=perm[cells]) for perm in permutations]))


def two_step(decoded: np.ndarray, active: np.ndarray, two_step_modes: np.ndarray,
             minimum: int = MIN_TWO_STEP_MODES) -> float:
    """Over cells with >= `minimum` two-step modes: mean fraction of their two-step modes hit by the
    active (k1, k2) pairs of a two-step rollout, decoded [N, K, K] with active [N, K, K]."""
    num_cells = decoded.shape[0]
    cells, modes = branching_modes(two_step_modes, minimum)
    pairs = decoded.reshape(num_cells, -1)  # [N, K*K]
    return cov_r(pairs, active.reshape(num_cells, -1), cells, modes)


def _check_mode_set(cells: np.ndarray, modes: np.ndarray, num_cells: int) -> None:
    if modes.shape != (len(cells), num_cells):
        raise ValueError(f"modes must be [B, N] = [{len(cells)}, {num_cells}]; got {modes.shape}")
    if len(cells) and (modes.sum(axis=1) == 0).any():
        raise ValueError("every scored cell needs at least one mode")
