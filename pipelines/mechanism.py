"""The controlled branch sweep (Fig. 4 middle): arms x M successor modes x seeds on a generated task.

    python pipelines/mechanism.py --out DIR [--modes 1,2,3,4,6,8] [--arms dense,mdn,mop] [--seeds 3] \
        [--workers 2] [--steps N] [--K 8 --mode-sigma 0.1 ...any config key]

Each trial runs through mopjepa.experiment.run, like any trial: one arm trained with the ordinary
WorldModel + BatchSampler + train loop on the generated task of mopjepa.mechanism. It writes
long-form rows (metric, key = M, value, + lineage and flat config) to
OUT/results/mechanism/ and its loss curve to OUT/results/training/. Config keys apply to the arms
that have them; a maze trial's key (config.MAZE_KEYS: --plan-graph, --holdout-fraction, ...) is an error.
Needs no Ray and no tracking server. The same trials are the `mechanism` preset.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from mopjepa.config import BRANCH_SWEEP_TASK, MAZE_KEYS, ConfigError, TrialConfig
from mopjepa.results import Lineage, split_studies, trial_id, write_trial_tables
from pipelines.common import git_commit, parse_config_overrides, with_environment
from tune_spaces import mechanism as sweep


def branch_sweep_tables(flat: dict, commit: str = "unknown", studies: tuple[str, ...] = ()) -> tuple[dict, dict]:
    """Run one branch-sweep trial through the one entry point (mopjepa.experiment.run, on the config's
    `threads`): (its tables {"training", "mechanism"}, the lineage columns)."""
    from mopjepa.experiment import run

    cfg = TrialConfig.from_flat(flat)
    output = run(cfg)
    lineage = Lineage(trial_id(cfg), "mechanism", output.data_source, output.data_hash, commit, studies)
    return output.tables, with_environment(lineage.columns(cfg))


def run_one(entry: dict, root: Path, commit: str = "unknown") -> list[dict]:
    """Run one planned branch-sweep trial (flat config + studies) and write its tables under `root`;
    returns its rows."""
    flat, studies = split_studies(entry)
    tables, lineage = branch_sweep_tables(flat, commit, studies)
    write_trial_tables(root, tables, lineage)
    return [{**row, "arm": lineage["arm"], "seed": lineage["seed"]} for row in tables["mechanism"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="results/mechanism", help="output directory (default: %(default)s)")
    parser.add_argument("--modes", default=",".join(map(str, sweep.MODES)), help="M values (default: %(default)s)")
    parser.add_argument("--arms", default="dense,mdn,mop", help="arms (default: %(default)s)")
    parser.add_argument("--seeds", type=int, default=len(sweep.SEEDS), help="seeds 0..N-1 (default: %(default)s)")
    parser.add_argument("--steps", type=int, help=f"training steps (default: {sweep.BUDGET['steps']})")
    parser.add_argument("--workers", type=int, default=1,
                        help="parallel trials, each on its config's --threads (default: 1)")
    args, extra = parser.parse_known_args(argv)
    try:
        modes = [int(m) for m in args.modes.split(",") if m]
        arms = [a for a in args.arms.split(",") if a]
        overrides = parse_config_overrides(None, extra)
        for key, flag in (("num_modes", "--modes"), ("arm", "--arms"), ("seed", "--seeds"), ("task", None)):
            if key in overrides:
                raise ConfigError(f"--{key} is set by the sweep" + (f"; use {flag}" if flag else ""))
        if maze := sorted(overrides.keys() & MAZE_KEYS):
            raise ConfigError(f"--{maze[0]} is a maze trial's key: a branch-sweep trial never reads it")
        if args.steps is not None:
            overrides["steps"] = args.steps
        trials = sweep.trials(arms, modes, range(args.seeds), **overrides)
        for entry in trials:
            TrialConfig.from_flat(split_studies(entry)[0])  # every trial is valid before any work starts
    except (ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    root = Path(args.out).expanduser().resolve() / "results"
    commit = git_commit()
    print(f"{len(trials)} branch-sweep trials ({BRANCH_SWEEP_TASK}): arms {arms}, M {modes}, {args.seeds} seed(s)")
    rows: list[dict] = []
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            futures = [pool.submit(run_one, flat, root, commit) for flat in trials]
            for done, future in enumerate(futures, 1):
                rows += future.result()
                print(f"  {done}/{len(trials)} trials done", flush=True)
    else:
        for done, flat in enumerate(trials, 1):
            rows += run_one(flat, root, commit)
            print(f"  {done}/{len(trials)}: {flat['arm']} M={flat['num_modes']} seed {flat['seed']}", flush=True)
    print_coverage(rows)
    print(f"results: {root}")
    return 0


def print_coverage(rows: list[dict]) -> None:
    """Gated mode coverage by arm (rows) and M (columns): mean +- std over seeds."""
    frame = pd.DataFrame(rows)
    frame = frame[frame.metric == "coverage"].assign(M=lambda f: f.key.astype(int))
    stats = frame.groupby(["arm", "M"]).value.agg(["mean", "std"]).fillna(0.0)
    table = stats.apply(lambda r: f"{r['mean']:.2f}±{r['std']:.2f}", axis=1).unstack("M")
    print("coverage (gated) by M:")
    print(table.to_string())


if __name__ == "__main__":
    raise SystemExit(main())
