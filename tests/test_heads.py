"""BatchedMLP (K heads as one batched program) against its per-head reference; encoder and EMA."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mopjepa.config import EncoderConfig
from mopjepa.model.encoder import Encoder, ema_update, make_target
from mopjepa.model.heads import MLP, BatchedMLP, activation, reference_forward


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("K,depth", [(1, 2), (5, 0), (4, 1), (8, 2), (3, 3)])
def test_batched_forward_equals_per_head_reference(K, depth):
    mlp = BatchedMLP(K, in_dim=7, hidden_dim=16, out_dim=5, depth=depth, generator=gen())
    x = torch.randn(11, 7, generator=gen(1))
    fast = mlp(x)  # [B, K, out]
    slow = reference_forward(mlp, x)
    assert fast.shape == (11, K, 5)
    torch.testing.assert_close(fast, slow, atol=1e-6, rtol=1e-6)


def test_batched_gradients_equal_per_head_reference():
    mlp = BatchedMLP(6, in_dim=4, hidden_dim=8, out_dim=3, depth=2, generator=gen())
    x = torch.randn(9, 4, generator=gen(1))
    weight = torch.randn(9, 6, 3, generator=gen(2))
    fast = torch.autograd.grad((mlp(x) * weight).sum(), list(mlp.parameters()))
    slow = torch.autograd.grad((reference_forward(mlp, x) * weight).sum(), list(mlp.parameters()))
    for a, b in zip(fast, slow, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)


def test_heads_are_independent():
    """Changing head 2's weights changes head 2's output only."""
    mlp = BatchedMLP(4, in_dim=3, hidden_dim=8, out_dim=2, depth=2, generator=gen())
    x = torch.randn(5, 3, generator=gen(1))
    before = mlp(x).detach()
    with torch.no_grad():
        mlp.weights[-1][2].add_(1.0)
        mlp.first_weight[:, 2].mul_(-1.0)
    after = mlp(x).detach()
    changed = (after - before).abs().amax(dim=(0, 2)) > 0  # [K]
    assert changed.tolist() == [False, False, True, False]


def test_mlp_matches_linear_layers_and_is_seeded():
    mlp = MLP(3, 8, 2, 2, gen(0))
    x = torch.randn(4, 3, generator=gen(1))
    h = x
    for i, (w, b) in enumerate(zip(mlp.weights, mlp.biases, strict=True)):
        h = F.linear(h, w, b)
        h = activation(h) if i < 2 else h
    torch.testing.assert_close(mlp(x), h)
    same, other = MLP(3, 8, 2, 2, gen(0)), MLP(3, 8, 2, 2, gen(1))
    assert all(torch.equal(a, b) for a, b in zip(mlp.parameters(), same.parameters(), strict=True))
    assert not torch.equal(mlp.weights[0], other.weights[0])


def test_init_does_not_touch_global_rng():
    state = torch.get_rng_state()
    BatchedMLP(4, 3, 8, 2, 2, gen())
    MLP(3, 8, 2, 2, gen())
    assert torch.equal(state, torch.get_rng_state())


def test_encoder_standardizes_raw_observations_and_outputs_unit_latents():
    mean, std = np.array([3.0, -1.0]), np.array([2.0, 0.5])
    encoder = Encoder(2, EncoderConfig(latent_dim=6, encoder_hidden=16, encoder_depth=2), mean, std, gen())
    obs = torch.randn(10, 2, generator=gen(1)) * 4
    z = encoder(obs)  # [B, D]
    assert z.shape == (10, 6)
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(10))
    standardized = (obs - torch.tensor(mean, dtype=torch.float32)) / torch.tensor(std, dtype=torch.float32)
    torch.testing.assert_close(z, F.normalize(encoder.mlp(standardized), dim=-1))
    assert set(encoder.state_dict()) >= {"feature_mean", "feature_std"}


@pytest.mark.parametrize("mean,std", [(np.zeros(3), np.ones(2)), (np.zeros(2), np.array([1.0, 0.0]))])
def test_encoder_rejects_bad_standardization(mean, std):
    with pytest.raises(ValueError, match="standardization"):
        Encoder(2, EncoderConfig(), mean, std, gen())


def test_ema_update_is_eq3_and_target_is_frozen():
    online = Encoder(2, EncoderConfig(latent_dim=4, encoder_hidden=8), np.zeros(2), np.ones(2), gen())
    target = make_target(online)
    assert all(not p.requires_grad for p in target.parameters())
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
    old = [p.clone() for p in target.parameters()]
    ema_update(target, online, 0.9)
    for xi_new, xi_old, theta in zip(target.parameters(), old, online.parameters(), strict=True):
        torch.testing.assert_close(xi_new, 0.9 * xi_old + 0.1 * theta)
