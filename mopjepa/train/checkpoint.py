"""Checkpoints of a WorldModel: every tensor (online and target encoders, predictor, standardization
buffers) plus the flat trial config and the model's input sizes.

Files are loaded with ``torch.load(weights_only=True)``: tensors and plain Python values only, no
arbitrary pickle. Every mismatch is an error: a checkpoint whose model-defining config keys differ
from the receiving model's is refused with the differing keys named, never loaded partially.

Checkpoints are device-free: tensors are saved from the CPU (a copy only for a model on an
accelerator) and loaded with ``map_location`` onto the requested device, so a checkpoint written by
a GPU trial loads on a CPU-only machine and the other way round.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
import torch

from mopjepa.config import TrialConfig
from mopjepa.model.device import resolve_device
from mopjepa.model.world_model import WorldModel

FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded into the requested model; the message says why."""


def model_keys(cfg: TrialConfig) -> dict[str, Any]:
    """The flat keys that define a model's architecture and parameters' meaning."""
    keys: dict[str, Any] = {"arm": cfg.arm, "context_action": cfg.data.context_action}
    keys.update(dataclasses.asdict(cfg.encoder))
    keys.update(dataclasses.asdict(cfg.predictor))
    return keys


def save_checkpoint(model: WorldModel, path: str | os.PathLike) -> None:
    payload = {
        "format_version": FORMAT_VERSION,
        "config": model.config.to_flat(),
        "obs_dim": model.obs_dim,
        "action_dim": model.action_dim,
        "state_dict": {name: tensor.cpu() for name, tensor in model.state_dict().items()},
    }
    torch.save(payload, path)


def read_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict[str, Any]:
    """The checkpoint's payload, its tensors mapped onto `device`."""
    if not os.path.exists(path):
        raise CheckpointError(f"no checkpoint at {os.fspath(path)!r}")
    try:
        payload = torch.load(path, map_location=resolve_device(device), weights_only=True)
    except Exception as error:  # RuntimeError, EOFError, KeyError, UnpicklingError ...: whatever a bad file gives
        # One line; torch's own message can advise weights_only=False, i.e. running the file's pickled code.
        raise CheckpointError(f"checkpoint {os.fspath(path)!r} is truncated or not a checkpoint "
                              f"({type(error).__name__} while reading it); write it again (rerun its trial)") from None
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{os.fspath(path)!r} is not a mopjepa checkpoint of format {FORMAT_VERSION}")
    return payload


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> WorldModel:
    """A model rebuilt from the checkpoint's own config, with its saved tensors, on `device`
    ('cpu' | 'cuda' | 'auto' as TrainConfig.device, or a torch.device)."""
    device = resolve_device(device)
    payload = read_checkpoint(path, device)
    cfg = TrialConfig.from_flat(payload["config"])
    obs_dim = payload["obs_dim"]
    # the action dim enters the context only when it has an action; 0 is then impossible
    model = WorldModel.build(cfg, obs_dim, payload["action_dim"], np.zeros(obs_dim), np.ones(obs_dim)).to(device)
    _load_state(model, payload, path)
    return model


def load_into(model: WorldModel, path: str | os.PathLike) -> None:
    """Load a checkpoint into an existing model, on the model's device; refuses one whose model config
    or sizes differ."""
    payload = read_checkpoint(path, model.device)
    saved = model_keys(TrialConfig.from_flat(payload["config"]))
    saved.update(obs_dim=payload["obs_dim"], action_dim=payload["action_dim"])
    current = model_keys(model.config)
    current.update(obs_dim=model.obs_dim, action_dim=model.action_dim)
    differing = sorted(
        k for k in set(saved) | set(current) if saved.get(k, "<absent>") != current.get(k, "<absent>")
    )
    if differing:
        detail = ", ".join(
            f"{k}: checkpoint {saved.get(k, '<absent>')!r} vs model {current.get(k, '<absent>')!r}"
            for k in differing
        )
        raise CheckpointError(
            f"checkpoint {os.fspath(path)!r} was saved from another model config; "
            f"differing keys: {differing} ({detail})"
        )
    _load_state(model, payload, path)


def _load_state(model: WorldModel, payload: dict[str, Any], path: str | os.PathLike) -> None:
    state = payload["state_dict"]
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    reshaped = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or reshaped:
        raise CheckpointError(
            f"checkpoint {os.fspath(path)!r} does not fit the model: missing {missing}, "
            f"unexpected {unexpected}, shape mismatch {reshaped}"
        )
    model.load_state_dict(state, strict=True)
