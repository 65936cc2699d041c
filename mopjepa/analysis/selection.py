"""Which trials feed which table: configurations, grouped, and the studies their presets declared.

The selection rule (printed in every report):

1. A trial's *configuration* is its flat config without task, seed, the runtime keys
   (dataset_dir, download, log_every, execute_workers, device) and episodes_per_task (which only
   decides whether execution runs, e.g. on seeds 0-2 of the paper preset). Trials of one
   configuration on any task and seed are its seeds.
2. A configuration is named by its *deviations*: the keys that differ from a reference, the arm's
   dataclass default unless no trial of the experiment keeps it (a budget the preset sets for
   everyone, e.g. smoke's steps=150); then the value most trials have. Names only: nothing is
   selected by them.
3. Every table and figure reads the trials of the study it shows, as the preset declared them (the
   `studies` of each trial, mopjepa.results.studies): an arm's *main configuration* is its
   configuration tagged `main` (Tables 2-6, Figs. 3 and 5-8, the execution and curves figures); the
   MDN grid, matched capacity, the K sweep, the MDN softness study and each ablation read the trials
   tagged with their own name. Two configurations of one arm tagged `main` are an error.
4. A trial without studies (an untagged --trials-file entry, a single run) is a plain row: it is
   listed among the configurations and folded into no table.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pandas as pd

from mopjepa.config import RUNTIME_KEYS, TrialConfig
from mopjepa.config.identity import current_flat
from mopjepa.results.studies import parse_studies

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
    studies: frozenset[str] = frozenset()
    """Every study any of its trials was planned for."""

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
    """arm -> its configuration tagged `main` (only the trials so tagged)."""
    reference: dict[str, Any]
    """Keys no trial keeps at its default (the experiment's budget), with their reference value."""
    notes: tuple[str, ...]
    trial_studies: dict[str, frozenset[str]] = field(default_factory=dict)
    """trial id -> the studies it was planned for."""
    trial_tasks: dict[str, str] = field(default_factory=dict)
    """trial id -> its task."""

    def study(self, name: str, arm: str | None = None) -> list[ConfigGroup]:
        """The configurations (of `arm`, if given) with trials tagged `name`, restricted to those trials
        (and their tasks)."""
        out = []
        for group in self.groups:
            ids = tuple(i for i in group.trial_ids if name in self.trial_studies.get(i, ()))
            if ids and (arm is None or group.arm == arm):
                tasks = tuple(sorted({self.trial_tasks[i] for i in ids})) if self.trial_tasks else group.tasks
                out.append(dataclasses.replace(group, trial_ids=ids, tasks=tasks))
        return out

    def others(self) -> list[ConfigGroup]:
        """Every configuration that is not an arm's main one."""
        mains = {(g.arm, g.config) for g in self.main.values()}
        return [g for g in self.groups if (g.arm, g.config) not in mains]


def select(trials: pd.DataFrame) -> Selection:
    """Group completed trials (one row each, with config_json and studies) into configurations; the mains
    are the configurations tagged `main`."""
    if trials.empty:
        return Selection(groups=(), main={}, reference={}, notes=())
    flats = {row.trial_id: current_flat(json.loads(row.config_json)) for row in trials.itertuples()}
    studies = dict(zip(trials["trial_id"], map(parse_studies, trials.get("studies", [None] * len(trials))),
                       strict=True))
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
        tags = frozenset().union(*(studies[i] for i in ids))
        groups.append(ConfigGroup(arm, deviations, identity, tuple(sorted(ids)), tasks, tags))
    selection = Selection(tuple(groups), {}, reference, (), studies, {i: flat["task"] for i, flat in flats.items()})
    main = {}
    for group in selection.study("main"):
        if group.arm in main:
            raise ValueError(f"two configurations of arm {group.arm!r} are tagged 'main': "
                             f"{main[group.arm].label} and {group.label}; a table shows one")
        main[group.arm] = group
    untagged = sum(not tags for tags in studies.values())
    notes = (f"{untagged} trial(s) declare no study: listed among the configurations, in no table",) if untagged else ()
    return dataclasses.replace(selection, main=main, notes=notes)


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
    """The MDN fairness grid (study `mdn_grid`)."""
    return selection.study("mdn_grid", "mdn")


def matched_capacity(selection: Selection, arm: str) -> list[ConfigGroup]:
    """Configurations of `arm` in the study `matched_capacity`."""
    return selection.study("matched_capacity", arm)


def k_sweep(selection: Selection, arm: str = "mop") -> list[ConfigGroup]:
    """Configurations of `arm` in the study `k_sweep`, ordered by K."""
    return sorted(selection.study("k_sweep", arm), key=lambda g: g.value("K") or 0)
