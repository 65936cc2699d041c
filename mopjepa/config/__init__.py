"""Typed, frozen, validated configuration for one trial.

Every component has its own frozen dataclass; a knob lives in exactly one field. A trial is also
written *flat* (``{"task": ..., "arm": "mop", "K": 8, "steps": 20000}``): that is what presets list,
what the CLI takes and what every result row carries. ``TrialConfig.from_flat`` rejects unknown keys
and keys that the chosen arm does not have (``K`` for ``dense``), before any work starts. A trial's kind
(``TrialConfig.task``: a maze, or the branch sweep's generated task) decides which keys it has.

    checks.py       ConfigError and the field checks every dataclass uses
    components.py   data, encoder, training, graph, execution, the generated branch-sweep task
    arms.py         the arm registry: config type, predictor, label and colour of each arm, in one entry
    predictors.py   one config per predictor arm, and the paper's arms' registry entries
    identity.py     what a trial computes: RUNTIME_KEYS, the keys added later and their old values
    trial.py        the trial's kind (MazeTask | BranchTask, trial_kind, MAZE_KEYS), TrialConfig (nested <-> flat),
                    flat_key_types, coerce
"""

from mopjepa.config.arms import (
    ARM_COLOURS,
    ARM_LABELS,
    ARMS,
    PREDICTOR_CONFIGS,
    Arm,
    arm_colour,
    arm_label,
    register_arm,
    unregister_arm,
)
from mopjepa.config.checks import ConfigError
from mopjepa.config.components import (
    BRANCH_SWEEP_TASK,
    EDGE_COSTS,
    RUNTIME_KEYS,
    BranchSweepConfig,
    DataConfig,
    EncoderConfig,
    ExecuteConfig,
    GraphConfig,
    TrainConfig,
)
from mopjepa.config.predictors import (
    ASSIGNMENTS,
    CodebookConfig,
    DenseConfig,
    EnsembleConfig,
    M3Config,
    MDNConfig,
    MoPConfig,
    PredictorConfig,
    VarConfig,
)
from mopjepa.config.trial import MAZE_KEYS, BranchTask, MazeTask, TrialConfig, coerce, flat_key_types, trial_kind

__all__ = [
    "ARMS", "ARM_COLOURS", "ARM_LABELS", "Arm", "arm_colour", "arm_label", "register_arm", "unregister_arm",
    "ASSIGNMENTS", "BRANCH_SWEEP_TASK", "EDGE_COSTS", "MAZE_KEYS", "PREDICTOR_CONFIGS", "RUNTIME_KEYS",
    "BranchSweepConfig", "BranchTask", "CodebookConfig", "ConfigError", "DataConfig", "DenseConfig", "EncoderConfig",
    "EnsembleConfig", "ExecuteConfig", "GraphConfig", "M3Config", "MDNConfig", "MazeTask", "MoPConfig",
    "PredictorConfig", "TrainConfig", "TrialConfig", "VarConfig", "coerce", "flat_key_types", "trial_kind",
]
