"""Per-seed values of a metric, their mean ± std over seeds, and the paired bootstrap CI.

Conventions: std is the sample standard deviation over seeds (ddof = 1; none with one seed).
Non-finite values (e.g. shuffle when the shuffled coverage is 0) are left out of the mean and std
and counted separately, so a cell says how many seeds it rests on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mopjepa.analysis.paper import MISSING

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


def per_seed(metrics: pd.DataFrame, trial_ids, task: str, metric: str, key: str = "") -> pd.Series:
    """seed -> value of one metric for the given trials on one task (empty if none has it).

    Two trials of one configuration with the same seed and task would make the value ambiguous:
    that is an error naming them."""
    rows = metrics[
        metrics["trial_id"].isin(list(trial_ids))
        & (metrics["task"] == task)
        & (metrics["metric"] == metric)
        & (metrics["key"] == key)
    ]
    duplicated = rows["seed"].duplicated(keep=False)
    if duplicated.any():
        clash = rows[duplicated][["seed", "trial_id"]].drop_duplicates().to_dict("records")
        raise ValueError(f"{metric}[{key!r}] on {task}: several trials of one configuration share a seed: {clash}")
    return pd.Series(rows["value"].to_numpy(dtype=float), index=rows["seed"].astype(int).to_numpy()).sort_index()


@dataclass(frozen=True)
class Summary:
    """A metric over seeds."""

    values: pd.Series
    """seed -> value (non-finite values included)."""

    @property
    def finite(self) -> np.ndarray:
        array = self.values.to_numpy(dtype=float)
        return array[np.isfinite(array)]

    @property
    def n(self) -> int:
        return len(self.finite)

    @property
    def mean(self) -> float:
        return float(np.mean(self.finite)) if self.n else math.nan

    @property
    def std(self) -> float:
        return float(np.std(self.finite, ddof=1)) if self.n >= 2 else math.nan

    @property
    def nonfinite(self) -> int:
        return len(self.values) - self.n

    def cell(self, digits: int = 3) -> str:
        """'0.851 ± 0.080 (n=5)', '0.851 (n=1)', '— (n=0; 1 non-finite)' or '—'."""
        if len(self.values) == 0:
            return MISSING
        extra = f"; {self.nonfinite} non-finite" if self.nonfinite else ""
        if self.n == 0:
            return f"{MISSING} (n=0{extra})"
        text = f"{self.mean:.{digits}f}"
        if self.n >= 2:
            text += f" ± {self.std:.{digits}f}"
        return f"{text} (n={self.n}{extra})"


def summarize(metrics: pd.DataFrame, trial_ids, task: str, metric: str, key: str = "") -> Summary:
    return Summary(per_seed(metrics, trial_ids, task, metric, key))


@dataclass(frozen=True)
class PairedDifference:
    """mean over seeds of (a - b), paired by seed, with its bootstrap CI."""

    seeds: tuple[int, ...]
    differences: np.ndarray
    low: float
    high: float
    level: float

    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def mean(self) -> float:
        return float(np.mean(self.differences)) if self.n else math.nan

    def cell(self, digits: int = 3) -> str:
        """'+0.113 [0.060, 0.180] (n=5)'; without a CI below two seeds."""
        if self.n == 0:
            return MISSING
        if self.n == 1:
            return f"{self.mean:+.{digits}f} (n=1, no CI)"
        return f"{self.mean:+.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}] (n={self.n})"


def paired_bootstrap(
    a: pd.Series, b: pd.Series, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED, level: float = 0.95
) -> PairedDifference:
    """Percentile bootstrap of the mean paired difference a - b over the seeds both have (finite).

    Resamples seeds with replacement: rng = default_rng(seed); indices = rng.integers(0, n, (resamples, n));
    the CI is the (1-level)/2 and (1+level)/2 quantiles of the resampled means."""
    common = sorted(set(a.index) & set(b.index))
    differences = np.array([a[s] - b[s] for s in common], dtype=float)
    keep = np.isfinite(differences)
    seeds = tuple(int(s) for s, k in zip(common, keep, strict=True) if k)
    differences = differences[keep]
    if len(differences) < 2:
        return PairedDifference(seeds, differences, math.nan, math.nan, level)
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, len(differences), size=(resamples, len(differences)))
    means = differences[indices].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return PairedDifference(seeds, differences, float(low), float(high), level)
