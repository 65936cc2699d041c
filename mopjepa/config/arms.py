"""The arm registry: each predictor arm's config type, predictor, display label and colour, in one entry.

Adding an arm is one predictor module and one ``register_arm`` call (docs/architecture.md#4-how-to-add-an-arm).
The seven arms of the paper are registered at the end of ``mopjepa/config/predictors.py``, each beside
its config type. An entry names its predictor class by import path (``"package.module:Class"``) and
loads it on first use, so this module, and everything that reads labels and colours (analysis, results),
stays free of torch; a test may pass the class itself.

Every arm-keyed table of the library is a live view of this registry: ``PREDICTOR_CONFIGS`` (config
types, read by ``TrialConfig``), ``mopjepa.model.PREDICTORS`` (predictor classes), ``ARM_LABELS`` and
``ARM_COLOURS`` (read by the tables and figures). An arm registered later (a test's toy arm) appears in
all of them at once.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mopjepa.config.checks import ConfigError, positive_int

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class PredictorConfig:
    """Fields every predictor head has: the base of every arm's config (mopjepa.config.predictors)."""

    hidden_dim: int = 256
    """Width of each predictor MLP."""
    depth: int = 2
    """Number of hidden layers of each predictor MLP."""

    def __post_init__(self):
        positive_int(self, "hidden_dim", "depth")


@dataclass(frozen=True)
class Arm:
    """One predictor arm, everything the platform needs to know about it."""

    name: str
    """The value of the flat key ``arm`` (lower case, letters, digits, underscores)."""
    config: type
    """Its frozen config dataclass, a subclass of ``PredictorConfig`` (its fields are the arm's flat keys)."""
    predictor: str | type
    """Its predictor class (a ``Predictor`` subclass) or that class's import path ``"module:Class"``."""
    label: str
    """How tables, figures and reports name it (``"MoP-JEPA"``)."""
    colour: str
    """Its colour in every figure (any matplotlib colour, e.g. ``"#1f77b4"``)."""

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ConfigError(f"arm field 'name' = {self.name!r} is not allowed: must match {_NAME.pattern}")
        if not (isinstance(self.config, type) and issubclass(self.config, PredictorConfig)
                and dataclasses.is_dataclass(self.config)):
            raise ConfigError(f"arm {self.name!r} field 'config' = {self.config!r} is not allowed: "
                              "must be a PredictorConfig dataclass")
        if isinstance(self.predictor, str) and ":" not in self.predictor:
            raise ConfigError(f"arm {self.name!r} field 'predictor' = {self.predictor!r} is not allowed: "
                              "must be a class or 'module:Class'")
        for field in ("label", "colour"):
            if not isinstance(getattr(self, field), str) or not getattr(self, field):
                raise ConfigError(f"arm {self.name!r} field {field!r} = {getattr(self, field)!r} is not allowed: "
                                  "must be a non-empty string")

    def predictor_class(self) -> type:
        """The predictor class, imported on first use (this is where torch comes in)."""
        if not isinstance(self.predictor, str):
            return self.predictor
        module, _, name = self.predictor.partition(":")
        return getattr(importlib.import_module(module), name)


ARMS: dict[str, Arm] = {}
"""name -> Arm, in registration order (the paper's seven first). Change it only through register_arm."""


def register_arm(arm: Arm) -> Arm:
    """Add `arm` to the registry; a second arm of the same name, label or colour is an error."""
    if arm.name in ARMS:
        raise ConfigError(f"arm {arm.name!r} is already registered")
    for field in ("label", "colour"):
        taken = {getattr(other, field): other.name for other in ARMS.values()}
        if getattr(arm, field) in taken:
            raise ConfigError(f"arm {arm.name!r} field {field!r} = {getattr(arm, field)!r} is not allowed: "
                              f"arm {taken[getattr(arm, field)]!r} has it")
    ARMS[arm.name] = arm
    return arm


def unregister_arm(name: str) -> None:
    """Remove an arm registered by a test (the registry is otherwise append-only)."""
    if name not in ARMS:
        raise ConfigError(f"arm {name!r} is not registered: registered are {sorted(ARMS)}")
    del ARMS[name]


class ArmView(Mapping):
    """A read-only, live mapping arm name -> one attribute of its registry entry."""

    def __init__(self, what: str, pick: Callable[[Arm], Any]):
        self._what, self._pick = what, pick

    def __getitem__(self, name: str) -> Any:
        if name not in ARMS:
            raise KeyError(name)
        return self._pick(ARMS[name])

    def __iter__(self) -> Iterator[str]:
        return iter(list(ARMS))

    def __len__(self) -> int:
        return len(ARMS)

    def __repr__(self) -> str:
        return f"<{self._what} of the arm registry: {sorted(ARMS)}>"


PREDICTOR_CONFIGS: Mapping[str, type] = ArmView("PREDICTOR_CONFIGS", lambda arm: arm.config)
ARM_LABELS: Mapping[str, str] = ArmView("ARM_LABELS", lambda arm: arm.label)
PAPER_ARMS = ("dense", "m3", "var", "mdn", "mop", "codebook")
"""The arms of the paper's tables, in its row order (presets plan them, the analysis prints them in it)."""

ARM_COLOURS: Mapping[str, str] = ArmView("ARM_COLOURS", lambda arm: arm.colour)


def arm_label(arm: str) -> str:
    """The registered display label; an unregistered name (an old result's arm) shows as itself."""
    return ARM_LABELS.get(arm, arm)


def arm_colour(arm: str) -> str:
    """The registered colour; gray for an arm the registry does not know."""
    return ARM_COLOURS.get(arm, "gray")
