"""What every benchmark shares: the machine record, interleaved timing, and the figure line.

Every figure is a ratio measured inside one run: both sides run alternately (A B A B ...) and each
side's median is taken, so a burst of load from another process hits both sides alike. Absolute
figures (seconds) carry the load average seen during the run.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

DEFAULT_DATASET_DIR = os.environ.get("OGBENCH_DATA_DIR", "~/.ogbench/data")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def git_commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine() -> dict[str, str]:
    """CPU model, cores, library versions, load average and commit, for RESULTS.md."""
    versions = {}
    for name in ("torch", "ray", "numpy", "scipy", "mujoco"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = "absent"
    return {
        "cpu": cpu_model(),
        "cores": str(os.cpu_count()),
        **versions,
        "python": platform.python_version(),
        "load": load_average(),
        "commit": git_commit(),
    }


def print_machine(extra: dict[str, str] | None = None) -> None:
    info = machine() | (extra or {})
    print("machine: " + ", ".join(f"{key}={value}" for key, value in info.items()), flush=True)


def interleaved(sides: dict[str, Callable[[], float | None]], rounds: int) -> dict[str, list[float]]:
    """Call every side once per round, in turn; a side returns its own measurement (or None: the
    wall seconds of the call are used). Returns each side's measurements."""
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, side in sides.items():
            start = time.perf_counter()
            value = side()
            samples[name].append(time.perf_counter() - start if value is None else float(value))
    return samples


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    """'median [min-max]' for a log line."""
    return f"{median(values):.4g} [{min(values):.4g}-{max(values):.4g}]"


MARKS = (
    ("experiment ", "imports + manifest"),
    ("data ", "datasets prepared"),
    ("Started a local Ray instance", "Ray started"),
    ("[1/", "first trial done"),
    ("done: ", "Tune finished"),
)
"""Lines of pipelines/full_matrix.py's output that mark its phases (prefix or, for Ray's, a substring)."""


def run_stamped(command: list[str], env: dict[str, str] | None = None) -> tuple[float, list[tuple[float, str]]]:
    """Run `command` in the repository, stamping each output line with the seconds since the start;
    returns (wall seconds, [(stamp, line)]); an error with the output's tail if it fails."""
    lines: list[tuple[float, str]] = []
    start = time.perf_counter()
    with subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as process:
        for line in process.stdout:
            lines.append((time.perf_counter() - start, line.rstrip()))
    wall = time.perf_counter() - start
    if process.returncode != 0:
        tail = "\n".join(line for _, line in lines[-40:])
        raise RuntimeError(f"{' '.join(command)} failed with exit code {process.returncode}:\n{tail}")
    return wall, lines


def timeline(lines: list[tuple[float, str]], wall: float) -> str:
    """'imports + manifest +1.7 s, datasets prepared +0.7 s, ...': the gaps between full_matrix's phases."""
    marks, previous = [], 0.0
    for prefix, label in MARKS:
        stamps = [t for t, line in lines if line.startswith(prefix) or (prefix[0] != "[" and prefix in line)]
        if stamps:
            stamp = stamps[-1] if prefix == "data " else stamps[0]
            marks.append(f"{label} +{stamp - previous:.1f} s")
            previous = stamp
    marks.append(f"exit +{wall - previous:.1f} s")
    return ", ".join(marks)


def figure(name: str, value: float, target: str, passed: bool, detail: str = "") -> None:
    """The one line a benchmark ends with (copied into RESULTS.md)."""
    status = "PASS" if passed else "MISS"
    print(f"FIGURE {name}: {value:.4g} (target {target}) {status}" + (f"  -- {detail}" if detail else ""), flush=True)
