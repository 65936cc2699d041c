"""Which trials feed which table: configurations, the arms' main configurations, and their variants.

The selection rule (printed in every report):

1. A trial's *configuration* is its flat config without task, seed, the runtime keys
   (dataset_dir, download, log_every, execute_workers) and episodes_per_task (which only decides
   whether execution runs, e.g. on seeds 0-2 of the paper preset). Trials of one configuration on
   any task and seed are its seeds.
2. Each key is compared with a *reference*: the arm's dataclass default, unless no trial of the
   experiment keeps its arm's default for that key (a budget the preset sets for everyone, e.g.
   smoke's steps=150, latent_dim=16, K=4); then the reference is the value most trials have
   (ties: the first in sorted order). A configuration's *deviations* are the keys that differ
   from their reference.
3. An arm's *main configuration* (Tables 2-6, Figs. 3 and 5-8) is its configuration with the fewest
   deviations; ties go to the one run on more tasks, then on more trials. A tie that remains is
   reported as ambiguous in the report, and the first in sorted order is taken.
4. Every other configuration (the K sweep, the MDN grid, ablations, uniform edge cost, matched
   capacity) stays out of the main tables and feeds its own outputs: the MDN grid = MDN
   configurations deviating only in K and lam_bal; matched capacity = MoP/MDN configurations
   deviating only in K, lam_bal and a larger step budget; the K sweep = MoP configurations
   deviating only in K (plus the main MoP).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pandas as pd

from mopjepa.config import RUNTIME_KEYS, TrialConfig

NOT_IDENTITY = frozenset({"arm", "task", "seed", "episodes_per_task", *RUNTIME_KEYS})
"""Flat keys that do not distinguish one configuration from another (rule 1)."""


@cache
def arm_defaults(arm: str) -> dict[str, Any]:
    return TrialConfig.from_flat({"arm": arm}).to_flat()


@dataclass(frozen=True)
class ConfigGroup:
    """One configuration of one arm and the trials that ran it."""

    arm: str
    deviations: tuple[tuple[str, Any], ...]
    """(key, value) pairs that differ from the reference, sorted by key."""
    config: tuple[tuple[str, Any], ...]
    """The configuration's every identity key, sorted by key."""
    trial_ids: tuple[str, ...]
    tasks: tuple[str, ...]

    @property
    def label(self) -> str:
        """'mop' or 'mop [K=16, steps=60000]'."""
        if not self.deviations:
            return self.arm
        return f"{self.arm} [{', '.join(f'{k}={v}' for k, v in self.deviations)}]"

    @property
    def deviation_keys(self) -> frozenset[str]:
        return frozenset(key for key, _ in self.deviations)

    def value(self, key: str) -> Any:
        return dict(self.config).get(key)


@dataclass(frozen=True)
class Selection:
    groups: tuple[ConfigGroup, ...]
    main: dict[str, ConfigGroup]
    """arm -> its main configuration."""
    reference: dict[str, Any]
    """Keys no trial keeps at its default (the experiment's budget), with their reference value."""
    notes: tuple[str, ...]

    def variants(self, arm: str, allowed: Iterable[str]) -> list[ConfigGroup]:
        """The arm's configurations whose deviations are all among `allowed` keys."""
        allowed = frozenset(allowed)
        return [g for g in self.groups if g.arm == arm and g.deviation_keys <= allowed]

    def others(self) -> list[ConfigGroup]:
        """Every configuration that is not an arm's main one."""
        mains = set(self.main.values())
        return [g for g in self.groups if g not in mains]


def select(trials: pd.DataFrame) -> Selection:
    """Group completed trials (one row each, with config_json) into configurations and pick the mains."""
    if trials.empty:
        return Selection(groups=(), main={}, reference={}, notes=())
    flats = {row.trial_id: json.loads(row.config_json) for row in trials.itertuples()}
    reference = overridden_keys(flats.values())
    members: dict[tuple, list[str]] = {}
    for identifier, flat in flats.items():
        identity = tuple(sorted((k, v) for k, v in flat.items() if k not in NOT_IDENTITY))
        members.setdefault((flat["arm"], identity), []).append(identifier)
    groups = []
    for (arm, identity), ids in sorted(members.items(), key=lambda item: str(item[0])):
        defaults = arm_defaults(arm)
        deviations = tuple((k, v) for k, v in identity if v != reference.get(k, defaults.get(k)))
        tasks = tuple(sorted({flats[i]["task"] for i in ids}))
        groups.append(ConfigGroup(arm, deviations, identity, tuple(sorted(ids)), tasks))
    main, notes = {}, []
    for arm in sorted({g.arm for g in groups}):
        ranked = sorted(
            (g for g in groups if g.arm == arm),
            key=lambda g: (len(g.deviations), -len(g.tasks), -len(g.trial_ids), g.label),
        )
        main[arm] = ranked[0]
        rank = _rank(ranked[0])
        tied = [g.label for g in ranked[1:] if _rank(g) == rank]
        if tied:
            notes.append(f"main configuration of {arm} is ambiguous: took {ranked[0].label} over {', '.join(tied)}")
    return Selection(groups=tuple(groups), main=main, reference=reference, notes=tuple(notes))


def _rank(group: ConfigGroup) -> tuple[int, int, int]:
    return (len(group.deviations), -len(group.tasks), -len(group.trial_ids))


def overridden_keys(flats: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Rule 2: identity keys that no trial keeps at its arm's default -> the value most trials have."""
    counts: dict[str, Counter] = {}
    kept_default: set[str] = set()
    for flat in flats:
        defaults = arm_defaults(flat["arm"])
        for key, value in flat.items():
            if key in NOT_IDENTITY:
                continue
            counts.setdefault(key, Counter())[json.dumps(value)] += 1
            if value == defaults.get(key):
                kept_default.add(key)
    reference = {}
    for key in sorted(set(counts) - kept_default):
        text = min(counts[key].items(), key=lambda item: (-item[1], item[0]))[0]
        reference[key] = json.loads(text)
    return reference


def mdn_grid(selection: Selection) -> list[ConfigGroup]:
    """The MDN fairness grid: MDN configurations deviating only in K and lam_bal."""
    return selection.variants("mdn", {"K", "lam_bal"})


def matched_capacity(selection: Selection, arm: str) -> list[ConfigGroup]:
    """Configurations of `arm` deviating in K/lam_bal and a larger step budget than the reference."""
    steps = selection.reference.get("steps", arm_defaults(arm)["steps"])
    return [
        g for g in selection.variants(arm, {"K", "lam_bal", "steps"})
        if "steps" in g.deviation_keys and g.value("steps") > steps
    ]


def k_sweep(selection: Selection, arm: str = "mop") -> list[ConfigGroup]:
    """Configurations of `arm` deviating only in K, the main one included, ordered by K."""
    groups = selection.variants(arm, {"K"})
    main = selection.main.get(arm)
    if main is not None and main not in groups:
        groups.append(main)
    return sorted(groups, key=lambda g: g.value("K") or 0)
