"""All-pairs graph metrics: blind graph proposal + the whole protocol report, seconds per call.

    python -m benchmarks.graph_metrics [--dataset-dir DIR] [--repeats 50]

`mopjepa.graph.propose_graph` + `mopjepa.evaluate.metric_report` (plan_all, realroute and
realroute_by_dist all-pairs on the gated and raw graphs, coverage, 10 shuffle permutations) on
oracle-like outputs (tests/stand_ins.py: every cell emits its true successor modes with their
frequencies, K = 16) for each main maze. Figure: the median on the largest main maze (by cells).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.common import DEFAULT_DATASET_DIR, figure, median, print_machine, spread
from mopjepa.config import GraphConfig
from mopjepa.data import build_cell_data, load_task_data
from mopjepa.evaluate import Truth, metric_report
from mopjepa.graph import propose_graph
from tests.stand_ins import oracle_outputs

TARGET = 0.1
TASKS = ("pointmaze-medium-stitch-v0", "pointmaze-teleport-navigate-v0", "pointmaze-large-stitch-v0")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset-dir", default=DEFAULT_DATASET_DIR)
    parser.add_argument("--repeats", type=int, default=50)
    return parser.parse_args()


def seconds_per_report(task_name: str, dataset_dir: str, repeats: int) -> tuple[int, int, list[float]]:
    cells = build_cell_data(load_task_data(task_name, dataset_dir, download=False), 0.2, 0.05,
                            np.random.default_rng(0))
    latents, weights, reference = oracle_outputs(cells.successor_modes, cells.successor_counts, 16)
    truth, config = Truth.from_cell_data(cells), GraphConfig()
    samples = []
    for repeat in range(repeats + 1):
        start = time.perf_counter()
        blind = propose_graph(latents, weights, reference, config)
        rows = metric_report(blind, truth, config, np.random.default_rng(repeat))
        if repeat:  # the first call warms caches
            samples.append(time.perf_counter() - start)
    return cells.num_cells, len(rows), samples


def main() -> None:
    args = parse_args()
    print_machine()
    results = {}
    for task in TASKS:
        num_cells, num_rows, samples = seconds_per_report(task, args.dataset_dir, args.repeats)
        results[task] = (num_cells, samples)
        print(f"{task}: {num_cells} cells, {num_rows} metric rows, {spread([s * 1e3 for s in samples])} ms", flush=True)
    largest = max(results, key=lambda task: results[task][0])
    seconds = median(results[largest][1])
    figure(f"graph proposal + all metrics, {largest} (s)", seconds, f"< {TARGET}", seconds < TARGET)


if __name__ == "__main__":
    main()
