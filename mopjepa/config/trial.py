"""One trial: its kind, the components together, written nested or flat, and the flat keys' types.

A trial is of one of two kinds, decided by its `task` in one place (trial_kind): a maze trial (MazeTask,
an OGBench dataset) or a branch-sweep trial (BranchTask, task 'mechanism': the generated task of
docs/protocol.md#9-the-branch-sweep). A branch-sweep trial reads none of MAZE_KEYS: its flat config has
none of them, and in its nested form they stay at their defaults.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mopjepa.config.checks import ConfigError, check, seed_int
from mopjepa.config.components import (
    BRANCH_SWEEP_TASK,
    RUNTIME_KEYS,
    BranchSweepConfig,
    DataConfig,
    EncoderConfig,
    ExecuteConfig,
    GraphConfig,
    TrainConfig,
)
from mopjepa.config.identity import context_action_mode
from mopjepa.config.predictors import PREDICTOR_CONFIGS, MoPConfig, PredictorConfig

_COMPONENTS = ("data", "encoder", "train", "graph", "execute")


# ----------------------------------------------------------------------------------------------
# The trial's kind
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MazeTask:
    """A maze trial: an OGBench locomaze dataset (data.task), its cells and hold-out, the blind graph, the
    protocol's metrics and execution (mopjepa.experiment.run_trial). It has every flat key but the
    BranchSweepConfig's."""

    name: str


@dataclass(frozen=True)
class BranchTask:
    """A branch-sweep trial (task 'mechanism'): the generated task of its BranchSweepConfig, contexts with M
    successor modes (mopjepa.mechanism). It reads the encoder, the training, its predictor and the router
    gate, none of MAZE_KEYS."""

    spec: BranchSweepConfig


def trial_kind(task: str | None) -> type[MazeTask] | type[BranchTask]:
    """The kind of a trial on `task` (its data.task; None: the default, a maze): the one place it is decided."""
    return BranchTask if task == BRANCH_SWEEP_TASK else MazeTask


MAZE_KEYS: frozenset[str] = frozenset(
    ({f.name for f in dataclasses.fields(DataConfig)} - {"task"})
    | {"eval_every"}
    | ({f.name for f in dataclasses.fields(GraphConfig)} - {"gate_factor", "gate_threshold"})
    | {f.name for f in dataclasses.fields(ExecuteConfig)}
)
"""The flat keys only a maze trial reads: its dataset, hold-out, modes and context action, the curves'
evaluations, the blind graph's protocol beyond the router gate, and execution. A branch-sweep trial's
flat config has none of them."""

_MAZE_DEFAULTS: dict[str, Any] = {f.name: f.default for part in (DataConfig, TrainConfig, GraphConfig, ExecuteConfig)
                                  for f in dataclasses.fields(part) if f.name in MAZE_KEYS}


