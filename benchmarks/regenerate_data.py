"""Regeneration of a 1M-step pointmaze dataset on 2 cores: seconds, absolute.

    python -m benchmarks.regenerate_data [--task pointmaze-medium-stitch-v0] [--workers 2] [--dataset-dir DIR]

`mopjepa.data.sources.regenerate_to_cache` into a temporary directory: OGBench's recipe for
pointmaze-medium-stitch-v0 is 5000 + 500 episodes of 201 steps (1.1M steps), worker processes
spawned, files written and hashed. When --dataset-dir holds the same regenerated dataset, the new
files must have the same sha256 (regeneration is bit-for-bit repeatable). Also printed, in the same
run: one worker's seconds per step against the bare env's (what bounds the figure) and the load average.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import DEFAULT_DATASET_DIR, figure, load_average, print_machine
from mopjepa.data.names import parse_dataset_name
from mopjepa.data.npzio import file_sha256
from mopjepa.data.sources import regenerate_to_cache, regenerated_paths

TARGET = 120.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="pointmaze-medium-stitch-v0")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dataset-dir", default=DEFAULT_DATASET_DIR, help="reference files to compare hashes with")
    return parser.parse_args()


def per_step_costs(task: str, episodes: int = 20) -> tuple[float, float]:
    """(seconds per recipe step in one worker, seconds per bare env step), same process, interleaved."""
    from mopjepa.data.regenerate import _generate_chunk
    from mopjepa.execute import cached_env

    name = parse_dataset_name(task)
    _generate_chunk((task, 0, [0]))
    env = cached_env(name.env_name)
    recipe, bare = [], []
    for round_ in range(3):
        start = time.perf_counter()
        _generate_chunk((task, 0, list(range(1 + round_ * episodes, 1 + (round_ + 1) * episodes))))
        recipe.append((time.perf_counter() - start) / (episodes * name.recipe()[1]))
        env.reset(seed=round_)
        actions = np.random.default_rng(round_).uniform(-1, 1, (2000, 2))
        start = time.perf_counter()
        for action in actions:
            if any(env.step(action)[2:4]):
                env.reset(seed=round_)
        bare.append((time.perf_counter() - start) / len(actions))
    return float(np.median(recipe)), float(np.median(bare))


def main() -> None:
    args = parse_args()
    print_machine()
    name = parse_dataset_name(args.task)
    episodes, steps_per_episode, _ = name.recipe()
    total_steps = (episodes + episodes // 10) * steps_per_episode
    directory = Path(tempfile.mkdtemp(prefix="mopjepa-regen-bench-"))
    try:
        start = time.perf_counter()
        train_path, val_path = regenerate_to_cache(name, directory, args.seed, workers=args.workers)
        seconds = time.perf_counter() - start
        load_after = load_average()
        reference = regenerated_paths(Path(args.dataset_dir).expanduser(), name.name, args.seed)[2]
        same = None
        if reference.exists():
            record = json.loads(reference.read_text())
            same = (record["train_sha256"], record["val_sha256"]) == (file_sha256(train_path), file_sha256(val_path))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    recipe_step, bare_step = per_step_costs(args.task)
    print(f"{args.task}: {total_steps} steps with {args.workers} workers in {seconds:.1f} s "
          f"({total_steps / seconds:.0f} steps/s; load after: {load_after}); identical to the cached files: {same}",
          flush=True)
    print(f"one worker: {recipe_step * 1e6:.1f} us per recipe step vs {bare_step * 1e6:.1f} us per bare env step "
          f"(ideal on {args.workers} cores: {total_steps * recipe_step / args.workers:.1f} s)", flush=True)
    if same is False:
        raise SystemExit("regenerated files differ from the cached ones: regeneration is not repeatable")
    figure(f"regenerate {args.task} ({total_steps / 1e6:.2f}M steps), {args.workers} workers (s)", seconds,
           f"<= {TARGET:.0f}", seconds <= TARGET)


if __name__ == "__main__":
    main()
