"""MoP-JEPA: hard-assigned predictor mixtures for stochastic JEPA world models.

The library: data -> model -> train -> graph -> evaluate / execute -> results -> analysis
(docs/architecture.md#1-the-flow). It never imports ray or mlflow and never reads argv, environment
variables or the cwd. A newcomer imports from here:

    import mopjepa
    cfg = mopjepa.TrialConfig.from_flat({"task": "pointmaze-teleport-navigate-v0", "arm": "mop", "steps": 500})
    task = mopjepa.load_task(cfg.data.task, "~/.ogbench/data")
    summary = mopjepa.run_trial(cfg, task)          # train, propose blind, evaluate, execute
    summary.metric("realroute")

    report = mopjepa.audit_model(task, (encode, successors))   # any world model as numpy functions
    mopjepa.build_report("~/mopjepa_results/quick")             # Tables 2-6 and figures from Parquet

    mopjepa.register_arm(mopjepa.Arm(...))                      # a new predictor arm

Every name is imported on first use, so ``import mopjepa`` loads nothing heavy and the analysis path
(``build_report``) stays free of torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = {
    "TrialConfig": ("mopjepa.config", "TrialConfig", "one trial's validated config; TrialConfig.from_flat({...})"),
    "ConfigError": ("mopjepa.config", "ConfigError", "the error of a bad config value (names field and value)"),
    "load_task": ("mopjepa.data", "load_task_data", "load (or regenerate offline) a task's dataset"),
    "run_trial": ("mopjepa.experiment", "run_trial", "train, propose blind, evaluate, execute: one trial"),
    "summary_tables": ("mopjepa.experiment", "summary_tables", "a trial's rows per result table"),
    "audit_model": ("mopjepa.audit", "audit", "the verification protocol on any model given as numpy functions"),
    "build_report": ("mopjepa.analysis.report", "build_report", "tables and figures of an experiment directory"),
    "Arm": ("mopjepa.config.arms", "Arm", "one predictor arm's registry entry"),
    "register_arm": ("mopjepa.config.arms", "register_arm", "add an arm to the registry"),
}
"""Public name -> (module, attribute, what it is)."""

__all__ = [
    "Arm", "ConfigError", "TrialConfig", "audit_model", "build_report", "load_task", "register_arm", "run_trial",
    "summary_tables",
]

if TYPE_CHECKING:
    from mopjepa.analysis.report import build_report
    from mopjepa.audit import audit as audit_model
    from mopjepa.config import ConfigError, TrialConfig
    from mopjepa.config.arms import Arm, register_arm
    from mopjepa.data import load_task_data as load_task
    from mopjepa.experiment import run_trial, summary_tables


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'mopjepa' has no attribute {name!r}; its API is {sorted(_API)}")
    module, attribute, _ = _API[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
