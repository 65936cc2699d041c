"""Training: the three-step JEPA loop (``loop``) and checkpoints (``checkpoint``)."""

from mopjepa.train.checkpoint import CheckpointError, load_checkpoint, load_into, save_checkpoint
from mopjepa.train.loop import (
    MetricsCallback,
    NonFiniteLossError,
    TrainSummary,
    evaluate_steps,
    make_optimizer,
    train,
)

__all__ = [
    "evaluate_steps",
    "CheckpointError",
    "MetricsCallback",
    "NonFiniteLossError",
    "TrainSummary",
    "load_checkpoint",
    "load_into",
    "make_optimizer",
    "save_checkpoint",
    "train",
]
