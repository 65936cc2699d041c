"""Training on each device: examples per second and MFU of dense, mop K=8 and mop K=16 at the default
sizes, on the CPU and (where one is) on CUDA, and on CUDA how many trials can share one GPU.

    python -m benchmarks.train_device [--dataset-dir DIR] [--devices cpu cuda] [--steps 20 --rounds 3]
                                      [--concurrency 1 2 4 8] [--concurrency-arm mop:8]

- Work: `mopjepa.train.train` itself (the loop the trials run; the model, the sampler's examples and
  AdamW's state on the device) on `WorldModel.build` + `BatchSampler` over the real
  pointmaze-medium-stitch-v0 training examples (benchmarks/train_mfu.py's `build`), default sizes
  (batch 256, latent 32, hidden 256, depth 2), chunks of `--steps` steps after a warm-up chunk.
- FLOPs: train_mfu.py's `step_flops` (FlopCounterMode over one whole step). Ops: the ATen ops one
  step dispatches (each is at least one kernel launch on CUDA: what bounds a small model there).
- Peak: the device's own best median fp32 `torch.mm` throughput (CPU: train_mfu.py's sizes
  512..2048 at `--threads`; CUDA: 2048..8192, timed with CUDA events, TF32 as torch's default: off).
- Interleaved (benchmarks/common.py): each round times one chunk of every arm, then every matmul
  size; medians over rounds. CPU at `--threads` threads (default 1: the matrix's 1 CPU per trial).
- Concurrency (CUDA only): N = 1, 2, 4, 8 training processes of `--concurrency-arm` side by side
  on one GPU (how Tune packs trials with --gpus-per-trial 1/N), each one thread, started together
  per round; per-trial and summed examples/s. Scaling stops at the first N whose sum is below
  SCALING x the previous N's: the figure is the N before it (trials per GPU worth running).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from benchmarks.common import DEFAULT_DATASET_DIR, interleaved, median, print_machine, spread
from benchmarks.train_mfu import PEAK_SIZES, build, matmul_seconds, step_flops, training_cells
from mopjepa.train import train

ARMS = ("dense", "mop:8", "mop:16")
CUDA_PEAK_SIZES = (2048, 4096, 8192)
SCALING = 1.2
"""Doubling the trials on a GPU is worth it while their summed throughput grows by this factor."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset-dir", default=DEFAULT_DATASET_DIR)
    parser.add_argument("--task", default="pointmaze-medium-stitch-v0")
    parser.add_argument("--arms", nargs="+", default=list(ARMS), help="arm or arm:K (default: %(default)s)")
    parser.add_argument("--devices", nargs="+", default=["cpu", *(["cuda"] if torch.cuda.is_available() else [])],
                        choices=["cpu", "cuda"], help="default: cpu, and cuda where one is")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=20, help="training steps per timed chunk")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 2, 4, 8],
                        help="trials side by side on one GPU (CUDA only; none: skip)")
    parser.add_argument("--concurrency-arm", default="mop:8")
    args = parser.parse_args(argv)
    args.dataset_dir = str(Path(args.dataset_dir).expanduser())
    return args


def arm_args(args: argparse.Namespace, spec: str) -> argparse.Namespace:
    """train_mfu.build's arguments for 'arm' or 'arm:K'."""
    arm, _, k = spec.partition(":")
    return argparse.Namespace(**{**vars(args), "arm": arm, "K": int(k) if k else 8})


