"""Small helpers shared by the entry points (they may read argv and the environment; the library may not)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.metadata
import json
import os
import platform
import sys
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from tqdm import tqdm

DEFAULT_DATASET_DIR = os.environ.get("OGBENCH_DATA_DIR", "~/.ogbench/data")
RECORDED_PACKAGES = ("torch", "numpy", "mujoco", "ogbench", "ray")
"""The packages whose versions every manifest and result row records (`environment`)."""


@contextlib.contextmanager
def tqdm_progress(description: str, unit: str) -> Iterator[Callable[[int, int], None]]:
    """A `progress(done, total)` callback drawing a tqdm bar that only appears once work starts.

    The bar starts at the first report's count (its rate counts from there, not from 0 in no time), and the last
    report is drawn once, by the bar's close."""
    bar: list[tqdm] = []

    def update(done: int, total: int) -> None:
        if not bar:  # drawn as it is made
            bar.append(tqdm(total=total, initial=done, desc=description, unit=unit, dynamic_ncols=True))
            return
        bar[0].n = done
        if done < total:
            bar[0].refresh()

    try:
        yield update
    finally:
        if bar:
            bar[0].close()


class Once(argparse.Action):
    """Store an option's value, refusing the option (or one of its aliases, `--dataset-dir` and `--dataset_dir`)
    given twice: argparse would silently keep the last one."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = getattr(namespace, "_given_options", {})
        if self.dest in given:
            parser.error(f"{given[self.dest]} and {option_string} both given: they are the same option "
                         f"({self.option_strings[0]}); give it once")
        namespace._given_options = {**given, self.dest: option_string}
        setattr(namespace, self.dest, values)


def output_directory(path: str | Path, option: str) -> Path:
    """`path` resolved, checked before any work: it must be a directory or not exist yet, and the nearest
    directory that exists must be writable; ConfigError otherwise (one line naming the option and the path)."""
    from mopjepa.config import ConfigError

    path = Path(path).expanduser().resolve()
    for existing in (path, *path.parents):
        if existing.exists():
            break
    if not existing.is_dir():
        what = "names a file" if existing == path else f"is under {str(existing)!r}, a file"
        raise ConfigError(f"{option} {str(path)!r} {what}: it must be a directory (it is created if missing)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {str(path)!r} cannot be written: {str(existing)!r} is not writable by this user")
    return path


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


def processor_model() -> str:
    """The processor's model name (/proc/cpuinfo), else what `platform` knows: regenerated data depends on it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


@functools.cache
def environment() -> dict[str, str]:
    """Where this process runs: python and the RECORDED_PACKAGES' versions, and the processor model."""
    versions = {"python": platform.python_version()}
    for package in RECORDED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "absent"
    return {**versions, "processor": processor_model()}


def with_environment(lineage: dict) -> dict:
    """A trial's lineage columns and the `environment` column (JSON) of the process that ran it."""
    return {**lineage, "environment": json.dumps(environment(), sort_keys=True)}


class ManifestError(ValueError):
    """manifest.json exists but cannot be read as the driver writes it."""


def read_manifest(path: Path) -> dict | None:
    """An experiment's manifest.json, or None when there is none; a corrupt one raises ManifestError naming it."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError(_corrupt(path, f"not readable as JSON: {error}")) from error
    trials = manifest.get("trials") if isinstance(manifest, dict) else None
    if not isinstance(trials, list) or not all(isinstance(t, dict) and isinstance(t.get("trial_id"), str)
                                               for t in trials):
        raise ManifestError(_corrupt(path, "'trials' is not a list of {'trial_id': ..., 'flat': {...}}"))
    for trial in trials:
        if (problem := _id_problem(trial)) is not None:
            raise ManifestError(_corrupt(path, problem))
    return manifest


def _id_problem(trial: dict) -> str | None:
    """Why a manifest entry's trial_id is not the id of its flat config (None when it is): an unknown id would
    plan a trial no run can write, and count other trials' results against the plan."""
    from mopjepa.config import ConfigError, TrialConfig
    from mopjepa.results import split_studies, trial_id

    flat = trial.get("flat")
    if not isinstance(flat, dict):
        return f"trial {trial['trial_id']!r} has no 'flat' config"
    try:
        expected = trial_id(TrialConfig.from_flat(split_studies(flat)[0]))
    except (ConfigError, TypeError) as error:
        return f"trial {trial['trial_id']!r} has an invalid flat config: {error}"
    if expected != trial["trial_id"]:
        return f"trial id {trial['trial_id']!r} is not the id of its flat config ({expected!r})"
    return None


def _corrupt(path: Path, reason: str) -> str:
    return (f"manifest {str(path)!r} is corrupt ({reason}); restore it, or move it aside "
            f"(mv {path} {path}.broken): the driver then writes it anew and the results are kept")


def interrupted(what: str) -> int:
    """One line for a Ctrl-C that stopped `what`, and the shell's exit code for SIGINT (130)."""
    print(f"interrupted by SIGINT: stopped {what}; run the same command again", file=sys.stderr, flush=True)
    return 130
