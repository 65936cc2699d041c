"""What the `curves` cost: the protocol's metrics every eval_every steps, as a fraction of training time.

    python -m benchmarks.curves_cost [--dataset-dir DIR] [--arms dense mop] [--rounds 5]

A default trial (20k steps, eval_every 0 = steps // 10) pauses 9 times to query every cell, propose
the blind graph and compute every protocol metric (no execution); the final evaluation is the trial's
own. Per task and arm at the default sizes, one thread: a training step's median time and one
evaluation's median time, interleaved (step block, evaluation, step block, ...), give
cost = 9 x evaluation / (20000 x step). Target: below 5% of training time.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from benchmarks.common import DEFAULT_DATASET_DIR, figure, interleaved, median, print_machine, spread

TASKS = ("pointmaze-medium-stitch-v0", "pointmaze-teleport-navigate-v0", "pointmaze-large-stitch-v0")
TARGET = 0.05


def measure(task, arm: str, args: argparse.Namespace) -> float:
    """The curves' cost for one task and arm at the default sizes: 9 x evaluation / (20000 x step)."""
    from mopjepa.config import TrialConfig
    from mopjepa.data.sampler import BatchSampler
    from mopjepa.evaluate import Truth
    from mopjepa.experiment import prepare_cells, protocol_metrics
    from mopjepa.model.functions import numpy_functions
    from mopjepa.model.world_model import WorldModel
    from mopjepa.seeding import torch_generator
    from mopjepa.train import evaluate_steps, train

    cfg = TrialConfig.from_flat({"task": task.name.name, "arm": arm})
    cells = prepare_cells(cfg, task)
    truth = Truth.from_cell_data(cells)
    examples = cells.train_examples
    model = WorldModel.build(cfg, examples.context.shape[1], examples.action.shape[1], cells.feature_mean,
                             cells.feature_std)
    generator = torch_generator(cfg.seed, "batches")
    sampler = BatchSampler(examples.context, examples.target, cfg.train.batch_size, generator)
    block = dataclasses.replace(cfg.train, steps=args.block)

    def train_block() -> float:
        start = time.perf_counter()
        train(model, sampler, block)
        return (time.perf_counter() - start) / args.block

    def evaluate_once() -> None:
        protocol_metrics(numpy_functions(model), cells, truth, cfg)

    samples = interleaved({"step": train_block, "evaluate": evaluate_once}, args.rounds)
    pauses = len(evaluate_steps(cfg.train))
    cost = pauses * median(samples["evaluate"]) / (cfg.train.steps * median(samples["step"]))
    print(f"{cfg.data.task} {arm}: step {spread([s * 1e3 for s in samples['step']])} ms, "
          f"evaluation {spread([s * 1e3 for s in samples['evaluate']])} ms, {pauses} pauses over "
          f"{cfg.train.steps} steps: {100 * cost:.2f}% of training", flush=True)
    return cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset-dir", default=DEFAULT_DATASET_DIR)
    parser.add_argument("--arms", nargs="+", default=["dense", "mop"])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--block", type=int, default=20, help="training steps timed per round")
    args = parser.parse_args()

    import torch

    from mopjepa.data import load_task_data

    torch.set_num_threads(1)
    print_machine({"threads": "1"})
    worst = 0.0
    for task_name in args.tasks:
        task = load_task_data(task_name, args.dataset_dir, download=False)
        worst = max([worst] + [measure(task, arm, args) for arm in args.arms])
    figure("curves cost / training time (worst task and arm)", worst, f"< {TARGET}", worst < TARGET)


if __name__ == "__main__":
    main()
