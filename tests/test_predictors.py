"""Every arm through the one interface (parametrized over PREDICTORS), plus each arm's own contract."""

import math

import pytest
import torch

from mopjepa.config import PREDICTOR_CONFIGS, ConfigError, DenseConfig, MDNConfig, MoPConfig, TrialConfig
from mopjepa.model.encoder import unit
from mopjepa.model.predictors import PREDICTORS, build_predictor

D, P, B = 8, 2, 16
SMALL = {"hidden_dim": 16}


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def make(arm: str, context_dim: int = D, seed: int = 0, **fields):
    cfg = PREDICTOR_CONFIGS[arm](**{**SMALL, **fields})
    return build_predictor(arm, cfg, context_dim, D, gen(seed))


def batch(context_dim: int = D, seed: int = 1):
    g = gen(seed)
    z = unit(torch.randn(B, D, generator=g))
    c = torch.cat([z, torch.randn(B, context_dim - D, generator=g)], dim=1)  # [B, D + p]
    return c, unit(torch.randn(B, D, generator=g))


def test_registry_matches_configs():
    assert (
        set(PREDICTORS)
        == set(PREDICTOR_CONFIGS)
        == {"dense", "m3", "var", "mdn", "mop", "codebook", "ensemble"}
    )


@pytest.mark.parametrize("arm", sorted(PREDICTORS))
@pytest.mark.parametrize("context_dim", [D, D + P])
def test_arm_interface_shapes_norms_weights_and_gradients(arm, context_dim):
    predictor = make(arm, context_dim)
    c, z_plus = batch(context_dim)
    latents, weights = predictor.successors(c, gen(3))  # [B, K, D], [B, K]
    K = predictor.num_outputs
    assert latents.shape == (B, K, D) and weights.shape == (B, K)
    torch.testing.assert_close(latents.norm(dim=-1), torch.ones(B, K))
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(B))
    assert (weights >= 0).all()
    loss, terms = predictor.loss(c.requires_grad_(), z_plus, 0.5)
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert terms and all(v.dim() == 0 and torch.isfinite(v) and not v.requires_grad for v in terms.values())
    loss.backward()
    for name, param in predictor.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
    if arm != "codebook":  # the codebook never reads its input
        assert c.grad is not None and c.grad.abs().sum() > 0


@pytest.mark.parametrize("arm", sorted(PREDICTORS))
def test_arm_rejects_wrong_shapes(arm):
    predictor = make(arm)
    c, z_plus = batch()
    with pytest.raises(ValueError, match="context"):
        predictor.loss(c[:, :-1], z_plus, 0.0)
    with pytest.raises(ValueError, match="target"):
        predictor.loss(c, z_plus[:-1], 0.0)
    with pytest.raises(ValueError, match="progress"):
        predictor.loss(c, z_plus, 1.5)


def test_build_rejects_unknown_arm_and_wrong_config():
    with pytest.raises(ConfigError, match="arm"):
        build_predictor("moe", DenseConfig(), D, D, gen())
    with pytest.raises(TypeError, match="MoPConfig"):
        build_predictor("mop", DenseConfig(), D, D, gen())


@pytest.mark.parametrize(
    "flat,field",
    [
        ({"arm": "mop", "K": 0}, "K"),
        ({"arm": "mdn", "K": -1}, "K"),
        ({"arm": "codebook", "K": 0}, "K"),
        ({"arm": "mop", "lam_bal": -0.1}, "lam_bal"),
        ({"arm": "mop", "lam_route": -1.0}, "lam_route"),
        ({"arm": "mdn", "lam_bal": -1.0}, "lam_bal"),
        ({"arm": "mdn", "sigma_floor": 0.0}, "sigma_floor"),
        ({"arm": "mop", "bal_temperature": 0.0}, "bal_temperature"),
        ({"arm": "mop", "assignment": "soft"}, "assignment"),
        ({"arm": "var", "num_samples": 0}, "num_samples"),
        ({"arm": "nope"}, "arm"),
        ({"arm": "dense", "K": 4}, "K"),
        ({"arm": "mop", "hiden_dim": 4}, "hiden_dim"),
        ({"arm": "mop", "weight_decay": -1.0}, "weight_decay"),
    ],
)
def test_bad_configs_fail_before_any_work(flat, field):
    with pytest.raises(ConfigError, match=field):
        TrialConfig.from_flat(flat)


def test_var_sampling_is_seeded():
    predictor = make("var")
    c, _ = batch()
    first, _ = predictor.successors(c, gen(5))
    again, _ = predictor.successors(c, gen(5))
    other, _ = predictor.successors(c, gen(6))
    assert torch.equal(first, again) and not torch.equal(first, other)
    with pytest.raises(ValueError, match="Generator"):
        predictor.successors(c)


def test_var_sigma_reads_detached_mean_and_context():
    """The sigma NLL moves neither the mean head nor the context (encoder)."""
    predictor = make("var")
    c, z_plus = batch()
    c.requires_grad_()
    mu, log_sigma = predictor.mean_and_log_sigma(c)
    residual_sq = (z_plus - mu.detach()).square().sum(-1)
    (0.5 * residual_sq * torch.exp(-2 * log_sigma) + log_sigma).mean().backward()
    assert c.grad is None and all(p.grad is None for p in predictor.mean_head.parameters())


