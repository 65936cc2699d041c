"""The JEPA training loop: a step-based budget, each step in ijepa's three labelled parts.

    Step 1. forward: online context latents z = f_theta(s), targets z+ = sg(f_xi(s+)), c = [z, a]
    Step 2. the arm's own loss, backward, AdamW step on (theta, phi)
    Step 3. EMA update of the target encoder, xi <- tau xi + (1 - tau) theta

The loop knows nothing about arms (no ``if arm == ...``): every arm answers ``predictor.loss``.
Every ``log_every`` steps (and at the last step) ``callback(step, metrics)`` receives the means over
the steps since the previous call, namespaced ``train/loss``, ``train/<term>`` (the arm's loss terms
and diagnostics such as ``train/head_usage_entropy``, ``train/router_entropy``) and
``train/examples_per_s``. A non-finite loss or term stops training with ``NonFiniteLossError``.

Every ``eval_every`` steps before the last (``evaluate_steps``), ``on_evaluate(step)`` may look at the
model (the protocol's curves); its time is left out of the throughput figures.

The model, the sampler's examples and the optimizer state live on ``cfg.device`` (resolved by
mopjepa.model.device; the model is built on the CPU, so its initialisation is the same on every
device, and moved there once). Per step only the finiteness check's one boolean crosses back; batch
indices cross once per 64 steps (the sampler's chunks), the metrics once per log window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from mopjepa.config import TrainConfig
from mopjepa.data.sampler import BatchSampler
from mopjepa.model.device import resolve_device
from mopjepa.model.world_model import WorldModel

MetricsCallback = Callable[[int, dict[str, float]], None]
EvaluateCallback = Callable[[int], None]


class NonFiniteLossError(FloatingPointError):
    """The loss or one of its named terms became NaN or infinite; the message names step and term."""


@dataclass(frozen=True)
class TrainSummary:
    steps: int
    final_metrics: dict[str, float]
    """The metrics of the last callback window (the same dict the callback received last)."""
    seconds: float
    examples_per_s: float
    device: str = "cpu"
    """Where it trained: 'cpu' or 'cuda' (cfg.device resolved)."""


def make_optimizer(model: WorldModel, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW on the online encoder and the predictor; the target encoder only moves by EMA."""
    params = [*model.encoder.parameters(), *model.predictor.parameters()]
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def check_finite(step: int, names: list[str], values: torch.Tensor) -> None:
    """Raise NonFiniteLossError naming every non-finite entry of `values` [T] (names[i] for values[i])."""
    finite = torch.isfinite(values)
    if bool(finite.all()):
        return
    bad = [
        f"{name}={value:.4g}"
        for name, value, ok in zip(names, values.tolist(), finite.tolist(), strict=True)
        if not ok
    ]
    raise NonFiniteLossError(
        f"training diverged at step {step}: non-finite loss term(s) {', '.join(bad)} "
        f"(all terms: {dict(zip(names, values.tolist(), strict=True))})"
    )


def evaluate_steps(cfg: TrainConfig) -> list[int]:
    """The steps after which training pauses for an evaluation: multiples of eval_every (0: steps // 10)
    before the last step (the trial evaluates the final model itself)."""
    every = cfg.eval_every or max(1, cfg.steps // 10)
    return list(range(every, cfg.steps, every))


def train(
    model: WorldModel,
    sampler: BatchSampler,
    cfg: TrainConfig,
    callback: MetricsCallback | None = None,
    on_evaluate: EvaluateCallback | None = None,
) -> TrainSummary:
    """Train `model` in place for cfg.steps steps on minibatches from `sampler`."""
    if sampler.batch_size != cfg.batch_size:
        raise ValueError(
            f"sampler batch size {sampler.batch_size} != TrainConfig.batch_size {cfg.batch_size}"
        )
    device = resolve_device(cfg.device)
    model.to(device)
    sampler.to(device)
    optimizer = make_optimizer(model, cfg)  # after the move: its state is created on the device
    model.train()
    names: list[str] | None = None
    window_sum, window_steps, metrics = None, 0, {}
    pauses = set(evaluate_steps(cfg)) if on_evaluate is not None else set()
    paused = 0.0  # seconds spent in on_evaluate, left out of the throughput
    start = window_start = time.perf_counter()
    for step in range(cfg.steps):
        obs, next_obs, action = sampler.sample()  # [B, obs_dim], [B, obs_dim], [B, p] | None
        progress = step / cfg.steps

        # Step 1. forward: online context latents and stop-gradient target latents (Eq. 1)
        z = model.encode(obs)  # [B, D]
        z_plus = model.encode_target(next_obs)  # [B, D]
        context = model.context(z, action)  # [B, D + p]

        # Step 2. the arm's loss, backward, AdamW step
        loss, terms = model.predictor.loss(context, z_plus, progress)
        names = names or ["loss", *terms]
        values = torch.stack([loss.detach(), *terms.values()])  # [T]
        check_finite(step + 1, names, values)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

        # Step 3. momentum update of the target encoder (Eq. 3)
        model.ema_update(cfg.ema_tau)

        window_sum = values if window_sum is None else window_sum + values
        window_steps += 1
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            now = time.perf_counter()
            means = (window_sum / window_steps).tolist()
            metrics = {f"train/{name}": value for name, value in zip(names, means, strict=True)}
            metrics["train/examples_per_s"] = window_steps * cfg.batch_size / (now - window_start)
            if callback is not None:
                callback(step + 1, metrics)
            window_sum, window_steps, window_start = None, 0, now
        if step + 1 in pauses:
            pause_start = time.perf_counter()
            on_evaluate(step + 1)
            model.train()
            pause = time.perf_counter() - pause_start
            paused += pause
            window_start += pause
    seconds = time.perf_counter() - start - paused
    return TrainSummary(cfg.steps, metrics, seconds, cfg.steps * cfg.batch_size / seconds, device.type)
