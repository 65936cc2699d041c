"""Matrix efficiency: the driver's whole wall time over the trials' CPU-seconds spread over the CPUs.

    python -m benchmarks.matrix_efficiency [--preset smoke quick] [--dataset-dir DIR] [--cpus 2]

Runs `pipelines/full_matrix.py --preset P --local-cpus CPUS --no-download` into a temporary
--storage, timing the whole process (Python start to exit). Every trial records `seconds` rows
`trial_cpu` (process CPU-seconds of the trial, data loading included) and `trial_wall` in its Parquet
metrics table. Figure: wall / (sum of trial_cpu / CPUS); 1.0 = no overhead and perfect packing.

Also printed, from the driver's own output lines stamped as they arrive and Tune's per-trial
results: where the rest of the wall time went (start-up, datasets, Ray, the Tune run, shut-down) and
each trial's time outside `trial_wall` (imports in a fresh worker, MLflow, Parquet, Tune).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.common import DEFAULT_DATASET_DIR, figure, print_machine, run_stamped, timeline

REPO = Path(__file__).resolve().parents[1]

TARGET = 1.15
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", nargs="+", default=["smoke"])
    parser.add_argument("--trials-file", type=Path, help="a custom matrix instead of --preset")
    parser.add_argument("--dataset-dir", default=DEFAULT_DATASET_DIR)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary experiment directory")
    parser.add_argument("extra", nargs="*", help="more full_matrix.py arguments (after --)")
    return parser.parse_args()


def run_matrix(selection: list[str], storage: Path, args: argparse.Namespace) -> tuple[float, list[tuple[float, str]]]:
    command = [sys.executable, str(REPO / "pipelines" / "full_matrix.py"), *selection, "--storage", str(storage),
               "--dataset-dir", str(args.dataset_dir), "--no-download", "--local-cpus", str(args.cpus), *args.extra]
    return run_stamped(command)


def trial_overheads(experiment: Path, walls: dict[str, float]) -> list[float]:
    """Per trial: Tune's time_total_s (the trainable's whole call) minus the trial's own trial_wall."""
    out = []
    for result in sorted((experiment / "tune").glob("*/result.json")):
        row = json.loads(result.read_text().splitlines()[-1])
        identity = result.parent.name.rsplit("-", 1)[-1]
        if identity in walls:
            out.append(row["time_total_s"] - walls[identity])
    return out


def measure(selection: list[str], name: str, args: argparse.Namespace) -> float:
    from mopjepa.results import read_table

    storage = Path(tempfile.mkdtemp(prefix="mopjepa-matrix-bench-"))
    try:
        wall, lines = run_matrix(selection, storage, args)
        experiment = next(p for p in storage.iterdir() if (p / "manifest.json").exists())
        frame = read_table(experiment / "results", "metrics")
        seconds = frame[frame.metric == "seconds"].pivot_table(index="trial_id", columns="key", values="value")
        cpu, trial_wall = float(seconds["trial_cpu"].sum()), float(seconds["trial_wall"].sum())
        ideal = cpu / args.cpus
        ratio = wall / ideal
        stages = ", ".join(f"{k} {seconds[k].sum():.1f}" for k in seconds.columns if not k.startswith("trial_"))
        overheads = trial_overheads(experiment, seconds["trial_wall"].to_dict())
        print(f"{name}: {len(seconds)} trials, wall {wall:.1f} s; trials: cpu {cpu:.1f} s, wall {trial_wall:.1f} s "
              f"(stages: {stages}); ideal {ideal:.1f} s on {args.cpus} CPUs", flush=True)
        print(f"  timeline: {timeline(lines, wall)}", flush=True)
        if overheads:
            print(f"  per trial outside trial_wall (worker imports, MLflow, Parquet): first "
                  f"{max(overheads):.2f} s, median {sorted(overheads)[len(overheads) // 2]:.2f} s, "
                  f"sum {sum(overheads):.1f} s", flush=True)
        figure(f"matrix wall / (trial CPU-s / CPUs), {name}", ratio, f"<= {TARGET}", ratio <= TARGET,
               f"{wall:.1f} s / ({cpu:.1f} s / {args.cpus})")
        if args.keep:
            print(f"  kept {experiment}")
        return ratio
    finally:
        if not args.keep:
            shutil.rmtree(storage, ignore_errors=True)


def main() -> None:
    args = parse_args()
    print_machine()
    if args.trials_file:
        measure(["--trials-file", str(args.trials_file.resolve())], args.trials_file.stem, args)
        return
    for preset in args.preset:
        measure(["--preset", preset], preset, args)
    print_machine({"after": "yes"})


if __name__ == "__main__":
    main()