class OpCounter(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops += 1
        return func(*args, **(kwargs or {}))


def ops_per_step(cfg, model, sampler) -> float:
    """ATen ops dispatched per training step: (ops of 3 steps - ops of 1 step) / 2, set-up excluded."""
    counts = []
    for steps in (1, 3):
        one = dataclasses.replace(cfg.train, steps=steps, log_every=steps)
        with OpCounter() as counter:
            train(model, sampler, one)
        counts.append(counter.ops)
    return (counts[1] - counts[0]) / 2


def matmul_flops(device: torch.device, size: int, repeats: int = 3) -> float:
    """fp32 torch.mm FLOP/s of one size on `device` (best of `repeats`)."""
    if device.type == "cpu":
        return 2 * size**3 / matmul_seconds(size, repeats)
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    out = torch.empty(size, size, device=device)
    torch.mm(a, b, out=out)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    best = float("inf")
    for _ in range(repeats):
        start.record()
        for _ in range(5):
            torch.mm(a, b, out=out)
        end.record()
        end.synchronize()
        best = min(best, start.elapsed_time(end) / 1e3 / 5)
    return 2 * size**3 / best


def record(name: str, value: float, detail: str = "") -> None:
    """A figure line without a target (the issue asks for the numbers, not a threshold)."""
    print(f"FIGURE {name}: {value:.4g} (recorded)" + (f"  -- {detail}" if detail else ""), flush=True)


def measure_device(args: argparse.Namespace, device: str, cells) -> dict[str, float]:
    """examples/s and MFU of every arm on `device`, interleaved with the device's matmul peak."""
    torch.set_num_threads(args.threads)
    builds, flops, ops = {}, {}, {}
    for spec in args.arms:
        cfg, model, sampler = build(arm_args(args, spec), cells, device)
        train(model, sampler, cfg.train)  # warm-up: first-call dispatch, allocator, CUDA context
        flops[spec], ops[spec] = step_flops(cfg, model, sampler), ops_per_step(cfg, model, sampler)
        builds[spec] = (cfg, model, sampler)
    sides = {spec: (lambda b=b: train(b[1], b[2], b[0].train).examples_per_s) for spec, b in builds.items()}
    torch_device = torch.device(device)
    sizes = PEAK_SIZES if device == "cpu" else CUDA_PEAK_SIZES
    for size in sizes:
        sides[f"mm{size}"] = lambda size=size: matmul_flops(torch_device, size)
    samples = interleaved(sides, args.rounds)
    peak = max(median(samples[f"mm{size}"]) for size in sizes)
    where = f"{device}" + (f" ({args.threads} thread)" if device == "cpu" else f" ({torch.cuda.get_device_name()})")
    by_size = ", ".join(f"{size}: {median(samples['mm' + str(size)]) / 1e9:.0f}" for size in sizes)
    print(f"{where}: fp32 mm peak {peak / 1e9:.1f} GFLOP/s ({by_size})", flush=True)
    rates = {}
    for spec in args.arms:
        batch = builds[spec][0].train.batch_size
        rate = median(samples[spec])
        mfu = flops[spec] * rate / batch / peak
        print(f"  {spec:<7} {batch / rate * 1e3:8.2f} ms/step, examples/s {spread(samples[spec])}, "
              f"{flops[spec] / 1e9:.3f} GFLOP/step, {ops[spec]:.0f} ATen ops/step", flush=True)
        record(f"train examples/s {spec} {device}", rate)
        record(f"train MFU {spec} {device}", mfu, f"{flops[spec] * rate / batch / 1e9:.1f} / {peak / 1e9:.1f} GFLOP/s")
        rates[spec] = rate
    return rates


def _worker(args: argparse.Namespace, connection) -> None:
    """One training process on the GPU: on each "go", one chunk; answers its examples/s."""
    torch.set_num_threads(1)
    cfg, model, sampler = build(arm_args(args, args.concurrency_arm), None, "cuda")
    train(model, sampler, cfg.train)
    connection.send("ready")
    while connection.recv() == "go":
        connection.send(train(model, sampler, cfg.train).examples_per_s)


def side_by_side(args: argparse.Namespace, count: int) -> tuple[float, float]:
    """(median per-trial examples/s, median summed examples/s) of `count` processes on one GPU."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    pipes = [context.Pipe() for _ in range(count)]
    workers = [context.Process(target=_worker, args=(args, child)) for _, child in pipes]
    for worker in workers:
        worker.start()
    try:
        for parent, _ in pipes:
            parent.recv()
        totals, per_trial = [], []
        for _ in range(args.rounds):
            for parent, _ in pipes:
                parent.send("go")
            rates = [parent.recv() for parent, _ in pipes]
            totals.append(sum(rates))
            per_trial.append(sum(rates) / count)
    finally:
        for parent, _ in pipes:
            parent.send("stop")
        for worker in workers:
            worker.join(timeout=60)
    return median(per_trial), median(totals)


def measure_concurrency(args: argparse.Namespace) -> int:
    summed: dict[int, float] = {}
    for count in sorted(args.concurrency):
        per_trial, total = side_by_side(args, count)
        summed[count] = total
        print(f"  {count} x {args.concurrency_arm} on one GPU: {per_trial:.0f} examples/s per trial, "
              f"{total:.0f} together", flush=True)
    counts = sorted(summed)
    useful = counts[0]
    for previous, count in zip(counts, counts[1:], strict=False):
        if summed[count] < SCALING * summed[previous]:
            break
        useful = count
    record(f"trials per GPU before throughput stops scaling ({args.concurrency_arm})", useful,
           f"summed examples/s {', '.join(f'N={n}: {summed[n]:.0f}' for n in counts)}; "
           f"stop: doubling gains < {SCALING}x")
    return useful


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    print_machine({"cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else "none"})
    cells = training_cells(args)
    for device in args.devices:
        measure_device(args, device, cells)
    if "cuda" in args.devices and args.concurrency:
        measure_concurrency(args)
    elif args.concurrency:
        print("concurrent trials per GPU: not measured (no CUDA device here)", flush=True)
    print(f"benchmark wall {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
