"""Any world model as plain numpy functions, and the checks every answer of theirs must pass.

    encode(observations [N, obs_dim]) -> latents [N, D]
        The latent space successor latents are compared in (for a JEPA: the target encoder).
    successors(observations [N, obs_dim]) -> (latents [N, K, D], weights [N, K])
        The model's enumerable successor set of each raw observation: K >= 1 candidates and their
        weights in [0, 1] (router pi, mixture weights, 1/K for samples; one output: weight 1).
    rollout(latents [M, D]) -> (latents [M, K, D], weights [M, K])        (optional)
        The same successor set from a latent instead of an observation, for two-step rollouts in
        latent space. K must equal successors' K.

An action-conditioned model (the paper's c = [z, a]) declares ``takes_actions=True``: its successors
and rollout then take a second argument, actions [N, p] (one action per row), and the audit queries
each cell once per action of a set (GraphConfig.query_actions).

Observations are raw, as the environment gives them (a model standardizes them itself). Every
answer is validated before anything reads it: a wrong type, shape, K = 0, a non-finite or zero-norm
latent, a latent too large to normalize in its dtype, or a weight outside [0, 1] raises
ModelOutputError naming the function, what was expected and what came back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

WEIGHT_TOLERANCE = 1e-6
_MIN_NORM = 1e-8


class ModelOutputError(ValueError):
    """A model function returned something the protocol cannot read; the message says what and why."""


Encode = Callable[[np.ndarray], np.ndarray]
Successors = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class ModelFunctions:
    encode: Encode
    """observations [N, obs_dim] -> latents [N, D]."""
    successors: Successors
    """observations [N, obs_dim] -> (latents [N, K, D], weights [N, K])."""
    rollout: Successors | None = None
    """latents [M, D] -> (latents [M, K, D], weights [M, K]); None: two steps roll through cells."""
    takes_actions: bool = False
    """successors and rollout take (inputs, actions [N, p]): the model's context carries an action."""

    @classmethod
    def of(cls, model: ModelFunctions | tuple | list) -> ModelFunctions:
        """Accept ModelFunctions or a tuple (encode, successors[, rollout]) of callables."""
        if isinstance(model, ModelFunctions):
            return model
        if not isinstance(model, tuple | list) or len(model) not in (2, 3):
            raise ModelOutputError(
                f"a model is (encode, successors) or (encode, successors, rollout); got {_describe(model)}"
            )
        for name, function in zip(("encode", "successors", "rollout"), model, strict=False):
            if not callable(function) and not (name == "rollout" and function is None):
                raise ModelOutputError(f"the model's {name} must be callable; got {_describe(function)}")
        return cls(*model)

    def call_encode(self, observations: np.ndarray) -> np.ndarray:
        """Validated latents [N, D]."""
        latents = _array("encode", self.encode(observations.copy()), "latents [N, D]")
        expect = f"latents [N={len(observations)}, D]"
        if latents.ndim != 2 or latents.shape[0] != len(observations) or latents.shape[1] < 1:
            raise ModelOutputError(f"encode(observations {list(observations.shape)}) must return {expect}; "
                                   f"got shape {list(latents.shape)}")
        _check_latents("encode", latents)
        return latents

    def call_successors(
        self, observations: np.ndarray, latent_dim: int, action: np.ndarray | None = None,
        num_outputs: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Validated (latents [N, K, D], weights [N, K]) of observations [N, obs_dim], every row with the
        one `action` [p] when the model takes actions; K must be num_outputs when it is given."""
        output = self.successors(*self._inputs(observations, action))
        return check_successor_set("successors", output, len(observations), latent_dim, num_outputs)

    def call_rollout(
        self, latents: np.ndarray, num_outputs: int, action: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Validated (latents [M, K, D], weights [M, K]) of latents [M, D]; K must be num_outputs."""
        if self.rollout is None:
            raise ModelOutputError("this model has no rollout function")
        output = self.rollout(*self._inputs(latents, action))
        return check_successor_set("rollout", output, len(latents), latents.shape[1], num_outputs)

    def _inputs(self, rows: np.ndarray, action: np.ndarray | None) -> tuple[np.ndarray, ...]:
        if self.takes_actions != (action is not None):
            raise ValueError(
                "this model's successors take actions: query it with an action set (query_actions 'compass4' "
                "or 'compass8')" if self.takes_actions else
                "this model's successors take no action: query it with query_actions 'none'"
            )
        if action is None:
            return (rows.copy(),)
        return rows.copy(), np.tile(np.asarray(action, dtype=np.float32), (len(rows), 1))  # [N, p]


def check_successor_set(
    name: str, output: object, num_rows: int, latent_dim: int, num_outputs: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(latents [N, K, D], weights [N, K]) from a model's answer, or ModelOutputError."""
    k_text = "K" if num_outputs is None else f"K={num_outputs}"
    expect = f"(latents [N={num_rows}, {k_text}, D={latent_dim}], weights [N={num_rows}, {k_text}])"
    if not isinstance(output, tuple | list) or len(output) != 2:
        raise ModelOutputError(f"{name} must return a pair {expect}; got {_describe(output)}")
    latents = _array(name, output[0], "latents")
    weights = _array(name, output[1], "weights")
    if latents.ndim != 3 or latents.shape[0] != num_rows or latents.shape[2] != latent_dim:
        raise ModelOutputError(f"{name} must return {expect}; got latents of shape {list(latents.shape)}")
    if latents.shape[1] == 0:
        raise ModelOutputError(f"{name} returned K = 0 outputs per input; a successor set needs K >= 1")
    if num_outputs is not None and latents.shape[1] != num_outputs:
        raise ModelOutputError(f"{name} must return {expect} (the same K as successors); "
                               f"got K = {latents.shape[1]}")
    if weights.shape != latents.shape[:2]:
        raise ModelOutputError(f"{name} must return {expect}; got weights of shape {list(weights.shape)} "
                               f"for latents {list(latents.shape)}")
    _check_latents(name, latents)
    if not np.isfinite(weights).all():
        raise ModelOutputError(f"{name} returned {int((~np.isfinite(weights)).sum())} non-finite weights "
                               f"(NaN or inf); weights must lie in [0, 1]")
    if weights.min() < -WEIGHT_TOLERANCE or weights.max() > 1 + WEIGHT_TOLERANCE:
        raise ModelOutputError(f"{name} returned weights in [{weights.min():.4g}, {weights.max():.4g}]; "
                               f"weights must lie in [0, 1]")
    return latents, weights


def _array(name: str, value: object, what: str) -> np.ndarray:
    if hasattr(value, "detach") or not isinstance(value, np.ndarray | list | tuple):
        raise ModelOutputError(f"{name} must return numpy arrays ({what}); got {_describe(value)}")
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ModelOutputError(f"{name} must return real numbers ({what}); got dtype {array.dtype}")
    return array


def _check_latents(name: str, latents: np.ndarray) -> None:
    bad = ~np.isfinite(latents)
    if bad.any():
        raise ModelOutputError(f"{name} returned {int(bad.sum())} non-finite latent entries (NaN or inf)")
    # Latents are compared by direction: each is divided by its norm, whose squares must not overflow.
    dtype = latents.dtype if np.issubdtype(latents.dtype, np.floating) else np.dtype(np.float64)
    limit = float(np.sqrt(np.finfo(dtype).max / latents.shape[-1]) / 10)
    largest = float(np.abs(latents).max()) if latents.size else 0.0
    if largest > limit:
        raise ModelOutputError(
            f"{name} returned latent entries up to {largest:.3g} in magnitude; {dtype} latents of dimension "
            f"{latents.shape[-1]} must stay below {limit:.3g} (their norm would overflow when they are normalized); "
            "scale them down (only a latent's direction matters)"
            + (" or return float64" if dtype != np.float64 else "")
        )
    norms = np.linalg.norm(latents, axis=-1)
    if (norms < _MIN_NORM).any():
        raise ModelOutputError(f"{name} returned {int((norms < _MIN_NORM).sum())} zero latents: a latent needs "
                               f"a direction (decoding is by cosine similarity)")


def _describe(value: object) -> str:
    shape = getattr(value, "shape", None)
    return f"{type(value).__name__}" + (f" of shape {list(shape)}" if shape is not None else "")
