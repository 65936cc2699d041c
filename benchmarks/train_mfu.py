"""CPU MFU of training: the training loop's FLOP/s over this machine's fp32 matmul peak, same run.

    python -m benchmarks.train_mfu [--dataset-dir DIR] [--threads 1 2] [--arm mop --K 16] [--profile]

- Work: `mopjepa.train.train` itself (the loop the trials run) on `WorldModel.build` + `BatchSampler`
  over the real pointmaze-medium-stitch-v0 training examples, default sizes (batch 256, latent 32,
  hidden 256, depth 2), chunks of `--steps` steps.
- FLOPs: `torch.utils.flop_counter.FlopCounterMode` over one whole step of that loop (forward of
  the online and target encoders and the predictor, backward). The AdamW update and the EMA are
  elementwise: FlopCounterMode counts no FLOPs for them, but their time is in the step.
- Peak: the best median fp32 `torch.mm` throughput over square sizes 512..2048, same thread count.
- Interleaved: each round times one training chunk then every matmul size; medians over rounds.
- `--pair`: also two training processes at one thread each, side by side (how the matrix runs two
  trials on two cores), their summed FLOP/s over the two-thread peak, rounds interleaved likewise.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.common import DEFAULT_DATASET_DIR, figure, interleaved, median, print_machine, spread
from mopjepa.config import TrialConfig
from mopjepa.data import build_cell_data, load_task_data
from mopjepa.data.sampler import BatchSampler
from mopjepa.model import WorldModel
from mopjepa.seeding import torch_generator
from mopjepa.train import train

TARGET = 0.5
PEAK_SIZES = (512, 1024, 1536, 2048)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset-dir", default=DEFAULT_DATASET_DIR)
    parser.add_argument("--task", default="pointmaze-medium-stitch-v0")
    parser.add_argument("--arm", default="mop")
    parser.add_argument("--K", type=int, default=16)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=25, help="training steps per timed chunk")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--profile", action="store_true", help="print torch.profiler's top ops of 10 steps")
    parser.add_argument("--pair", action="store_true", help="also two 1-thread training processes side by side")
    return parser.parse_args()


def training_cells(args: argparse.Namespace):
    task = load_task_data(args.task, args.dataset_dir, download=False)
    return build_cell_data(task, 0.2, 0.05, np.random.default_rng(0))


def build(args: argparse.Namespace, cells=None, device: str = "cpu"):
    """(cfg, model, sampler) of `args.arm` (K = args.K) on the task's training examples, training on
    `device` (this benchmark measures the CPU; benchmarks/train_device.py passes others)."""
    cells = training_cells(args) if cells is None else cells
    examples = cells.train_examples
    flat = {"arm": args.arm, "steps": args.steps, "log_every": args.steps, "device": device}
    if "K" in TrialConfig.allowed_keys(args.arm):
        flat["K"] = args.K
    cfg = TrialConfig.from_flat(flat)
    model = WorldModel.build(cfg, examples.context.shape[1], examples.action.shape[1], cells.feature_mean,
                             cells.feature_std)
    sampler = BatchSampler(examples.context, examples.target, cfg.train.batch_size,
                           torch_generator(cfg.seed, "batches"))
    return cfg, model, sampler


def step_flops(cfg: TrialConfig, model: WorldModel, sampler: BatchSampler) -> int:
    one_step = TrialConfig.from_flat({**cfg.to_flat(), "steps": 1, "log_every": 1}).train
    with FlopCounterMode(display=False) as counter:
        train(model, sampler, one_step)
    return counter.get_total_flops()


def matmul_seconds(size: int, repeats: int = 3) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    out = torch.empty(size, size)
    torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return best


def measure(args: argparse.Namespace, threads: int, cfg, model, sampler, flops: int) -> float:
    torch.set_num_threads(threads)
    train(model, sampler, cfg.train)  # warm-up at this thread count
    sides = {"train": lambda: train(model, sampler, cfg.train).seconds / cfg.train.steps}
    for size in PEAK_SIZES:
        sides[f"mm{size}"] = lambda size=size: 2 * size**3 / matmul_seconds(size)  # FLOP/s
    samples = interleaved(sides, args.rounds)
    step = median(samples["train"])
    peaks = {size: median(samples[f"mm{size}"]) for size in PEAK_SIZES}
    peak = max(peaks.values())
    achieved = flops / step
    mfu = achieved / peak
    print(f"threads={threads}: step {spread([s * 1e3 for s in samples['train']])} ms, "
          f"{achieved / 1e9:.1f} GFLOP/s; peak {peak / 1e9:.1f} GFLOP/s "
          f"({', '.join(f'{s}: {p / 1e9:.0f}' for s, p in peaks.items())})", flush=True)
    figure(f"train MFU {args.arm} K={args.K} threads={threads}", mfu, f">= {TARGET}", mfu >= TARGET,
           f"{achieved / 1e9:.1f} / {peak / 1e9:.1f} GFLOP/s")
    return mfu


def _pair_worker(args: argparse.Namespace, connection) -> None:
    """A 1-thread training process: on each b"go", one timed chunk; answers seconds per step."""
    torch.set_num_threads(1)
    cfg, model, sampler = build(args)
    train(model, sampler, cfg.train)
    connection.send("ready")
    while connection.recv() == "go":
        connection.send(train(model, sampler, cfg.train).seconds / cfg.train.steps)


def measure_pair(args: argparse.Namespace, flops: int) -> float:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    pipes = [context.Pipe() for _ in range(2)]
    workers = [context.Process(target=_pair_worker, args=(args, child)) for _, child in pipes]
    for worker in workers:
        worker.start()
    try:
        for parent, _ in pipes:
            parent.recv()

        def both() -> float:  # summed FLOP/s of the two processes over one chunk each
            for parent, _ in pipes:
                parent.send("go")
            return sum(flops / parent.recv() for parent, _ in pipes)

        torch.set_num_threads(2)
        sides = {"pair": both}
        for size in PEAK_SIZES:
            sides[f"mm{size}"] = lambda size=size: 2 * size**3 / matmul_seconds(size)
        samples = interleaved(sides, args.rounds)
    finally:
        for parent, _ in pipes:
            parent.send("stop")
        for worker in workers:
            worker.join(timeout=30)
    achieved = median(samples["pair"])
    peak = max(median(samples[f"mm{size}"]) for size in PEAK_SIZES)
    mfu = achieved / peak
    print(f"2 processes x 1 thread: {achieved / 1e9:.1f} GFLOP/s together; 2-thread peak {peak / 1e9:.1f} GFLOP/s",
          flush=True)
    figure(f"train MFU {args.arm} K={args.K} 2 processes x 1 thread", mfu, f">= {TARGET}", mfu >= TARGET,
           f"{achieved / 1e9:.1f} / {peak / 1e9:.1f} GFLOP/s")
    return mfu


def profile(cfg, model, sampler, threads: int) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    torch.set_num_threads(threads)
    ten = TrialConfig.from_flat({**cfg.to_flat(), "steps": 10, "log_every": 10}).train
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        train(model, sampler, ten)
    print(f"profile of 10 steps, threads={threads}:")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15, max_name_column_width=40))


def main() -> None:
    args = parse_args()
    print_machine({"torch_threads_default": str(torch.get_num_threads())})
    cfg, model, sampler = build(args)
    flops = step_flops(cfg, model, sampler)
    print(f"{args.arm} K={args.K}, batch {cfg.train.batch_size}, latent {cfg.encoder.latent_dim}, hidden "
          f"{cfg.predictor.hidden_dim}, depth {cfg.predictor.depth}: {flops / 1e9:.3f} GFLOP per step "
          "(forward + backward; the AdamW update and EMA count no FLOPs)", flush=True)
    for threads in args.threads:
        measure(args, threads, cfg, model, sampler, flops)
        if args.profile:
            profile(cfg, model, sampler, threads)
    if args.pair:
        measure_pair(args, flops)


if __name__ == "__main__":
    main()
