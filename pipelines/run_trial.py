"""One trial of any kind: train one arm on one task and measure it (a maze: propose its graph blind,
evaluate it, execute it; the branch sweep's generated task: its mode coverage), and print every metric.

    python pipelines/run_trial.py --task pointmaze-medium-stitch-v0 --arm mop --seed 0 \
        [--steps N] [--dataset-dir DIR] [--out DIR] [--K 8 --lam-route 1.0 ...any config key]

Writes the trial's Parquet tables under OUT/results/ (metrics in long form, edges, episodes, training,
outputs, beliefs) and its checkpoint under OUT/trials/<trial_id>/. Needs no Ray cluster and no tracking
server; prepares the dataset if it is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mopjepa.config import ConfigError, TrialConfig
from mopjepa.data import DataError, prepare_data
from mopjepa.experiment import TrialHooks, run
from mopjepa.model.device import resolve_device
from mopjepa.results import Lineage, trial_id, write_trial_tables
from pipelines.common import (
    DEFAULT_DATASET_DIR,
    Once,
    git_commit,
    interrupted,
    output_directory,
    parse_config_overrides,
    print_summary,
    tqdm_progress,
    with_environment,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="pointmaze-medium-stitch-v0", help="OGBench dataset (default: %(default)s)")
    parser.add_argument("--arm", default="mop", help="predictor arm (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, help="training steps (default: the config's)")
    parser.add_argument("--dataset-dir", "--dataset_dir", action=Once, default=DEFAULT_DATASET_DIR,
                        help="default: %(default)s")
    parser.add_argument("--out", default="results/single", help="output directory (default: %(default)s)")
    parser.add_argument("--no-download", "--no_download", action="store_true",
                        help="never try OGBench's download server")
    args, extra = parser.parse_known_args(argv)

    try:
        overrides = parse_config_overrides(args.arm, extra)
        for key, option in (("download", "--no-download"), ("dataset_dir", "--dataset-dir")):
            if key in overrides:
                raise ConfigError(f"--{key} is set by {option}; give it once, as {option}")
        flat = {"task": args.task, "arm": args.arm, "seed": args.seed, **overrides}
        if args.steps is not None:
            flat["steps"] = args.steps
        flat.update(dataset_dir=str(Path(args.dataset_dir).expanduser()), download=not args.no_download)
        cfg = TrialConfig.from_flat(flat)
        resolve_device(cfg.train.device)  # 'cuda' where none is visible fails here, before any work
        out = output_directory(args.out, "--out")
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    identity = trial_id(cfg)
    try:
        with tqdm_progress(f"preparing {cfg.data.task}", unit="episode") as progress:
            data = prepare_data(cfg, progress)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return interrupted(f"preparing {cfg.data.task} (its workers ended; no partial data file was kept)")
    source = f"{data.data_source} data {data.data_hash[:12]}" if data is not None else "generated data"
    print(f"trial {identity}: {cfg.arm} on {cfg.data.task}, seed {cfg.seed}, {cfg.train.steps} steps ({source})")
    try:
        with tqdm_progress("training", unit="step") as progress:
            hooks = TrialHooks(on_train_metrics=lambda step, _: progress(step, cfg.train.steps))
            output = run(cfg, hooks, workdir=out / "trials" / identity, data=data)
    except DataError as error:  # e.g. observations outside the maze's free cells
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return interrupted(f"trial {identity} (no result table was written)")
    lineage = with_environment(Lineage(identity, "single", output.data_source, output.data_hash,
                                       git_commit()).columns(cfg))
    write_trial_tables(out / "results", output.tables, lineage)
    print_summary(output.rows)
    print(f"results: {out / 'results'}" + (f"  checkpoint: {output.checkpoint}" if output.checkpoint else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
