"""One branch-sweep trial: generate the task, train the arm like any maze trial, measure its modes.

The arm trains through the same WorldModel.build, BatchSampler and train loop as run_trial (no
special case anywhere in model or train code) and is queried through the same numpy functions the
audit uses: successors at the noise-free states, the target encoder for the mode latents.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from mopjepa.config import BranchTask, TrialConfig
from mopjepa.data.sampler import BatchSampler
from mopjepa.graph import gate
from mopjepa.mechanism.measure import mechanism_rows
from mopjepa.mechanism.task import BranchSweepData, make_branch_task
from mopjepa.model.functions import numpy_functions
from mopjepa.model.world_model import WorldModel
from mopjepa.seeding import numpy_rng, torch_generator, trial_threads
from mopjepa.train import MetricsCallback, TrainSummary, train
from mopjepa.train.record import TrainingRecord, diagnostic_rows


@dataclass(frozen=True)
class BranchSweepSummary:
    config: TrialConfig
    rows: list[dict]
    """Long-form {"metric", "key" = M, "value"} rows (table `mechanism`), timing included."""
    training: list[dict]
    """{"step", "metric", "value"} of every training callback (table `training`)."""
    train_summary: TrainSummary
    data_hash: str


def branch_task(cfg: TrialConfig) -> BranchSweepData:
    """The generated task of a branch-sweep trial, from its 'task' stream."""
    match cfg.task:
        case BranchTask(spec=spec):
            return make_branch_task(spec, numpy_rng(cfg.seed, "task"))
    raise ValueError(f"a branch-sweep trial needs task 'mechanism'; got task {cfg.data.task!r}")


@trial_threads  # torch runs the trial on cfg.train.threads intra-op threads, restored after
def run_branch_sweep(cfg: TrialConfig, on_train_metrics: MetricsCallback | None = None) -> BranchSweepSummary:
    """Train cfg.arm on the generated task of the branch-sweep trial `cfg` and measure coverage of its M modes."""
    task = branch_task(cfg)
    record = TrainingRecord(on_train_metrics)
    start = time.perf_counter()
    obs_dim = task.context.shape[1]
    model = WorldModel.build(cfg, obs_dim, 0, task.context.mean(axis=0), task.context.std(axis=0) + 1e-6)
    sampler = BatchSampler(task.context, task.target, cfg.train.batch_size, torch_generator(cfg.seed, "batches"))
    summary = train(model, sampler, cfg.train, record)
    functions = numpy_functions(model)
    outputs, weights = functions.successors(task.states)  # [S, K, D], [S, K]
    mode_latents = functions.encode(task.states)[task.successors]  # [S, M, D]
    gated, _ = gate(weights, cfg.graph)  # [S, K]
    rows = mechanism_rows(mode_latents, task.weights, outputs, weights, gated, cfg.branch_sweep.hit_cosine)
    key = str(task.num_modes)
    rows += diagnostic_rows(model, task.context, task.target, None, cfg.seed, key)
    rows.append({"metric": "seconds", "key": key, "value": time.perf_counter() - start})
    rows.append({"metric": "train_loss", "key": key, "value": summary.final_metrics.get("train/loss", float("nan"))})
    return BranchSweepSummary(cfg, rows, record.rows, summary, task.content_hash())
