"""What a trial computes, as the flat keys its id is made of, stable as the configuration grows.

A trial's id is a hash of its flat config less the runtime keys (the fields marked RUNTIME in
mopjepa.config.components; mopjepa.results.trial_id). A key
added after the record began would change every earlier trial's id, so each added key comes with the
value every earlier trial had implicitly (the value that reproduces the old behaviour): at that value
the key stays out of the identity, and the ids of the committed record stand.
"""

from __future__ import annotations

from typing import Any

from mopjepa.config.components import RUNTIME_KEYS

ADDED_KEYS: dict[str, Any] = {"query_actions": "none", "fallback": "straight"}
"""Keys added after schema 3, each with the value every earlier trial had (out of the identity at it)."""

LEGACY_CONTEXT_ACTION: dict[Any, str] = {False: "none", True: "to_exit"}
"""context_action was a bool until schema 4: false is 'none', true the mean action to the next cell's
entry ('to_exit'). Old configs and manifests load through this map; the identity writes the bool back."""


def context_action_mode(value: Any) -> Any:
    """The mode of a context_action value: a legacy bool (or its text) becomes its mode; others pass."""
    if isinstance(value, bool):
        return LEGACY_CONTEXT_ACTION[value]
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return LEGACY_CONTEXT_ACTION[value.lower() == "true"]
    return value


def current_flat(flat: dict[str, Any]) -> dict[str, Any]:
    """A flat config as an older schema wrote it, in today's terms: context_action as its mode and the
    added keys at the value the trial had."""
    out = {**ADDED_KEYS, **flat}
    if "context_action" in out:
        out["context_action"] = context_action_mode(out["context_action"])
    return out


def identity(flat: dict[str, Any]) -> dict[str, Any]:
    """The flat keys a trial's id hashes: runtime keys and added keys at their old value left out."""
    out = {k: v for k, v in flat.items() if k not in RUNTIME_KEYS and not (k in ADDED_KEYS and v == ADDED_KEYS[k])}
    if "context_action" in out:
        legacy = {mode: bool_ for bool_, mode in LEGACY_CONTEXT_ACTION.items()}
        out["context_action"] = legacy.get(out["context_action"], out["context_action"])
    return out
