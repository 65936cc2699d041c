"""The training loop (three steps, metrics, NaN guard, determinism), WorldModel and checkpoints."""

import numpy as np
import pytest
import torch

from mopjepa.config import TrialConfig
from mopjepa.data.sampler import BatchSampler
from mopjepa.model import PREDICTORS, WorldModel
from mopjepa.seeding import torch_generator
from mopjepa.train import (
    CheckpointError,
    NonFiniteLossError,
    load_checkpoint,
    load_into,
    save_checkpoint,
    train,
)

TINY = {
    "latent_dim": 8,
    "encoder_hidden": 16,
    "hidden_dim": 16,
    "batch_size": 32,
    "steps": 12,
    "log_every": 5,
}


def tiny_config(arm: str = "mop", **flat) -> TrialConfig:
    extra = {"K": 3} if "K" in TrialConfig.allowed_keys(arm) else {}
    return TrialConfig.from_flat({"arm": arm, **TINY, **extra, **flat})


def toy_examples(n: int = 200, seed: int = 0):
    """Raw 2-D observations and targets a step away in one of two directions, plus a 2-D action."""
    rng = np.random.default_rng(seed)
    context = rng.uniform(0, 10, size=(n, 2)).astype(np.float32)
    step = np.where(rng.random((n, 1)) < 0.5, [[1.0, 0.0]], [[0.0, 1.0]]).astype(np.float32)
    return context, context + step, step


def build(cfg: TrialConfig, action_dim: int = 2) -> tuple[WorldModel, BatchSampler]:
    context, target, action = toy_examples()
    model = WorldModel.build(cfg, 2, action_dim, context.mean(0), context.std(0))
    sampler = BatchSampler(
        context,
        target,
        cfg.train.batch_size,
        torch_generator(cfg.seed, "batches"),
        action=action if cfg.data.action_in_context else None,
    )
    return model, sampler


@pytest.mark.parametrize("arm", sorted(PREDICTORS))
def test_every_arm_trains_and_reports_namespaced_metrics(arm):
    cfg = tiny_config(arm)
    model, sampler = build(cfg)
    calls = []
    summary = train(model, sampler, cfg.train, lambda step, metrics: calls.append((step, metrics)))
    assert [step for step, _ in calls] == [5, 10, 12]
    metrics = calls[-1][1]
    assert summary.final_metrics == metrics and summary.examples_per_s > 0
    assert all(key.startswith("train/") and np.isfinite(value) for key, value in metrics.items())
    assert {"train/loss", "train/examples_per_s"} <= set(metrics)
    if arm in ("mop", "m3", "mdn"):
        assert {"train/router_entropy", "train/head_usage_entropy"} <= set(metrics)
    online = dict(model.encoder.named_parameters())
    for name, xi in model.target_encoder.named_parameters():  # EMA moved, but stays behind
        if arm != "codebook":
            assert not torch.equal(xi, online[name])


def test_context_action_enters_the_predictor():
    cfg = tiny_config("mop", context_action="step", query_actions="compass4")
    model, sampler = build(cfg)
    assert model.predictor.context_dim == 8 + 2
    train(model, sampler, cfg.train)
    z = model.encode(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="action"):
        model.successors(z)
    latents, weights = model.successors(z, torch.zeros(4, 2))
    assert latents.shape == (4, 3, 8) and weights.shape == (4, 3)
    plain = WorldModel.build(tiny_config("mop"), 2, 2, np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="no action"):
        plain.successors(z, torch.zeros(4, 2))


def test_same_seed_gives_bitwise_identical_parameters():
    def run(seed):
        cfg = tiny_config("mop", seed=seed)
        model, sampler = build(cfg)
        train(model, sampler, cfg.train)
        return model.state_dict()

    first, again, other = run(0), run(0), run(1)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_world_model_successors_and_encodings():
    cfg = tiny_config("var", num_samples=5)
    model, _ = build(cfg)
    obs = torch.randn(6, 2)
    z = model.encode(obs)
    assert z.requires_grad and not model.encode_target(obs).requires_grad
    torch.testing.assert_close(model.encode_target(obs), z.detach())  # xi starts as a copy of theta
    latents, weights = model.predict(obs)
    assert latents.shape == (6, 5, 8) and model.num_outputs == 5
    a = model.successors(z, generator=torch.Generator().manual_seed(3))[0]
    b = model.successors(z, generator=torch.Generator().manual_seed(3))[0]
    assert torch.equal(a, b)


def test_nan_guard_names_the_step_and_the_term(monkeypatch):
    cfg = tiny_config("mop")
    model, sampler = build(cfg)
    original, calls = model.predictor.loss, []

    def poisoned(c, z_plus, progress):
        loss, terms = original(c, z_plus, progress)
        calls.append(1)
        if len(calls) == 3:
            terms = {**terms, "route": torch.tensor(float("nan"))}
            loss = loss + terms["route"]
        return loss, terms

    monkeypatch.setattr(model.predictor, "loss", poisoned)
    with pytest.raises(NonFiniteLossError, match=r"step 3.*route=nan") as error:
        train(model, sampler, cfg.train)
    assert "wta=" not in str(error.value).split("(all terms")[0]


def test_checkpoint_round_trip(tmp_path):
    cfg = tiny_config("mdn")
    model, sampler = build(cfg)
    train(model, sampler, cfg.train)
    path = tmp_path / "model.pt"
    save_checkpoint(model, path)
    payload = torch.load(path, weights_only=True)
    assert payload["config"] == cfg.to_flat()
    restored = load_checkpoint(path)
    assert restored.config == cfg
    for key, value in model.state_dict().items():
        assert torch.equal(value, restored.state_dict()[key]), key
    obs = torch.randn(5, 2) * 3
    for a, b in zip(model.predict(obs), restored.predict(obs), strict=True):
        assert torch.equal(a, b)
    fresh, _ = build(cfg.replace(steps=99, seed=4))  # other training settings are not model keys
    load_into(fresh, path)
    assert torch.equal(fresh.encoder.feature_mean, model.encoder.feature_mean)


@pytest.mark.parametrize(
    "other,named",
    [
        ({"K": 5}, ["K"]),
        ({"hidden_dim": 32, "lam_bal": 0.5}, ["hidden_dim", "lam_bal"]),
        ({"latent_dim": 4}, ["latent_dim"]),
    ],
)
def test_checkpoint_into_another_config_names_the_keys(tmp_path, other, named):
    model, _ = build(tiny_config("mdn"))
    save_checkpoint(model, tmp_path / "model.pt")
    different, _ = build(tiny_config("mdn", **other))
    with pytest.raises(CheckpointError, match="differing keys") as error:
        load_into(different, tmp_path / "model.pt")
    assert f"differing keys: {named}" in str(error.value)


def test_checkpoint_of_another_arm_and_missing_file(tmp_path):
    model, _ = build(tiny_config("dense"))
    save_checkpoint(model, tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match="arm"):
        load_into(build(tiny_config("mop"))[0], tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "absent.pt")
