"""MLPs with explicit, seeded initialization, and K of them run as one batched tensor program.

``BatchedMLP`` holds the parameters of K independent MLP heads stacked over K. Its forward runs the
first layer, whose input is shared by every head, as one matmul against the heads' concatenated
weights, and every later layer as one ``torch.baddbmm`` over K: no Python loop over heads.
``head_layers(k)`` exposes head k's weights as ordinary (weight, bias) pairs, which is what the
per-head reference (and its equivalence test) uses.

Initialization matches ``nn.Linear``'s default (uniform in +-1/sqrt(fan_in) for weight and bias)
but draws from an explicit ``torch.Generator``; nothing here touches the global RNG.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def activation(x: torch.Tensor) -> torch.Tensor:
    """The hidden nonlinearity of every MLP in the model: SiLU, smooth like GELU (no dead units under
    winner-take-all) at a fraction of its CPU cost (erf-GELU was ~40% of a K = 16 MoP step)."""
    return F.silu(x)


def _uniform(shape: tuple[int, ...], fan_in: int, generator: torch.Generator) -> nn.Parameter:
    bound = 1.0 / fan_in**0.5
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound, generator=generator))


def layer_dims(in_dim: int, hidden_dim: int, out_dim: int, depth: int) -> list[int]:
    """[in, hidden x depth, out]: `depth` hidden layers, depth + 1 linear maps."""
    if min(in_dim, hidden_dim, out_dim) < 1 or depth < 0:
        raise ValueError(f"bad MLP sizes in={in_dim} hidden={hidden_dim} out={out_dim} depth={depth}")
    return [in_dim, *([hidden_dim] * depth), out_dim]


class MLP(nn.Module):
    """A plain MLP, [..., in] -> [..., out], seeded init."""

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, depth: int, generator: torch.Generator):
        super().__init__()
        dims = layer_dims(in_dim, hidden_dim, out_dim, depth)
        self.weights = nn.ParameterList(
            [
                _uniform((d_out, d_in), d_in, generator)
                for d_in, d_out in zip(dims[:-1], dims[1:], strict=True)
            ]
        )
        self.biases = nn.ParameterList(
            [_uniform((d_out,), d_in, generator) for d_in, d_out in zip(dims[:-1], dims[1:], strict=True)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.weights) - 1
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = F.linear(x, weight, bias)
            if i < last:
                x = activation(x)
        return x


class BatchedMLP(nn.Module):
    """K independent MLP heads on one shared input: [B, in] -> [B, K, out].

    Parameters: ``first_weight`` [in, K, H1], ``first_bias`` [K, H1]; then for each later layer
    ``weights[j]`` [K, H_in, H_out] and ``biases[j]`` [K, 1, H_out].
    """

    def __init__(
        self, K: int, in_dim: int, hidden_dim: int, out_dim: int, depth: int, generator: torch.Generator
    ):
        super().__init__()
        if K < 1:
            raise ValueError(f"BatchedMLP needs K >= 1 heads, got K={K}")
        dims = layer_dims(in_dim, hidden_dim, out_dim, depth)
        self.K, self.in_dim, self.out_dim, self.dims = K, in_dim, out_dim, dims
        self.first_weight = _uniform((in_dim, K, dims[1]), in_dim, generator)  # [in, K, H1]
        self.first_bias = _uniform((K, dims[1]), in_dim, generator)  # [K, H1]
        pairs = list(zip(dims[1:-1], dims[2:], strict=True))
        self.weights = nn.ParameterList(
            [_uniform((K, d_in, d_out), d_in, generator) for d_in, d_out in pairs]
        )
        self.biases = nn.ParameterList([_uniform((K, 1, d_out), d_in, generator) for d_in, d_out in pairs])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, in] -> [B, K, out]."""
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"BatchedMLP expects input [B, {self.in_dim}], got {list(x.shape)}")
        B, K, H1 = x.shape[0], self.K, self.dims[1]
        first = self.first_weight.reshape(self.in_dim, K * H1)  # [in, K*H1] (a view)
        h = torch.addmm(self.first_bias.reshape(K * H1), x, first)  # [B, K*H1]: one matmul for all heads
        if not len(self.weights):
            return h.view(B, K, H1)  # [B, K, out]
        h = activation(h).view(B, K, H1).transpose(0, 1)  # [K, B, H1]
        last = len(self.weights) - 1
        for j, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(bias, h, weight)  # [K, B, H_out]
            if j < last:
                h = activation(h)
        return h.transpose(0, 1)  # [B, K, out]

    def head_layers(self, k: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Head k as nn.Linear-style (weight [out, in], bias [out]) pairs (views of the stacked params)."""
        layers = [(self.first_weight[:, k, :].T, self.first_bias[k])]
        layers += [(w[k].T, b[k, 0]) for w, b in zip(self.weights, self.biases, strict=True)]
        return layers


def reference_forward(mlp: BatchedMLP, x: torch.Tensor) -> torch.Tensor:
    """The per-head loop that BatchedMLP.forward replaces: [B, in] -> [B, K, out] (tests only)."""
    outputs = []
    for k in range(mlp.K):
        h = x
        layers = mlp.head_layers(k)
        for i, (weight, bias) in enumerate(layers):
            h = F.linear(h, weight, bias)
            if i < len(layers) - 1:
                h = activation(h)
        outputs.append(h)
    return torch.stack(outputs, dim=1)  # [B, K, out]
