"""One trial, composed in the order of the paper's method section.

    1. cells      the cell abstraction of the task's data; the seeded 20% hold-out of transitions
    2. train      the JEPA world model with the trial's predictor arm (every arm the same loop)
    3. query      every free cell's query observation -> successor latents and weights (+ two steps)
    4. propose    the blind graph: decode outputs to cells, raw and router-gated edges
    5. evaluate   the protocol's metrics: ground truth enters here and only here
    6. execute    the replanning executor on the proposed graph (raw by default) in the real environment

Stages 3-5 are mopjepa.audit's, the same code that audits any model: the trained arm enters it as
numpy functions (mopjepa.model.functions), so our arms get no special path.

Parallel execution is injected (`TrialHooks.map_episodes`), so the same trial runs serially in tests
and on Ray actors in pipelines. Nothing here logs, prints or tracks: the trial returns data.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mopjepa.audit import edge_rows, evaluate, output_rows, propose, query_cells
from mopjepa.config import TrialConfig
from mopjepa.data import CellData, TaskData, build_cell_data
from mopjepa.data.sampler import BatchSampler
from mopjepa.evaluate import Truth, metric_value
from mopjepa.execute import Episode, run_episodes, serial_map
from mopjepa.graph import BlindGraph
from mopjepa.model.functions import numpy_functions
from mopjepa.model.world_model import WorldModel
from mopjepa.seeding import numpy_rng, torch_generator, trial_threads
from mopjepa.train import TrainSummary, save_checkpoint, train

MetricsCallback = Callable[[int, dict[str, float]], None]


@dataclass
class TrialHooks:
    on_train_metrics: MetricsCallback | None = None
    """Called every log_every steps with namespaced training metrics."""
    map_episodes: Callable = serial_map
    """map_episodes(fn, jobs) -> results in job order; Ray actors in pipelines."""
    on_stage: Callable[[str], None] | None = None
    """Called with the name of each stage as it starts."""


@dataclass(frozen=True)
class TrialSummary:
    config: TrialConfig
    metrics: list[dict]
    """Long-form protocol metrics {"metric", "key", "value"}, execution and timing included."""
    edges: list[dict]
    episodes: list[Episode]
    training: list[dict]
    """{"step", "metric", "value"} of every training callback."""
    outputs: list[dict]
    """Every output of every cell query (for figures)."""
    beliefs: list[dict]
    """Fig. 2's two-step beliefs at the cells with the most two-step modes (evaluate/beliefs.py)."""
    train_summary: TrainSummary
    checkpoint: Path | None
    blind: BlindGraph = field(repr=False)

    def metric(self, name: str, key: str = "") -> float:
        return metric_value(self.metrics, name, key)


def prepare_cells(cfg: TrialConfig, task: TaskData) -> CellData:
    return build_cell_data(task, cfg.data.holdout_fraction, cfg.data.mode_threshold, numpy_rng(cfg.seed, "holdout"))


def train_model(
    cfg: TrialConfig, cells: CellData, on_metrics: MetricsCallback | None
) -> tuple[WorldModel, TrainSummary]:
    examples = cells.train_examples
    action = examples.action if cfg.data.context_action else None
    model = WorldModel.build(
        cfg, examples.context.shape[1], examples.action.shape[1], cells.feature_mean, cells.feature_std
    )
    sampler = BatchSampler(
        examples.context, examples.target, cfg.train.batch_size, torch_generator(cfg.seed, "batches"), action
    )
    return model, train(model, sampler, cfg.train, on_metrics)


