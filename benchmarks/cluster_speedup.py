"""Speed-up of a local 2-node Ray cluster over 1 node: the same custom matrix, wall time of each.

    python -m benchmarks.cluster_speedup [--dataset-dir DIR] [--trials 6] [--steps 2000] [--rounds 1]

Two `ray start` nodes on this machine, one CPU each (a head, then a worker node joining it), each
with its own --temp-dir and ports; they are stopped by process id at the end (tests/local_ray.py),
never with `ray stop`, which would end every Ray on the machine. The driver is
`pipelines/full_matrix.py --trials-file` connecting through RAY_ADDRESS (token auth:
RAY_AUTH_MODE=token), run with the head alone (1 node, 1 CPU: one trial at a time), then with the
worker node added (2 nodes); --rounds > 1 repeats the pair with the worker node stopped in between.
Trials: mop K=4 at default sizes on pointmaze-medium-stitch-v0, seeds 0.., --steps steps and one
episode per task each (about 20-40 s). Figure: median 1-node wall / median 2-node wall.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.common import DEFAULT_DATASET_DIR, figure, load_average, median, print_machine, run_stamped, timeline
from tests.local_ray import add_node, ray_env, start_head, stop_nodes

REPO = Path(__file__).resolve().parents[1]

TARGET = 1.8


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset-dir", default=DEFAULT_DATASET_DIR)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=1)
    return parser.parse_args()


def run_matrix(trials_file: Path, storage: Path, name: str, address: str, dataset_dir: str) -> dict[str, float | str]:
    """The driver's wall seconds and phases, and the trials' summed trial_wall and trial_cpu seconds."""
    from mopjepa.results import read_table

    command = [sys.executable, str(REPO / "pipelines" / "full_matrix.py"), "--trials-file", str(trials_file),
               "--name", name, "--storage", str(storage), "--dataset-dir", str(dataset_dir), "--no-download"]
    wall, lines = run_stamped(command, env=ray_env(RAY_ADDRESS=address))
    frame = read_table(storage / name / "results", "metrics")
    seconds = frame[frame.metric == "seconds"].groupby("key").value.sum()
    return {"wall": wall, "trial_wall": float(seconds["trial_wall"]), "trial_cpu": float(seconds["trial_cpu"]),
            "timeline": timeline(lines, wall)}


def main() -> None:
    args = parse_args()
    print_machine()
    workdir = Path(tempfile.mkdtemp(prefix="mopjepa-cluster-bench-"))
    temp_dir = workdir / "ray"
    trials = [{"task": "pointmaze-medium-stitch-v0", "arm": "mop", "K": 4, "seed": seed, "steps": args.steps,
               "episodes_per_task": 1} for seed in range(args.trials)]
    trials_file = workdir / "matrix.json"
    trials_file.write_text(json.dumps(trials))
    walls: dict[int, list[float]] = {1: [], 2: []}
    try:
        address, _ = start_head(temp_dir, num_cpus=1)
        for round_ in range(args.rounds):
            for nodes in (1, 2):
                worker = add_node(temp_dir, address, num_cpus=1) if nodes == 2 else None
                run = run_matrix(trials_file, workdir / "store", f"r{round_}-n{nodes}", address, args.dataset_dir)
                walls[nodes].append(run["wall"])
                print(f"round {round_}: {nodes} node(s): wall {run['wall']:.1f} s; trials: wall "
                      f"{run['trial_wall']:.1f} s ({run['trial_wall'] / nodes:.1f} s per node), cpu "
                      f"{run['trial_cpu']:.1f} s; load {load_average()}", flush=True)
                print(f"  driver: {run['timeline']}", flush=True)
                if worker is not None:
                    stop_nodes(temp_dir, marker=f"--node_manager_port={worker}")
    finally:
        stopped = stop_nodes(temp_dir)
        shutil.rmtree(workdir, ignore_errors=True)
        print(f"stopped {stopped} processes of the local cluster", flush=True)
    speedup = median(walls[1]) / median(walls[2])
    figure(f"2-node / 1-node speed-up, {args.trials} trials of {args.steps} steps", speedup, f">= {TARGET}",
           speedup >= TARGET, f"{median(walls[1]):.1f} s / {median(walls[2]):.1f} s")
    print_machine({"after": "yes"})


if __name__ == "__main__":
    main()
