"""The components of a trial other than its predictor: data, encoder, training, graph, execution and the
generated branch-sweep task."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import ClassVar

from mopjepa.config.checks import check, is_number, non_negative, positive_finite, positive_int, seed_int

RUNTIME = {"runtime": True}
"""Field metadata of a key that says where or how fast a trial runs, not what it computes: such keys stay
out of the trial's identity (mopjepa.config.identity), its configuration and the floor's cache key."""
CONTEXT_ACTION_MODES = ("none", "step", "to_exit")

# ----------------------------------------------------------------------------------------------
# Data and the shared encoder
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataConfig:
    task: str = "pointmaze-medium-stitch-v0"
    """OGBench locomaze dataset name, e.g. pointmaze-large-stitch-v0."""
    dataset_dir: str = field(default="~/.ogbench/data", metadata=RUNTIME)
    """Where official files live and regenerated ones are cached (OGBench's default)."""
    data_seed: int = 0
    """Seed of the offline regeneration (only used when the dataset is regenerated)."""
    download: bool = field(default=True, metadata=RUNTIME)
    """Try OGBench's download when no file is present (off in tests and offline runs)."""
    holdout_fraction: float = 0.2
    """Fraction of the unique observed (cell, next cell) pairs removed from training."""
    mode_threshold: float = 0.05
    """A next cell is a successor mode of a cell when its empirical frequency is at least this."""
    context_action: str = "none"
    """The action in the predictor's context c = [z, a] (Eq. 1): 'none' (an action-free context),
    'step' (the step's own action a_t) or 'to_exit' (the mean action from t to the next cell's entry).
    Legacy bools load as false -> 'none', true -> 'to_exit' (mopjepa.config.identity)."""

    def __post_init__(self):
        check(isinstance(self.task, str) and self.task != "", "task", self.task, "an OGBench dataset name")
        check(0.0 <= self.holdout_fraction < 1.0, "holdout_fraction", self.holdout_fraction, "in [0, 1)")
        check(0.0 < self.mode_threshold < 1.0, "mode_threshold", self.mode_threshold, "in (0, 1)")
        seed_int(self, "data_seed")
        check(self.context_action in CONTEXT_ACTION_MODES, "context_action", self.context_action,
              f"one of {CONTEXT_ACTION_MODES}")

    @property
    def action_in_context(self) -> bool:
        """The model's context carries an action (it must then be queried with actions)."""
        return self.context_action != "none"


@dataclass(frozen=True)
class EncoderConfig:
    latent_dim: int = 32
    """d: dimension of the unit-norm latent z."""
    encoder_hidden: int = 256
    """Width of the encoder MLP."""
    encoder_depth: int = 2
    """Number of hidden layers of the encoder MLP."""

    def __post_init__(self):
        positive_int(self, "latent_dim", "encoder_hidden", "encoder_depth")



# ----------------------------------------------------------------------------------------------
# Training, graph, execution
# ----------------------------------------------------------------------------------------------


MAX_BATCH_SIZE = 2**20
"""The largest batch: OGBench's largest locomaze datasets hold ~1M transitions (5000 x 201 steps)."""


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
    log_every: int = field(default=500, metadata=RUNTIME)
    """Steps between metrics callbacks."""
    eval_every: int = 0
    """Steps between evaluations of the protocol's metrics during training (the `curves` table; the
    last point is always the final step). 0: steps // 10, i.e. ten evaluations per trial."""
    threads: int = 1
    """Torch intra-op threads of the trial. Part of what a trial computes: the thread count changes the
    floating-point reduction order, and a trained graph is sensitive enough for that to move its metrics."""
    device: str = field(default="auto", metadata=RUNTIME)
    """Where the model trains and is queried: 'auto' (cuda when the trial was given a GPU, else cpu),
    'cpu' or 'cuda'. Where, not what: not part of the trial's identity (see docs/protocol.md#8-threads-and-device)."""

    DEVICES: ClassVar[tuple[str, ...]] = ("auto", "cpu", "cuda")
    DIAGNOSTIC_EXAMPLES: ClassVar[int] = 4096
    """Training examples (drawn with the trial's 'diagnostics' stream) the arm's diagnostics are measured on."""

    def __post_init__(self):
        positive_int(self, "steps", "batch_size", "log_every", "threads")
        check(self.batch_size <= MAX_BATCH_SIZE, "batch_size", self.batch_size,
              f"<= {MAX_BATCH_SIZE:,} (a batch is drawn from one dataset's transitions, ~1M in the largest)")
        check(isinstance(self.eval_every, int) and not isinstance(self.eval_every, bool) and self.eval_every >= 0,
               "eval_every", self.eval_every, "an int >= 0 (0: ten evaluations per trial)")
        check(self.device in self.DEVICES, "device", self.device, f"one of {self.DEVICES}")
        positive_finite(self, "lr")
        non_negative(self, "weight_decay")
        check(is_number(self.ema_tau) and 0.0 <= self.ema_tau < 1.0, "ema_tau", self.ema_tau, "in [0, 1)")


EDGE_COSTS = ("neglog", "uniform")
QUERY_ACTIONS = ("none", "compass4", "compass8")


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
    query_actions: str = "none"
    """The actions each cell is queried with: 'none' (an action-free model), 'compass4' or 'compass8'
    (unit compass directions scaled by the train split's median action norm). An action-conditioned
    model's graph is the union over its actions, gated inside each query (docs/protocol.md#4-the-blind-graph)."""

    def __post_init__(self):
        positive_finite(self, "gate_factor")
        check(is_number(self.gate_threshold) and 0 <= self.gate_threshold < 1,
               "gate_threshold", self.gate_threshold, "in [0, 1)")
        check(self.edge_cost in EDGE_COSTS, "edge_cost", self.edge_cost, f"one of {EDGE_COSTS}")
        check(self.query_actions in QUERY_ACTIONS, "query_actions", self.query_actions, f"one of {QUERY_ACTIONS}")
        positive_int(self, "shuffle_permutations")


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
    fallback: str = "straight"
    """With no path to the goal cell in the working graph: steer 'straight' at the goal, or 'explore': head for
    the reachable cell nearest the goal, then on, with a seeded untried move when progress stalls."""
    execute_workers: int = field(default=0, metadata=RUNTIME)
    """Parallel environment actors used by pipelines (0: one per available CPU)."""

    JUMP_STEERING: ClassVar[tuple[str, ...]] = ("source", "target")
    JUMP_PLANNING: ClassVar[tuple[str, ...]] = ("worst_case", "shortest")
    PLAN_GRAPHS: ClassVar[tuple[str, ...]] = ("raw", "gated")
    FALLBACKS: ClassVar[tuple[str, ...]] = ("straight", "explore")

    def __post_init__(self):
        check(isinstance(self.episodes_per_task, int) and self.episodes_per_task >= 0,
               "episodes_per_task", self.episodes_per_task, "an int >= 0")
        positive_int(self, "stall_steps")
        non_negative(self, "progress_tol")
        check(self.jump_steering in self.JUMP_STEERING, "jump_steering", self.jump_steering,
               f"one of {self.JUMP_STEERING}")
        check(self.jump_planning in self.JUMP_PLANNING, "jump_planning", self.jump_planning,
               f"one of {self.JUMP_PLANNING}")
        check(self.plan_graph in self.PLAN_GRAPHS, "plan_graph", self.plan_graph, f"one of {self.PLAN_GRAPHS}")
        check(self.fallback in self.FALLBACKS, "fallback", self.fallback, f"one of {self.FALLBACKS}")
        check(isinstance(self.replan, bool), "replan", self.replan, "a bool")
        check(isinstance(self.online_repair, bool), "online_repair", self.online_repair, "a bool")
        check(not (self.online_repair and not self.replan), "online_repair", self.online_repair,
               "False when replan is False (repairs only matter to a replanning executor)")
        check(isinstance(self.execute_workers, int) and self.execute_workers >= 0,
               "execute_workers", self.execute_workers, "an int >= 0")


# ----------------------------------------------------------------------------------------------
# The controlled branch sweep (Fig. 4 middle): a generated task instead of a maze
# ----------------------------------------------------------------------------------------------

BRANCH_SWEEP_TASK = "mechanism"
"""The `task` of a branch-sweep trial (mopjepa.config.trial.trial_kind); only such a trial has (and must
have) a BranchSweepConfig."""


@dataclass(frozen=True)
class BranchSweepConfig:
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
        positive_int(self, "num_modes", "num_states", "obs_dim", "num_examples")
        check(self.num_modes < self.num_states, "num_modes", self.num_modes,
               f"< num_states = {self.num_states} (the modes of a state are other states)")
        check(self.num_states <= self.obs_dim, "num_states", self.num_states,
               f"<= obs_dim = {self.obs_dim} (states are orthonormal)")
        non_negative(self, "mode_sigma", "weight_skew")
        check(is_number(self.hit_cosine) and 0 < self.hit_cosine < 1, "hit_cosine", self.hit_cosine, "in (0, 1)")


def runtime_keys(*configs: type) -> tuple[str, ...]:
    """The fields of the config dataclasses marked RUNTIME, in declaration order."""
    return tuple(f.name for config in configs for f in fields(config) if f.metadata.get("runtime"))


RUNTIME_KEYS = runtime_keys(DataConfig, EncoderConfig, TrainConfig, GraphConfig, ExecuteConfig)
"""Flat keys that say where or how fast a trial runs, not what it computes: not part of its identity."""