def test_mdn_nll_matches_torch_distributions_and_respects_the_floor():
    predictor = make("mdn", K=3, lam_bal=0.0, sigma_floor=0.05)
    c, z_plus = batch()
    loss, terms = predictor.loss(c, z_plus, 0.0)
    means, sigma, logits = predictor.mixture(c)
    assert (sigma >= 0.05).all()
    dist = torch.distributions
    mixture = dist.MixtureSameFamily(
        dist.Categorical(logits=logits.double()),
        dist.Independent(dist.Normal(means.double(), sigma.double()[..., None].expand_as(means)), 1),
    )
    reference = -mixture.log_prob(z_plus.double()).mean() / D
    torch.testing.assert_close(loss.double(), reference, atol=1e-4, rtol=1e-5)


def test_mdn_loss_is_finite_for_far_targets_at_the_floor():
    predictor = make("mdn", K=4, sigma_floor=1e-4)
    c, _ = batch()
    with torch.no_grad():
        predictor.components.biases[-1][..., D].fill_(-50.0)  # softplus -> 0: sigma at the floor
    means, _, _ = predictor.mixture(c)
    loss, _ = predictor.loss(c, -means[:, 0].detach(), 0.0)  # antipodal to component 0
    loss.backward()
    assert torch.isfinite(loss) and loss > 1e3


def test_codebook_ignores_the_input():
    predictor = make("codebook", K=5)
    c1, _ = batch(seed=1)
    c2, _ = batch(seed=2)
    assert torch.equal(predictor.successors(c1)[0][0], predictor.successors(c2)[0][3])


# -- MoP: Eq. (4)-(6) --------------------------------------------------------------------------


def test_mop_with_one_head_is_the_dense_loss():
    dense, mop = make("dense", seed=7), make("mop", seed=7, K=1, lam_route=1.0, lam_bal=1.0)
    c, z_plus = batch()
    dense_loss, _ = dense.loss(c, z_plus, 0.3)
    mop_loss, terms = mop.loss(c, z_plus, 0.3)
    torch.testing.assert_close(mop_loss, dense_loss, rtol=0, atol=1e-7)
    assert terms["route"] == 0 and terms["bal"] == 0
    dense_loss.backward()
    mop_loss.backward()
    for a, b in zip(dense.head.parameters(), mop.heads.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=1e-7)


def test_router_gets_no_gradient_from_the_distance_terms():
    mop = make("mop", K=4, lam_route=0.0, lam_bal=0.5)  # loss = WTA distance + balance
    c, z_plus = batch()
    mop.loss(c, z_plus, 0.0)[0].backward()
    assert all(torch.count_nonzero(p.grad) == 0 for p in mop.router.parameters())
    assert any(torch.count_nonzero(p.grad) > 0 for p in mop.heads.parameters())


def test_heads_get_no_gradient_from_the_router_term():
    c, z_plus = batch()
    grads = []
    for lam_route in (0.0, 3.0):
        mop = make("mop", K=4, lam_route=lam_route)
        mop.loss(c, z_plus, 0.0)[0].backward()
        grads.append([p.grad.clone() for p in mop.heads.parameters()])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_router_never_sees_the_target():
    mop = make("mop", K=4)
    seen = []
    mop.router.register_forward_hook(lambda module, args, out: seen.append((args[0], out.detach())))
    c, z_plus = batch()
    mop.loss(c, z_plus, 0.0)
    mop.loss(c, -z_plus, 0.0)
    assert torch.equal(seen[0][0], c) and torch.equal(seen[1][0], c)
    assert torch.equal(seen[0][1], seen[1][1])


def test_mop_hard_assignment_picks_the_nearest_head_only():
    mop = make("mop", K=4, lam_route=0.0, lam_bal=0.0)
    c, _ = batch()
    heads, _ = mop.successors(c)
    z_plus = heads[:, 2].detach()  # every target sits on head 2
    loss, terms = mop.loss(c, z_plus, 0.0)
    assert loss.abs() < 1e-6 and math.isclose(terms["head_usage_entropy"].item(), 0.0, abs_tol=1e-7)


@pytest.mark.parametrize("assignment", ["warmup", "anneal"])
def test_soft_assignment_schedules_end_hard(assignment):
    cfg = {"K": 4, "assignment": assignment, "warmup_fraction": 0.5, "soft_temperature": 0.2}
    mop, hard = make("mop", **cfg), make("mop", K=4)
    c, z_plus = batch()
    assert mop.temperature(0.0) == 0.2
    expected_mid = 0.2 if assignment == "warmup" else 0.1
    assert math.isclose(mop.temperature(0.25), expected_mid)
    assert mop.temperature(0.5) == 0.0 == mop.temperature(1.0)
    assert not torch.equal(mop.loss(c, z_plus, 0.0)[0], hard.loss(c, z_plus, 0.0)[0])
    assert torch.equal(mop.loss(c, z_plus, 0.6)[0], hard.loss(c, z_plus, 0.6)[0])
    soft_gamma = mop.assign(torch.rand(B, 4, generator=gen(2)), 0.1)
    assert (soft_gamma > 0).all() and torch.allclose(soft_gamma.sum(-1), torch.ones(B))


def test_mop_config_defaults_are_hard():
    assert MoPConfig().assignment == "hard" and MDNConfig().sigma_floor > 0
