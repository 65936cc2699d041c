"""Typed, frozen, validated configuration for one trial.

Every component has its own frozen dataclass; a knob lives in exactly one field. A trial is also
written *flat* (``{"task": ..., "arm": "mop", "K": 8, "steps": 20000}``): that is what presets list,
what the CLI takes and what every result row carries. ``TrialConfig.from_flat`` rejects unknown keys
and keys that the chosen arm does not have (``K`` for ``dense``), before any work starts.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar


class ConfigError(ValueError):
    """A config value or key that is not allowed; the message names the field and what is allowed."""


def _check(condition: bool, name: str, value: Any, allowed: str) -> None:
    if not condition:
        raise ConfigError(f"config field {name!r} = {value!r} is not allowed: must be {allowed}")


def _positive_int(obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        _check(isinstance(value, int) and not isinstance(value, bool) and value >= 1, name, value, "an int >= 1")


def _non_negative(obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        _check(_is_number(value) and value >= 0 and math.isfinite(value), name, value, "a finite number >= 0")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataConfig:
    task: str = "pointmaze-medium-stitch-v0"
    """OGBench locomaze dataset name, e.g. pointmaze-large-stitch-v0."""
    dataset_dir: str = "~/.ogbench/data"
    """Where official files live and regenerated ones are cached (OGBench's default)."""
    data_seed: int = 0
    """Seed of the offline regeneration (only used when the dataset is regenerated)."""
    download: bool = True
    """Try OGBench's download when no file is present (off in tests and offline runs)."""
    holdout_fraction: float = 0.2
    """Fraction of the unique observed (cell, next cell) pairs removed from training."""
    mode_threshold: float = 0.05
    """A next cell is a successor mode of a cell when its empirical frequency is at least this."""
    context_action: bool = False
    """Append the mean action until the next cell entry to the predictor context."""

    def __post_init__(self):
        _check(isinstance(self.task, str) and self.task != "", "task", self.task, "an OGBench dataset name")
        _check(0.0 <= self.holdout_fraction < 1.0, "holdout_fraction", self.holdout_fraction, "in [0, 1)")
        _check(0.0 < self.mode_threshold < 1.0, "mode_threshold", self.mode_threshold, "in (0, 1)")
        _check(isinstance(self.data_seed, int) and self.data_seed >= 0, "data_seed", self.data_seed, "an int >= 0")


# ----------------------------------------------------------------------------------------------
# Model: the shared encoder, then one config per predictor arm
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncoderConfig:
    latent_dim: int = 32
    """d: dimension of the unit-norm latent z."""
    encoder_hidden: int = 256
    """Width of the encoder MLP."""
    encoder_depth: int = 2
    """Number of hidden layers of the encoder MLP."""

    def __post_init__(self):
        _positive_int(self, "latent_dim", "encoder_hidden", "encoder_depth")


@dataclass(frozen=True)
class PredictorConfig:
    """Fields every predictor head has."""

    hidden_dim: int = 256
    """Width of each predictor MLP."""
    depth: int = 2
    """Number of hidden layers of each predictor MLP."""

    def __post_init__(self):
        _positive_int(self, "hidden_dim", "depth")


@dataclass(frozen=True)
class DenseConfig(PredictorConfig):
    """Standard JEPA: one MLP head trained by cosine regression, Eq. (2)."""


@dataclass(frozen=True)
class M3Config(PredictorConfig):
    """M3-JEPA: K experts fused by a softmax gate into one weighted-sum output."""

    K: int = 4
    """Number of experts."""

    def __post_init__(self):
        super().__post_init__()
        _positive_int(self, "K")


@dataclass(frozen=True)
class VarConfig(PredictorConfig):
    """Var-JEPA, steel-manned: cosine-trained mean, residual-calibrated sigma, 1/sqrt(d) samples."""

    num_samples: int = 8
    """S: samples drawn per context for the planner (equal weights)."""

    def __post_init__(self):
        super().__post_init__()
        _positive_int(self, "num_samples")


@dataclass(frozen=True)
class MDNConfig(PredictorConfig):
    """Mixture density network: K isotropic Gaussians with learned sigma, log-space NLL."""

    K: int = 8
    """Number of mixture components."""
    lam_bal: float = 0.01
    """Weight of KL(mean mixture weights || uniform), the load balance."""
    sigma_floor: float = 1e-3
    """Lower bound of every component's standard deviation."""

    def __post_init__(self):
        super().__post_init__()
        _positive_int(self, "K")
        _non_negative(self, "lam_bal")
        _check(_is_number(self.sigma_floor) and self.sigma_floor > 0, "sigma_floor", self.sigma_floor, "> 0")


ASSIGNMENTS = ("hard", "warmup", "anneal")


@dataclass(frozen=True)
class MoPConfig(PredictorConfig):
    """MoP-JEPA: K heads + a context-only router, Eq. (4)-(6)."""

    K: int = 8
    """Number of predictor heads."""
    lam_route: float = 1.0
    """Weight of the router cross-entropy on the winning head."""
    lam_bal: float = 0.1
    """Weight of KL(head usage || uniform)."""
    assignment: str = "hard"
    """'hard' (Eq. 5 from the first step), 'warmup' (soft, then hard after warmup_fraction) or
    'anneal' (softmin temperature decays linearly to hard over warmup_fraction of training)."""
    warmup_fraction: float = 0.05
    """Fraction of the step budget spent soft for 'warmup'/'anneal' (the paper's slow anneal: 0.8)."""
    soft_temperature: float = 0.1
    """Softmin temperature over head distances while the assignment is soft."""
    bal_temperature: float = 0.1
    """Softmin temperature of the differentiable head-usage surrogate that carries the load balance's
    gradient (hard usage has none); the balance term's value is still Eq. (6)'s KL of hard usage."""

    def __post_init__(self):
        super().__post_init__()
        _positive_int(self, "K")
        _non_negative(self, "lam_route", "lam_bal")
        _check(_is_number(self.bal_temperature) and self.bal_temperature > 0,
               "bal_temperature", self.bal_temperature, "> 0")
        _check(self.assignment in ASSIGNMENTS, "assignment", self.assignment, f"one of {ASSIGNMENTS}")
        _check(0.0 <= self.warmup_fraction <= 1.0, "warmup_fraction", self.warmup_fraction, "in [0, 1]")
        _check(_is_number(self.soft_temperature) and self.soft_temperature > 0,
               "soft_temperature", self.soft_temperature, "> 0")


@dataclass(frozen=True)
class CodebookConfig(PredictorConfig):
    """Control: K learned vectors that ignore the input, trained winner-take-all."""

    K: int = 8
    """Number of codebook vectors."""
    lam_bal: float = 0.1
    """Weight of MoP's load balance on codeword usage (keeps codewords alive; 0 = plain WTA)."""
    bal_temperature: float = 0.1
    """Softmin temperature of the usage surrogate, as in MoPConfig."""

    def __post_init__(self):
        super().__post_init__()
        _positive_int(self, "K")
        _non_negative(self, "lam_bal")
        _check(_is_number(self.bal_temperature) and self.bal_temperature > 0,
               "bal_temperature", self.bal_temperature, "> 0")


@dataclass(frozen=True)
class EnsembleConfig(PredictorConfig):
    """Ablation: K dense heads, each trained independently with the dense loss (no assignment)."""

    K: int = 8
    """Number of independent heads."""

    def __post_init__(self):
        super().__post_init__()
        _positive_int(self, "K")


PREDICTOR_CONFIGS: dict[str, type[PredictorConfig]] = {
    "dense": DenseConfig,
    "m3": M3Config,
    "var": VarConfig,
    "mdn": MDNConfig,
    "mop": MoPConfig,
    "codebook": CodebookConfig,
    "ensemble": EnsembleConfig,
}


# ----------------------------------------------------------------------------------------------
# Training, graph, execution
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 20_000
    """Optimizer steps (the budget is step-based, identical for every arm)."""
    batch_size: int = 256
    """Examples per step."""
    lr: float = 1e-3
    """AdamW learning rate."""
    weight_decay: float = 1e-4
    """AdamW weight decay."""
    ema_tau: float = 0.996
    """EMA momentum of the target encoder, Eq. (3)."""
    log_every: int = 500
    """Steps between metrics callbacks."""

    def __post_init__(self):
        _positive_int(self, "steps", "batch_size", "log_every")
        _check(_is_number(self.lr) and self.lr > 0, "lr", self.lr, "> 0")
        _non_negative(self, "weight_decay")
        _check(_is_number(self.ema_tau) and 0.0 <= self.ema_tau < 1.0, "ema_tau", self.ema_tau, "in [0, 1)")


EDGE_COSTS = ("neglog", "uniform")


@dataclass(frozen=True)
class GraphConfig:
    gate_factor: float = 0.5
    """An output is router-active when its weight exceeds gate_factor / K."""
    gate_threshold: float = 0.0
    """If > 0, an absolute gate threshold t that replaces gate_factor / K (the threshold sweep)."""
    edge_cost: str = "neglog"
    """Edge cost: 'neglog' (-log pi_k) or 'uniform' (1 per edge, an ablation)."""
    shuffle_permutations: int = 10
    """Seeded permutations of contexts across cells averaged by the shuffle test."""

    def __post_init__(self):
        _check(_is_number(self.gate_factor) and 0 < self.gate_factor, "gate_factor", self.gate_factor, "> 0")
        _check(_is_number(self.gate_threshold) and 0 <= self.gate_threshold < 1,
               "gate_threshold", self.gate_threshold, "in [0, 1)")
        _check(self.edge_cost in EDGE_COSTS, "edge_cost", self.edge_cost, f"one of {EDGE_COSTS}")
        _positive_int(self, "shuffle_permutations")


@dataclass(frozen=True)
class ExecuteConfig:
    episodes_per_task: int = 10
    """Episodes for each of the 5 official tasks (the paper preset uses 50, as OGBench does)."""
    stall_steps: int = 60
    """Steps without progress on an edge (summed over its attempts) before it is dropped and we replan."""
    progress_tol: float = 0.05
    """Progress on an edge = getting this much closer to its steering point than ever before on it."""
    jump_steering: str = "source"
    """Edges to non-neighbour cells (teleports): steer to the 'source' cell's centre or the 'target''s."""
    jump_planning: str = "worst_case"
    """A cell with jump edges (teleports) is a chance cell: plan for its 'worst_case' jump, or 'shortest'."""
    plan_graph: str = "raw"
    """The proposed graph the executor plans in: 'raw' (every output, cost -log pi, so low-weight
    transitions are a last resort) or 'gated' (router-active outputs only). [choice] With 'gated', the
    held-out transitions leave the official goals unreachable for every arm and execution degenerates
    to the shared straight-line fallback."""
    replan: bool = True
    """Replan on unplanned cells and stalled edges; False gives the no-replan control."""
    online_repair: bool = False
    """Also add transitions the agent has experienced to its working graph (reported separately)."""
    execute_workers: int = 0
    """Parallel environment actors used by pipelines (0: one per available CPU)."""

    JUMP_STEERING: ClassVar[tuple[str, ...]] = ("source", "target")
    JUMP_PLANNING: ClassVar[tuple[str, ...]] = ("worst_case", "shortest")
    PLAN_GRAPHS: ClassVar[tuple[str, ...]] = ("raw", "gated")

    def __post_init__(self):
        _check(isinstance(self.episodes_per_task, int) and self.episodes_per_task >= 0,
               "episodes_per_task", self.episodes_per_task, "an int >= 0")
        _positive_int(self, "stall_steps")
        _non_negative(self, "progress_tol")
        _check(self.jump_steering in self.JUMP_STEERING, "jump_steering", self.jump_steering,
               f"one of {self.JUMP_STEERING}")
        _check(self.jump_planning in self.JUMP_PLANNING, "jump_planning", self.jump_planning,
               f"one of {self.JUMP_PLANNING}")
        _check(self.plan_graph in self.PLAN_GRAPHS, "plan_graph", self.plan_graph, f"one of {self.PLAN_GRAPHS}")
        _check(isinstance(self.replan, bool), "replan", self.replan, "a bool")
        _check(isinstance(self.online_repair, bool), "online_repair", self.online_repair, "a bool")
        _check(not (self.online_repair and not self.replan), "online_repair", self.online_repair,
               "False when replan is False (repairs only matter to a replanning executor)")
        _check(isinstance(self.execute_workers, int) and self.execute_workers >= 0,
               "execute_workers", self.execute_workers, "an int >= 0")


# ----------------------------------------------------------------------------------------------
# The controlled branch sweep (Fig. 4 middle): a generated task instead of a maze
# ----------------------------------------------------------------------------------------------

MECHANISM_TASK = "mechanism"
"""The `task` of a branch-sweep trial; only such a trial has (and must have) a MechanismConfig."""


@dataclass(frozen=True)
class MechanismConfig:
    """A generated stochastic task: num_states contexts, each with num_modes successor modes.

    States are orthonormal unit vectors in R^obs_dim; the modes of a state are num_modes other
    states (drawn with the trial seed), so every mode centre is also a context the encoder sees."""

    num_modes: int = 2
    """M: successor modes per context."""
    num_states: int = 16
    """Contexts (= the pool the mode centres are drawn from); must exceed num_modes."""
    obs_dim: int = 16
    """Observation dimension; states are orthonormal, so obs_dim >= num_states."""
    mode_sigma: float = 0.1
    """Within-mode noise: observations are centre + mode_sigma * eps / sqrt(obs_dim) (|noise| ~ sigma)."""
    weight_skew: float = 0.0
    """Mode weights w_m proportional to (m + 1) ** -weight_skew: 0 = uniform, 1 = Zipf."""
    num_examples: int = 20_000
    """Generated (context, target) training examples."""
    hit_cosine: float = 0.9
    """An output hits a mode when its cosine similarity to the mode's target latent is >= this."""

    def __post_init__(self):
        _positive_int(self, "num_modes", "num_states", "obs_dim", "num_examples")
        _check(self.num_modes < self.num_states, "num_modes", self.num_modes,
               f"< num_states = {self.num_states} (the modes of a state are other states)")
        _check(self.num_states <= self.obs_dim, "num_states", self.num_states,
               f"<= obs_dim = {self.obs_dim} (states are orthonormal)")
        _non_negative(self, "mode_sigma", "weight_skew")
        _check(_is_number(self.hit_cosine) and 0 < self.hit_cosine < 1, "hit_cosine", self.hit_cosine, "in (0, 1)")


# ----------------------------------------------------------------------------------------------
# One trial
# ----------------------------------------------------------------------------------------------

_COMPONENTS = ("data", "encoder", "train", "graph", "execute")

RUNTIME_KEYS = ("dataset_dir", "download", "log_every", "execute_workers")
"""Flat keys that say where or how fast a trial runs, not what it computes: not part of its identity."""


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

    def __post_init__(self):
        _check(self.arm in PREDICTOR_CONFIGS, "arm", self.arm, f"one of {sorted(PREDICTOR_CONFIGS)}")
        _check(isinstance(self.seed, int) and not isinstance(self.seed, bool) and self.seed >= 0,
               "seed", self.seed, "an int >= 0")
        expected = PREDICTOR_CONFIGS[self.arm]
        _check(type(self.predictor) is expected, "predictor", type(self.predictor).__name__,
               f"{expected.__name__} for arm {self.arm!r}")
        is_mechanism = self.data.task == MECHANISM_TASK
        _check(isinstance(self.mechanism, MechanismConfig) == is_mechanism, "mechanism", self.mechanism,
               f"a MechanismConfig exactly when task == {MECHANISM_TASK!r}")

    @classmethod
    def allowed_keys(cls, arm: str, task: str | None = None) -> list[str]:
        """The flat keys of `arm`; the MechanismConfig keys too when `task` is MECHANISM_TASK."""
        _check(arm in PREDICTOR_CONFIGS, "arm", arm, f"one of {sorted(PREDICTOR_CONFIGS)}")
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
        _check(arm in PREDICTOR_CONFIGS, "arm", arm, f"one of {sorted(PREDICTOR_CONFIGS)}")
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
