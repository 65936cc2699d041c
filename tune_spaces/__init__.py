"""Experiment presets: plain Python functions that return the explicit list of trials to run.

A trial is a flat config dict holding only the keys its arm has (no K or lam for dense), plus
`studies`: the studies it feeds (mopjepa.results.studies). Every preset's list is validated with
TrialConfig.from_flat and de-duplicated by trial id, so a trial shared by two parts of a matrix (the
default MDN inside the MDN grid, say) runs once and carries both studies.
"""

from __future__ import annotations

from collections.abc import Callable

from mopjepa.config import TrialConfig
from mopjepa.results.schema import trial_id
from mopjepa.results.studies import STUDIES_KEY, split_studies
from tune_spaces import action_context, mdn_softness, mechanism, paper, quick, readings, reproduce, smoke

PRESETS: dict[str, Callable[[], list[dict]]] = {
    "smoke": smoke.trials,
    "quick": quick.trials,
    "paper": paper.trials,
    "mechanism": mechanism.trials,
    "mdn_softness": mdn_softness.study,
    "reproduce": reproduce.trials,
    "action_context": action_context.trials,
    "readings": readings.trials,
}
"""`mechanism`'s trials are branch-sweep trials (task 'mechanism'); every other preset's are maze trials. All run
through mopjepa.experiment.run, which dispatches on the trial's kind."""


def preset_trials(name: str) -> list[dict]:
    """The validated, de-duplicated trial list of a preset, in a stable order; a trial planned by several
    studies runs once and carries all their names."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {sorted(PRESETS)}")
    return merge_trials(PRESETS[name](), f"preset {name!r}")


def merge_trials(entries: list[dict], where: str) -> list[dict]:
    """Validate planned trials (flat config + `studies`) and merge identical ones, uniting their studies."""
    unique: dict[str, dict] = {}
    for index, entry in enumerate(entries):
        flat, studies = split_studies(entry, f"{where}, trial {index}")
        identity = trial_id(TrialConfig.from_flat(flat))
        if identity in unique:
            studies = (*unique[identity][STUDIES_KEY], *studies)
            flat = {k: v for k, v in unique[identity].items() if k != STUDIES_KEY}
        unique[identity] = {**flat, STUDIES_KEY: sorted(set(studies))}
    return list(unique.values())
