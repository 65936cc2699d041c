"""Typed, frozen, validated configuration for one trial.

Every component has its own frozen dataclass; a knob lives in exactly one field. A trial is also
written *flat* (``{"task": ..., "arm": "mop", "K": 8, "steps": 20000}``): that is what presets list,
what the CLI takes and what every result row carries. ``TrialConfig.from_flat`` rejects unknown keys
and keys that the chosen arm does not have (``K`` for ``dense``), before any work starts.

    checks.py       ConfigError and the field checks every dataclass uses
    components.py   data, encoder, training, graph, execution, the generated branch-sweep task
    arms.py         the arm registry: config type, predictor, label and colour of each arm, in one entry
    predictors.py   one config per predictor arm, and the paper's arms' registry entries
    identity.py     what a trial computes: RUNTIME_KEYS, the keys added later and their old values
    trial.py        TrialConfig (nested <-> flat), flat_key_types, coerce
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
    EDGE_COSTS,
    MECHANISM_TASK,
    RUNTIME_KEYS,
    DataConfig,
    EncoderConfig,
    ExecuteConfig,
    GraphConfig,
    MechanismConfig,
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
from mopjepa.config.trial import TrialConfig, coerce, flat_key_types

__all__ = [
    "ARMS", "ARM_COLOURS", "ARM_LABELS", "Arm", "arm_colour", "arm_label", "register_arm", "unregister_arm",
    "ASSIGNMENTS", "EDGE_COSTS", "MECHANISM_TASK", "PREDICTOR_CONFIGS", "RUNTIME_KEYS",
    "CodebookConfig", "ConfigError", "DataConfig", "DenseConfig", "EncoderConfig", "EnsembleConfig",
    "ExecuteConfig", "GraphConfig", "M3Config", "MDNConfig", "MechanismConfig", "MoPConfig",
    "PredictorConfig", "TrainConfig", "TrialConfig", "VarConfig", "coerce", "flat_key_types",
]
