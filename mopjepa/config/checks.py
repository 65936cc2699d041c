"""Validation helpers shared by every config dataclass: each error names the field, its value and what is allowed."""

from __future__ import annotations

import math
from typing import Any


class ConfigError(ValueError):
    """A config value or key that is not allowed; the message names the field and what is allowed."""


def check(condition: bool, name: str, value: Any, allowed: str) -> None:
    if not condition:
        raise ConfigError(f"config field {name!r} = {value!r} is not allowed: must be {allowed}")


INT64_MAX = 2**63 - 1
"""The largest seed: every seed is a column of int64 in the result rows."""


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        check(is_int(value) and value >= 1, name, value, "an int >= 1")


def seed_int(obj: Any, *names: str) -> None:
    """Seeds: ints in [0, 2**63 - 1] (what a result row's int64 column holds)."""
    for name in names:
        value = getattr(obj, name)
        check(is_int(value) and 0 <= value <= INT64_MAX, name, value, f"an int in [0, {INT64_MAX}] (int64)")


def positive_finite(obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        check(is_number(value) and value > 0 and math.isfinite(value), name, value, "a finite number > 0")


def non_negative(obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        check(is_number(value) and value >= 0 and math.isfinite(value), name, value, "a finite number >= 0")


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
