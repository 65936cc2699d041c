"""Where a trial computes: ``TrainConfig.device`` ('auto' | 'cpu' | 'cuda') resolved to a torch.device.

'auto' is cuda exactly when this process sees a CUDA device (``torch.cuda.is_available()``), else cpu.
Outside Ray that is the machine's answer. Inside the matrix it is the trial's: a trial given a GPU
runs with CUDA_VISIBLE_DEVICES set to it by Ray, and pipelines/full_matrix.py pins 'auto' to 'cpu'
when trials get no GPU (Ray >= 2.5x no longer blanks CUDA_VISIBLE_DEVICES for a zero-GPU trial, so
such a trial would otherwise see every GPU of its node). The library reads no environment itself.

'cuda' where no CUDA device is visible is a one-line ConfigError naming the field and the value,
never a silent fall back to the CPU. Where, not what: the device is a runtime key, not part of a
trial's identity; docs/devices.md says which numbers differ between devices and why.
"""

from __future__ import annotations

import torch
from torch import nn

from mopjepa.config import ConfigError, TrainConfig


def resolve_device(name: str | torch.device) -> torch.device:
    """'auto' | 'cpu' | 'cuda' (or a torch.device, returned as is) -> the torch.device to compute on."""
    if isinstance(name, torch.device):
        return name
    if name not in TrainConfig.DEVICES:
        raise ConfigError(f"config field 'device' = {name!r} is not allowed: must be one of {TrainConfig.DEVICES}")
    if name == "cpu":
        return torch.device("cpu")  # without asking CUDA anything: no driver initialisation on CPU trials
    available = torch.cuda.is_available()
    if name == "cuda" and not available:
        raise ConfigError(
            "config field 'device' = 'cuda' is not allowed here: no CUDA device is visible to this process "
            "(torch.cuda.is_available() is False); use 'auto' or 'cpu'"
        )
    return torch.device("cuda") if available else torch.device("cpu")


def module_device(module: nn.Module) -> torch.device:
    """The device of a module's tensors (its first parameter or buffer; cpu for a module with none)."""
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")
