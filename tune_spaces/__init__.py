"""Experiment presets: plain Python functions that return the explicit list of trials to run.

A trial is a flat config dict holding only the keys its arm has (no K or lam for dense). Every
preset's list is validated with TrialConfig.from_flat and de-duplicated by trial id, so a trial
shared by two parts of a matrix (the default MDN inside the MDN grid, say) runs once.
"""

from __future__ import annotations

from collections.abc import Callable

from mopjepa.config import TrialConfig
from mopjepa.results.schema import trial_id
from tune_spaces import mechanism, paper, quick, smoke

PRESETS: dict[str, Callable[[], list[dict]]] = {
    "smoke": smoke.trials,
    "quick": quick.trials,
    "paper": paper.trials,
    "mechanism": mechanism.trials,
}
"""`mechanism` trials have task 'mechanism' and run with mopjepa.mechanism.run_mechanism_trial
(pipelines/mechanism.run_one); every other preset's trials run with experiment.run_trial."""


def preset_trials(name: str) -> list[dict]:
    """The validated, de-duplicated trial list of a preset, in a stable order."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {sorted(PRESETS)}")
    unique: dict[str, dict] = {}
    for flat in PRESETS[name]():
        unique.setdefault(trial_id(TrialConfig.from_flat(flat)), flat)
    return list(unique.values())