# ----------------------------------------------------------------------------------------------
# The trial
# ----------------------------------------------------------------------------------------------


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
    branch_sweep: BranchSweepConfig | None = None
    """The generated task of a branch-sweep trial; set exactly when data.task is BRANCH_SWEEP_TASK."""

    TOP_LEVEL: ClassVar[tuple[str, ...]] = ("arm", "seed")

    @property
    def task(self) -> MazeTask | BranchTask:
        """The trial's kind, as a type (trial_kind of data.task): every driver dispatches on it."""
        if trial_kind(self.data.task) is BranchTask:
            return BranchTask(self.branch_sweep)
        return MazeTask(self.data.task)

    def __post_init__(self):
        check(self.arm in PREDICTOR_CONFIGS, "arm", self.arm, f"one of {sorted(PREDICTOR_CONFIGS)}")
        seed_int(self, "seed")
        expected = PREDICTOR_CONFIGS[self.arm]
        check(type(self.predictor) is expected, "predictor", type(self.predictor).__name__,
               f"{expected.__name__} for arm {self.arm!r}")
        is_branch_sweep = trial_kind(self.data.task) is BranchTask
        check(isinstance(self.branch_sweep, BranchSweepConfig) == is_branch_sweep, "branch_sweep", self.branch_sweep,
               f"a BranchSweepConfig exactly when task == {BRANCH_SWEEP_TASK!r}")
        if is_branch_sweep:
            components = self._components_flat()
            for key in sorted(MAZE_KEYS):
                check(components[key] == _MAZE_DEFAULTS[key], key, components[key],
                      f"left out of a branch-sweep trial (task {BRANCH_SWEEP_TASK!r}), which never reads it "
                      f"(or at its default {_MAZE_DEFAULTS[key]!r})")
        if self.data.action_in_context:
            check(self.graph.query_actions != "none", "query_actions", self.graph.query_actions,
                  f"'compass4' or 'compass8' when context_action is {self.data.context_action!r} (a model whose "
                  "context has an action is queried with an action set, never a made-up zero action)")
        else:
            check(self.graph.query_actions == "none", "query_actions", self.graph.query_actions,
                  "'none' when context_action is 'none' (the model takes no action)")

    @classmethod
    def allowed_keys(cls, arm: str, task: str | None = None) -> list[str]:
        """The flat keys of a trial of `arm` on `task` (None: a maze): a branch-sweep trial's have none of
        MAZE_KEYS and the BranchSweepConfig's."""
        check(arm in PREDICTOR_CONFIGS, "arm", arm, f"one of {sorted(PREDICTOR_CONFIGS)}")
        keys = list(cls.TOP_LEVEL)
        for name in _COMPONENTS:
            keys += [f.name for f in dataclasses.fields(_component_type(name))]
        keys += [f.name for f in dataclasses.fields(PREDICTOR_CONFIGS[arm])]
        if trial_kind(task) is BranchTask:
            keys = [key for key in keys if key not in MAZE_KEYS]
            keys += [f.name for f in dataclasses.fields(BranchSweepConfig)]
        return keys

    @classmethod
    def from_flat(cls, flat: dict[str, Any]) -> TrialConfig:
        """Build a trial from flat keys; unknown keys (for this arm and task) are an error naming them.

        A branch-sweep config written before its trials lost the maze keys still loads: its MAZE_KEYS
        at their defaults are dropped, and so are its runtime ones at any value (where a maze's data
        lives, how many actors execute it); any other value is an error naming the key."""
        flat = dict(flat)
        if "context_action" in flat:  # a legacy bool (schema <= 3) loads as its mode
            flat["context_action"] = context_action_mode(flat["context_action"])
        arm = flat.pop("arm", cls.arm)
        task = flat.get("task", DataConfig.task)
        branch_sweep = trial_kind(task) is BranchTask
        allowed = set(cls.allowed_keys(arm, task))
        if branch_sweep:  # the other maze keys reach the components; __post_init__ checks their defaults
            flat = {k: v for k, v in flat.items() if not (k in MAZE_KEYS and k in RUNTIME_KEYS)}
            allowed |= MAZE_KEYS
        unknown = sorted(set(flat) - allowed)
        if unknown:
            branch_keys = {f.name for f in dataclasses.fields(BranchSweepConfig)} & set(unknown)
            hint = f" ({sorted(branch_keys)} need task {BRANCH_SWEEP_TASK!r})" if branch_keys else ""
            raise ConfigError(f"unknown config key(s) {unknown} for arm {arm!r}{hint}; "
                              f"allowed: {sorted(cls.allowed_keys(arm, task))}")
        parts = {}
        for name in _COMPONENTS:
            part_type = _component_type(name)
            parts[name] = part_type(**_take(flat, part_type))
        predictor_type = PREDICTOR_CONFIGS[arm]
        parts["predictor"] = predictor_type(**_take(flat, predictor_type))
        if branch_sweep:
            parts["branch_sweep"] = BranchSweepConfig(**_take(flat, BranchSweepConfig))
        return cls(arm=arm, seed=flat.get("seed", 0), **parts)

    def to_flat(self) -> dict[str, Any]:
        """The inverse of from_flat: every key this arm (and kind) has, with its value."""
        flat: dict[str, Any] = {"arm": self.arm, "seed": self.seed, **self._components_flat()}
        match self.task:
            case BranchTask(spec=spec):
                flat = {k: v for k, v in flat.items() if k not in MAZE_KEYS} | dataclasses.asdict(spec)
        return flat

    def _components_flat(self) -> dict[str, Any]:
        """Every field of the shared components and the predictor, flat (a maze trial's keys less arm, seed)."""
        flat: dict[str, Any] = {}
        for name in (*_COMPONENTS, "predictor"):
            flat.update(dataclasses.asdict(getattr(self, name)))
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
    parts.append(BranchSweepConfig)
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
