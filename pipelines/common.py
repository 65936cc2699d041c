"""Small helpers shared by the entry points (they may read argv and the environment; the library may not)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Collection, Iterator

from tqdm import tqdm

DEFAULT_DATASET_DIR = os.environ.get("OGBENCH_DATA_DIR", "~/.ogbench/data")


@contextlib.contextmanager
def tqdm_progress(description: str, unit: str) -> Iterator[Callable[[int, int], None]]:
    """A `progress(done, total)` callback drawing a tqdm bar that only appears once work starts."""
    bar: list[tqdm] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc=description, unit=unit, dynamic_ncols=True))
        bar[0].n = done
        bar[0].refresh()

    try:
        yield update
    finally:
        if bar:
            bar[0].close()


def git_commit() -> str:
    """The repository's HEAD (+ '-dirty' with uncommitted changes), MOPJEPA_GIT_COMMIT, or 'unknown'."""
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return os.environ.get("MOPJEPA_GIT_COMMIT", "unknown")


def parse_config_overrides(arm: str | None, extra: list[str], allowed: Collection[str] | None = None) -> dict:
    """`--K 8 --lam-route 0.5` (or `--lam_route=0.5`) -> typed flat config keys for `arm` (any arm: None),
    only the `allowed` ones when given: the one command-line override parser of every CLI."""
    from mopjepa.config import ConfigError, coerce

    overrides, index = {}, 0
    while index < len(extra):
        token = extra[index]
        if not token.startswith("--"):
            raise ConfigError(f"unexpected argument {token!r}; config keys are given as --key value")
        key, _, value = token[2:].partition("=")
        key = key.replace("-", "_")
        if allowed is not None and key not in allowed:
            raise ConfigError(f"unknown argument {token.partition('=')[0]!r}; allowed: --key value for "
                              f"{sorted(allowed)}")
        if not value:
            if index + 1 >= len(extra):
                raise ConfigError(f"--{key} needs a value")
            index += 1
            value = extra[index]
        overrides[key] = coerce(arm, key, value)
        index += 1
    return overrides


def print_summary(metrics: list[dict]) -> None:
    """The headline metrics of one trial, one line each (per-key metrics on one line)."""
    from mopjepa.evaluate.headline import HEADLINE

    by_metric: dict[str, list[tuple[str, float]]] = {}
    for row in metrics:
        by_metric.setdefault(row["metric"], []).append((row["key"], row["value"]))
    for name in HEADLINE:
        if name not in by_metric:
            continue
        values = "  ".join(f"{key + '=' if key else ''}{value:.3f}" for key, value in by_metric[name])
        print(f"  {name:<22} {values}")
