"""Audit any world model with the verification protocol, blind, and print every metric.

    python pipelines/audit.py --task pointmaze-teleport-navigate-v0 --model examples.tabular_model:factory \
        [--seed 0] [--dataset-dir DIR] [--out DIR] [--name NAME] [--no-download] \
        [--gate-factor 0.5 --holdout-fraction 0.2 ...any data/graph config key]

`--model package.module:factory` names a function called with no arguments that returns
(encode, successors) or (encode, successors, rollout), numpy in and out (see mopjepa.audit). Before
the call this CLI exports MOPJEPA_AUDIT_TASK, MOPJEPA_AUDIT_DATASET_DIR and MOPJEPA_AUDIT_SEED so a
factory can load the same data. Writes the same Parquet tables as run_trial (metrics with the same
names, edges, outputs, beliefs) under OUT/results/, partitioned by task and arm = NAME (default:
the factory's dotted path). Needs no Ray and no tracking server.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib
import json
import os
import re
import sys
from pathlib import Path

from mopjepa.audit import ModelOutputError, audit
from mopjepa.config import (
    PREDICTOR_CONFIGS,
    ConfigError,
    DataConfig,
    GraphConfig,
    TrainConfig,
)
from mopjepa.config.checks import seed_int
from mopjepa.data import DataError, load_task_data
from mopjepa.results import Lineage, write_trial_tables
from mopjepa.seeding import torch_threads
from pipelines.common import (
    DEFAULT_DATASET_DIR,
    Once,
    git_commit,
    output_directory,
    parse_config_overrides,
    print_summary,
    tqdm_progress,
    with_environment,
)

CONFIG_KEYS = ("holdout_fraction", "mode_threshold", "data_seed", "threads", "context_action",
               *(field.name for field in dataclasses.fields(GraphConfig)))
"""The config keys an audit has: how cells are cut, how the graph is gated (query_actions: the action set
an action-conditioned model is queried with; context_action: whose train-split actions, 'step' by default,
scale it), and torch's intra-op threads while the model runs (TrainConfig.threads, default 1: a torch
model's answers depend on it)."""


NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]+")


class ModelSpecError(ValueError):
    """--model does not name an importable factory returning model functions."""


def load_factory(spec: str):
    """The callable named by 'package.module:factory' (the working directory is importable)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ModelSpecError(f"--model must be 'package.module:factory'; got {spec!r}")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ModelSpecError(f"--model {spec!r}: cannot import {module_name!r} ({error})") from error
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ModelSpecError(f"--model {spec!r}: {module_name} has no callable {attribute!r}")
    return factory


def parse_config(extra: list[str]) -> dict:
    """`--gate-factor 0.25` -> {"gate_factor": 0.25}: the CLIs' one override parser, CONFIG_KEYS only."""
    return parse_config_overrides(None, extra, CONFIG_KEYS)


def _fields_of(config_type: type, config: dict) -> dict:
    names = {field.name for field in dataclasses.fields(config_type)}
    return {key: value for key, value in config.items() if key in names}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", required=True, help="OGBench dataset, e.g. pointmaze-teleport-navigate-v0")
    parser.add_argument("--model", required=True, help="package.module:factory")
    parser.add_argument("--seed", type=int, default=0, help="hold-out split and shuffle test (default: 0)")
    parser.add_argument("--dataset-dir", "--dataset_dir", action=Once, default=DEFAULT_DATASET_DIR,
                        help="default: %(default)s")
    parser.add_argument("--out", default="results/audit", help="output directory (default: %(default)s)")
    parser.add_argument("--name", help="the `arm` column of the results (default: the factory's dotted path); "
                        "letters, digits, '.', '_' and '-'")
    parser.add_argument("--no-download", "--no_download", action="store_true",
                        help="never try OGBench's download server")
    args, extra = parser.parse_known_args(argv)
    name = args.name or args.model.replace(":", ".")
    try:
        if not NAME_PATTERN.fullmatch(name) or set(name) == {"."}:
            raise ConfigError(f"--name {name!r} is not allowed: it names a results directory (arm={name}), so use "
                              "letters, digits, '.', '_' and '-' only, not a path")
        config = parse_config(extra)
        if name in PREDICTOR_CONFIGS:
            raise ConfigError(f"--name {name!r} is a registered arm; an audited model needs a name of its own")
        data = DataConfig(task=args.task, dataset_dir=str(Path(args.dataset_dir).expanduser()),
                          download=not args.no_download, **_fields_of(DataConfig, config))
        graph = GraphConfig(**_fields_of(GraphConfig, config))
        seed_int(args, "seed")
        out = output_directory(args.out, "--out") / "results"
        with tqdm_progress(f"preparing {data.task}", unit="episode") as progress:
            task = load_task_data(data.task, data.dataset_dir, data.data_seed, data.download, progress=progress)
        threads = TrainConfig(threads=config.get("threads", TrainConfig.threads)).threads  # validated
        os.environ.update(MOPJEPA_AUDIT_TASK=data.task, MOPJEPA_AUDIT_DATASET_DIR=data.dataset_dir,
                          MOPJEPA_AUDIT_SEED=str(args.seed))
        with torch_threads(threads):
            model = load_factory(args.model)()
            scale_from = data.context_action if data.action_in_context else "step"  # the compass's action norm
            report = audit(task, model, graph, args.seed, data.holdout_fraction, data.mode_threshold, scale_from)
    except (ConfigError, DataError, ModelSpecError, ModelOutputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    flat = {"arm": name, "seed": args.seed, "task": data.task, "model": args.model, "data_seed": data.data_seed,
            "holdout_fraction": data.holdout_fraction, "mode_threshold": data.mode_threshold, "threads": threads,
            **dataclasses.asdict(graph)}
    identity = hashlib.sha256(json.dumps(flat, sort_keys=True).encode()).hexdigest()[:12]
    lineage = Lineage(identity, "audit", task.data_source, task.data_hash, git_commit())
    lineage = with_environment(lineage.columns_of_flat(flat, data.task))
    tables = {"edges": report.edges, "outputs": report.outputs, "beliefs": report.beliefs, "metrics": report.metrics}
    write_trial_tables(out, tables, lineage)
    print(f"audit {identity}: {args.model} on {data.task}, seed {args.seed} ({task.data_source} data "
          f"{task.data_hash[:12]}); K = {report.blind.num_outputs}, two steps by {report.queries.two_step_source}")
    print_summary(report.metrics)
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
