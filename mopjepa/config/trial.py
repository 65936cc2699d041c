"""One trial: the components together, written nested or flat, and the flat keys' types."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mopjepa.config.checks import ConfigError, check, seed_int
from mopjepa.config.components import (
    MECHANISM_TASK,
    DataConfig,
    EncoderConfig,
    ExecuteConfig,
    GraphConfig,
    MechanismConfig,
    TrainConfig,
)
from mopjepa.config.identity import context_action_mode
from mopjepa.config.predictors import PREDICTOR_CONFIGS, MoPConfig, PredictorConfig

_COMPONENTS = ("data", "encoder", "train", "graph", "execute")



@dataclass(frozen=True)
class MazeTask:
    """An OGBench locomaze dataset (data.task): cells, the blind graph, the protocol, execution."""

    name: str


@dataclass(frozen=True)
class BranchTask:
    """The generated branch-sweep task (task 'mechanism'): contexts with M successor modes."""

    spec: MechanismConfig


@dataclass(frozen=True)
class TrialConfig:
    arm: str = "mop"
    """Predictor arm, a key of PREDICTOR_CONFIGS."""
    seed: int = 0
    """The trial seed: model init, batch order, hold-out split, shuffle test, episodes."""
    data: DataConfig = field(default_factory=DataConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    predictor: PredictorConfig = field(default_factory=MoPConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    graph: GraphConfig = field(default_factory=GraphConfig)
    execute: ExecuteConfig = field(default_factory=ExecuteConfig)
    mechanism: MechanismConfig | None = None
    """The generated branch-sweep task; set exactly when data.task == MECHANISM_TASK."""

    TOP_LEVEL: ClassVar[tuple[str, ...]] = ("arm", "seed")

    @property
    def task(self) -> MazeTask | BranchTask:
        """What the trial runs on, as a type: experiment.run dispatches on it."""
        return BranchTask(self.mechanism) if self.mechanism is not None else MazeTask(self.data.task)

    def __post_init__(self):
        check(self.arm in PREDICTOR_CONFIGS, "arm", self.arm, f"one of {sorted(PREDICTOR_CONFIGS)}")
        seed_int(self, "seed")
        expected = PREDICTOR_CONFIGS[self.arm]
        check(type(self.predictor) is expected, "predictor", type(self.predictor).__name__,
               f"{expected.__name__} for arm {self.arm!r}")
        if self.data.action_in_context:
            check(self.graph.query_actions != "none", "query_actions", self.graph.query_actions,
                  f"'compass4' or 'compass8' when context_action is {self.data.context_action!r} (a model whose "
                  "context has an action is queried with an action set, never a made-up zero action)")
        else:
            check(self.graph.query_actions == "none", "query_actions", self.graph.query_actions,
                  "'none' when context_action is 'none' (the model takes no action)")
        is_mechanism = self.data.task == MECHANISM_TASK
        check(isinstance(self.mechanism, MechanismConfig) == is_mechanism, "mechanism", self.mechanism,
               f"a MechanismConfig exactly when task == {MECHANISM_TASK!r}")

    @classmethod
    def allowed_keys(cls, arm: str, task: str | None = None) -> list[str]:
        """The flat keys of `arm`; the MechanismConfig keys too when `task` is MECHANISM_TASK."""
        check(arm in PREDICTOR_CONFIGS, "arm", arm, f"one of {sorted(PREDICTOR_CONFIGS)}")
        keys = list(cls.TOP_LEVEL)
        for name in _COMPONENTS:
            keys += [f.name for f in dataclasses.fields(_component_type(name))]
        keys += [f.name for f in dataclasses.fields(PREDICTOR_CONFIGS[arm])]
        if task == MECHANISM_TASK:
            keys += [f.name for f in dataclasses.fields(MechanismConfig)]
        return keys

    @classmethod
    def from_flat(cls, flat: dict[str, Any]) -> TrialConfig:
        """Build a trial from flat keys; unknown keys (for this arm and task) are an error naming them."""
        flat = dict(flat)
        if "context_action" in flat:  # a legacy bool (schema <= 3) loads as its mode
            flat["context_action"] = context_action_mode(flat["context_action"])
        arm = flat.pop("arm", cls.arm)
        task = flat.get("task", DataConfig.task)
        allowed = cls.allowed_keys(arm, task)
        unknown = sorted(set(flat) - set(allowed))
        if unknown:
            mechanism_keys = {f.name for f in dataclasses.fields(MechanismConfig)} & set(unknown)
            hint = f" ({sorted(mechanism_keys)} need task {MECHANISM_TASK!r})" if mechanism_keys else ""
            raise ConfigError(f"unknown config key(s) {unknown} for arm {arm!r}{hint}; allowed: {sorted(allowed)}")
        parts = {}
        for name in _COMPONENTS:
            part_type = _component_type(name)
            parts[name] = part_type(**_take(flat, part_type))
        predictor_type = PREDICTOR_CONFIGS[arm]
        parts["predictor"] = predictor_type(**_take(flat, predictor_type))
        if task == MECHANISM_TASK:
            parts["mechanism"] = MechanismConfig(**_take(flat, MechanismConfig))
        return cls(arm=arm, seed=flat.get("seed", 0), **parts)

    def to_flat(self) -> dict[str, Any]:
        """The inverse of from_flat: every key this arm (and task) has, with its value."""
        flat: dict[str, Any] = {"arm": self.arm, "seed": self.seed}
        for name in (*_COMPONENTS, "predictor"):
            flat.update(dataclasses.asdict(getattr(self, name)))
        if self.mechanism is not None:
            flat.update(dataclasses.asdict(self.mechanism))
        return flat

    def replace(self, **flat_updates: Any) -> TrialConfig:
        """A copy with some flat keys changed (validated like from_flat)."""
        return TrialConfig.from_flat({**self.to_flat(), **flat_updates})


def _component_type(name: str) -> type:
    return typing.get_type_hints(TrialConfig)[name]


def _take(flat: dict[str, Any], part_type: type) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(part_type)}
    return {k: v for k, v in flat.items() if k in names}


def flat_key_types(arm: str | None = None) -> dict[str, type]:
    """The Python type of every flat key of `arm` (of any arm when None), in a stable order."""
    arms = [arm] if arm is not None else list(PREDICTOR_CONFIGS)
    types_by_key: dict[str, Any] = {"arm": str, "seed": int}
    parts = [_component_type(name) for name in _COMPONENTS] + [PREDICTOR_CONFIGS[a] for a in arms]
    parts.append(MechanismConfig)
    for part in parts:
        hints = typing.get_type_hints(part)
        for key in (f.name for f in dataclasses.fields(part)):
            hint = hints[key]
            if isinstance(hint, types.UnionType):
                hint = typing.get_args(hint)[0]
            types_by_key.setdefault(key, hint)
    return types_by_key


def coerce(arm: str | None, key: str, text: str) -> Any:
    """Parse a command-line string into the type of flat key `key` for `arm` (for any arm when None)."""
    if arm is not None:
        check(arm in PREDICTOR_CONFIGS, "arm", arm, f"one of {sorted(PREDICTOR_CONFIGS)}")
    types_by_key = flat_key_types(arm)
    if key not in types_by_key:
        owner = f" for arm {arm!r}" if arm is not None else ""
        raise ConfigError(f"unknown config key {key!r}{owner}; allowed: {sorted(types_by_key)}")
    target = types_by_key[key]
    if target is bool:
        lowered = text.lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise ConfigError(f"config field {key!r} = {text!r} is not allowed: must be true or false")
        return lowered in ("true", "1", "yes")
    try:
        return target(text)
    except ValueError as error:
        raise ConfigError(f"config field {key!r} = {text!r} is not allowed: must be {target.__name__}") from error
