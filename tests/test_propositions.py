"""Propositions 1-3 measured on synthetic latents, fed straight to the predictors (no encoder).

Two context prototypes; each one's successor is one of M = 3 orthonormal mode directions in D = 8
(six modes in all), drawn with context-specific weights, plus small within-mode noise.
"""

import pytest
import torch

from mopjepa.config import PREDICTOR_CONFIGS
from mopjepa.model.encoder import unit
from mopjepa.model.predictors import PREDICTORS

pytestmark = pytest.mark.usefixtures("one_thread")  # single-threaded: fast on a shared 2-core machine

D, M, STEPS, BATCH = 8, 3, 600, 256
_basis, _ = torch.linalg.qr(torch.randn(D, D, generator=torch.Generator().manual_seed(0)))
PROTOTYPES = _basis[:, :2].T.contiguous()  # [2, D] contexts
MODES = torch.stack([_basis[:, 2:5].T, _basis[:, 5:8].T])  # [2, M, D] successor modes per context
WEIGHTS = torch.tensor([[0.45, 0.35, 0.20], [0.20, 0.30, 0.50]])  # [2, M]
MEAN_DIRECTION = unit((WEIGHTS[:, :, None] * MODES).sum(dim=1))  # [2, D]: E[z+|c]/|E[z+|c]|


def sample(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    kind = torch.randint(2, (BATCH,), generator=generator)  # [B]
    c = unit(PROTOTYPES[kind] + 0.05 * torch.randn(BATCH, D, generator=generator))  # [B, D]
    mode = torch.multinomial(WEIGHTS[kind], 1, generator=generator)[:, 0]  # [B]
    z_plus = unit(MODES[kind, mode] + 0.05 * torch.randn(BATCH, D, generator=generator))  # [B, D]
    return c, z_plus


def fit(arm: str, **fields):
    cfg = PREDICTOR_CONFIGS[arm](hidden_dim=64, **fields)
    predictor = PREDICTORS[arm](cfg, D, D, torch.Generator().manual_seed(1))
    optimizer = torch.optim.Adam(predictor.parameters(), lr=3e-3)
    data = torch.Generator().manual_seed(2)
    for step in range(STEPS):
        c, z_plus = sample(data)
        loss, _ = predictor.loss(c, z_plus, step / STEPS)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return predictor.successors(PROTOTYPES, torch.Generator().manual_seed(3))  # [2, K, D], [2, K]


@pytest.mark.parametrize("arm", ["dense", "m3"])
def test_prop1_prop2_single_output_collapses_to_the_conditional_mean(arm):
    latents, _ = fit(arm, **({"K": 4} if arm == "m3" else {}))
    u = latents[:, 0]  # [2, D]
    assert (torch.einsum("td,td->t", u, MEAN_DIRECTION) > 0.95).all()
    to_modes = torch.einsum("td,tmd->tm", u, MODES)  # [2, M]
    assert (to_modes < 0.85).all(), f"a single output should sit far from every mode, cos {to_modes}"


def test_prop3_mop_puts_a_head_on_every_mode_and_the_router_learns_the_weights():
    latents, pi = fit("mop", K=4)  # K >= M
    cos = torch.einsum("tkd,tmd->tkm", latents, MODES)  # [2, K, M]
    best = cos.max(dim=1).values  # [2, M]
    assert (1 - best < 0.02).all(), f"every mode needs a head within cosine distance 0.02: {1 - best}"
    nearest_mode = cos.argmax(dim=2)  # [2, K]
    pi_per_mode = torch.zeros(2, M).scatter_add_(1, nearest_mode, pi)  # [2, M]
    assert (pi_per_mode - WEIGHTS).abs().max() < 0.08, f"router {pi_per_mode} vs weights {WEIGHTS}"


def test_prop3_needs_the_assignment_ensemble_heads_all_collapse_to_the_mean():
    latents, weights = fit("ensemble", K=4)
    spread = 1 - torch.einsum("tkd,tjd->tkj", latents, latents)  # [2, K, K]
    assert spread.max() < 0.01
    assert (torch.einsum("tkd,td->tk", latents, MEAN_DIRECTION) > 0.95).all()
    assert torch.equal(weights, torch.full((2, 4), 0.25))


def test_codebook_outputs_do_not_depend_on_the_context():
    latents, weights = fit("codebook", K=4)
    assert torch.equal(latents[0], latents[1]) and torch.equal(weights[0], weights[1])
