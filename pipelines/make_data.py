"""Prepare an OGBench locomaze dataset: official file, download, or offline regeneration.

python pipelines/make_data.py pointmaze-medium-stitch-v0 [--dataset-dir DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mopjepa.data import DataError, build_cell_data, load_task_data
from mopjepa.data.cells import successor_modes_given_context
from pipelines.common import DEFAULT_DATASET_DIR, Once, interrupted, tqdm_progress


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", help="OGBench locomaze dataset name, e.g. pointmaze-medium-stitch-v0")
    parser.add_argument("--dataset-dir", "--dataset_dir", action=Once, default=DEFAULT_DATASET_DIR,
                        help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=0, help="regeneration seed (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=0, help="regeneration processes (0: all cores)")
    parser.add_argument("--no-download", action="store_true", help="never try OGBench's download server")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    try:
        with tqdm_progress(f"regenerating {args.dataset}", unit="episode") as progress:
            data = load_task_data(
                args.dataset,
                Path(args.dataset_dir).expanduser(),
                data_seed=args.seed,
                download=not args.no_download,
                workers=args.workers,
                progress=progress,
            )
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return interrupted(f"preparing {args.dataset} (its workers ended; no partial data file was kept)")
    elapsed = time.perf_counter() - start
    cells = build_cell_data(data, holdout_fraction=0.0, mode_threshold=0.05, rng=None)
    print(f"dataset      {data.name.name}")
    print(f"source       {data.data_source}  ({data.train_path})")
    print(f"data_hash    {data.data_hash}")
    print(f"steps        train {len(data.train.observations):,}  val {len(data.val.observations):,}")
    print(f"cells        {cells.num_cells} free, {int(cells.truth.sum())} real transitions")
    print(f"examples     {len(cells.examples):,}")
    print(f"modes/cell   {cells.mean_successor_modes():.2f} successor modes per visited cell")
    given = {mode: successor_modes_given_context(cells.examples, mode, cells.num_cells, cells.mode_threshold)
             for mode in ("none", "step", "to_exit")}
    print("given        " + ", ".join(f"{mode} {modes:.2f}" for mode, modes in given.items())
          + " modes per (cell, compass-8 sector of the context's action), groups of >= 20 examples")
    print(f"time         {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