@trial_threads  # torch runs the trial on cfg.train.threads intra-op threads, restored after
def run_trial(
    cfg: TrialConfig, task: TaskData, workdir: Path | None = None, hooks: TrialHooks | None = None
) -> TrialSummary:
    """Train, propose the graph blind, evaluate it against the truth, execute it; return the rows."""
    if cfg.mechanism is not None:
        raise ValueError(f"task {cfg.data.task!r} is the branch sweep, not a maze: run it with "
                         "mopjepa.mechanism.run_mechanism_trial(cfg)")
    hooks = hooks or TrialHooks()
    seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(name: str):
        if hooks.on_stage:
            hooks.on_stage(name)
        start = time.perf_counter()
        yield
        seconds[name] = time.perf_counter() - start

    training: list[dict] = []

    def record(step: int, metrics: dict[str, float]) -> None:
        training.extend({"step": step, "metric": key, "value": value} for key, value in metrics.items())
        if hooks.on_train_metrics:
            hooks.on_train_metrics(step, metrics)

    with stage("cells"):
        cells = prepare_cells(cfg, task)
    with stage("train"):
        model, train_summary = train_model(cfg, cells, record)
        checkpoint = None if workdir is None else Path(workdir) / "checkpoint.pt"
        if checkpoint is not None:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            save_checkpoint(model, checkpoint)
    with stage("propose"):
        queries = query_cells(numpy_functions(model), cells.query_observations)
        blind, rollout = propose(queries, cfg.graph)
    with stage("evaluate"):
        metrics, beliefs = evaluate(queries, blind, rollout, Truth.from_cell_data(cells), cfg.graph, cfg.seed)
    episodes: list[Episode] = []
    if cfg.execute.episodes_per_task > 0:
        with stage("execute"):
            plan_graph = blind.raw if cfg.execute.plan_graph == "raw" else blind.gated_graph
            episodes = run_episodes(
                task.name.env_name, cells.geometry, plan_graph, cfg.execute, cfg.seed, hooks.map_episodes
            )
        metrics += execution_rows(episodes)
    metrics += [{"metric": "seconds", "key": name, "value": value} for name, value in seconds.items()]
    metrics.append({"metric": "train_examples_per_s", "key": "", "value": train_summary.examples_per_s})
    metrics.append({"metric": "successor_modes_per_cell", "key": "", "value": cells.mean_successor_modes()})
    return TrialSummary(
        config=cfg,
        metrics=metrics,
        edges=edge_rows(blind, cells),
        episodes=episodes,
        training=training,
        outputs=output_rows(blind, queries),
        beliefs=beliefs,
        train_summary=train_summary,
        checkpoint=checkpoint,
        blind=blind,
    )


def execution_rows(episodes: list[Episode]) -> list[dict]:
    """exec_success per task (key = task id) and overall (the mean of the task rates, as OGBench)."""
    by_task: dict[int, list[Episode]] = {}
    for episode in episodes:
        by_task.setdefault(episode.task_id, []).append(episode)
    rates = {task: float(np.mean([e.success for e in group])) for task, group in sorted(by_task.items())}
    rows = [{"metric": "exec_success", "key": str(task), "value": rate} for task, rate in rates.items()]
    rows.append({"metric": "exec_success", "key": "", "value": float(np.mean(list(rates.values())))})
    rows.append({"metric": "exec_fallback", "key": "", "value": float(np.mean([e.used_fallback for e in episodes]))})
    rows.append({"metric": "exec_replans", "key": "", "value": float(np.mean([e.replans for e in episodes]))})
    return rows


def summary_tables(summary: TrialSummary) -> dict[str, list[dict]]:
    """The trial's rows per result table (see mopjepa.results.schema)."""
    episodes = [
        {
            "task_id": e.task_id,
            "episode": e.episode,
            "episode_seed": e.seed,
            "success": bool(e.success),
            "steps": e.steps,
            "replans": e.replans,
            "dropped_edges": e.dropped_edges,
            "added_edges": e.added_edges,
            "path_length": e.path_length,
            "used_fallback": bool(e.used_fallback),
            "teleports": e.teleports,
        }
        for e in summary.episodes
    ]
    return {
        "edges": summary.edges,
        "episodes": episodes,
        "training": summary.training,
        "outputs": summary.outputs,
        "beliefs": summary.beliefs,
        "metrics": summary.metrics,
    }
