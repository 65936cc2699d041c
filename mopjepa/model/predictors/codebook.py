"""Control: K learned vectors that ignore the input entirely, trained winner-take-all.

It quantizes the *marginal* successor distribution, so whatever coverage it gets is coverage
without context: the protocol's freeloading control. Weights are fixed and uniform (1/K).
[choice] The WTA loss carries MoP's load balance (same straight-through surrogate, lam_bal and
bal_temperature as ``mop``) so that the control is not weakened by dead codewords: it differs from
MoP only in ignoring the context and having no router. lam_bal = 0 gives plain WTA.

Every arm shares the encoder's training: the codebook never reads c, so on its own its loss would
leave the encoder (and with it the EMA target space it quantizes) at random initialisation. A dense
head of its own trains the encoder with exactly the dense arm's objective on the same batches; the
codebook is trained WTA on those target latents. No gradient passes between the two: the dense
head's outputs are never offered to the planner, and the codebook's loss reads only z+ (stop-gradient).
"""

from __future__ import annotations

import torch
from torch import nn

from mopjepa.config import CodebookConfig
from mopjepa.model.heads import BatchedMLP
from mopjepa.model.predictors.base import (
    Predictor,
    cosine_distance,
    entropy,
    straight_through_balance,
    uniform_weights,
    unit,
)


class CodebookPredictor(Predictor):
    config_type = CodebookConfig

    def __init__(self, cfg: CodebookConfig, context_dim: int, latent_dim: int, generator: torch.Generator):
        super().__init__(cfg, context_dim, latent_dim)
        self.num_outputs = cfg.K
        self.codes = nn.Parameter(torch.randn(cfg.K, latent_dim, generator=generator))  # [K, D]
        # The encoder's teacher (the dense arm's head and loss); built after the codes so they keep their init.
        self.encoder_head = BatchedMLP(1, context_dim, cfg.hidden_dim, latent_dim, cfg.depth, generator)

    def successors(self, c, generator=None):
        self.check_inputs(c)
        B, K = c.shape[0], self.cfg.K
        u = unit(self.codes).unsqueeze(0).expand(B, K, self.latent_dim)  # [B, K, D], the same for every c
        return u, uniform_weights(B, K, u)

    def loss(self, c, z_plus, progress):
        self.check_inputs(c, z_plus, progress)
        u = unit(self.codes).unsqueeze(0)  # [1, K, D]
        d = cosine_distance(u.expand(z_plus.shape[0], -1, -1), z_plus)  # [B, K]
        winner = d.argmin(dim=1)  # [B]
        wta = d.gather(1, winner[:, None]).mean()
        usage = torch.bincount(winner, minlength=self.cfg.K).to(d.dtype) / d.shape[0]  # [K]
        balance = straight_through_balance(usage, d, self.cfg.bal_temperature)
        encoder_distance = cosine_distance(unit(self.encoder_head(c)), z_plus)[:, 0].mean()  # the dense loss
        loss = wta + self.cfg.lam_bal * balance + encoder_distance
        terms = {"wta": wta.detach(), "bal": balance.detach(), "encoder_distance": encoder_distance.detach()}
        return loss, {**terms, "head_usage_entropy": entropy(usage)}
