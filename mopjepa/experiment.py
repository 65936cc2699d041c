"""One trial, composed in the order of the paper's method section.

    1. cells      the cell abstraction of the task's data; the seeded 20% hold-out of transitions
    2. train      the JEPA world model with the trial's predictor arm (every arm the same loop)
    3. query      every free cell's query observation -> successor latents and weights (+ two steps)
    4. propose    the blind graph: decode outputs to cells, raw and router-gated edges
    5. evaluate   the protocol's metrics: ground truth enters here and only here
    6. execute    the replanning executor on the gated graph in the real environment

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
import torch

from mopjepa.config import TrialConfig
from mopjepa.data import CellData, TaskData, build_cell_data
from mopjepa.data.sampler import BatchSampler
from mopjepa.evaluate import Truth, metric_report
from mopjepa.execute import Episode, run_episodes, serial_map
from mopjepa.graph import BlindGraph, decode_two_step, propose_graph
from mopjepa.model.world_model import WorldModel
from mopjepa.seeding import numpy_rng, torch_generator
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
class CellQueries:
    """The model's answers for every free cell, as arrays (what the blind graph is built from)."""

    latents: np.ndarray
    """[N, K, D] successor latents of each cell's query."""
    weights: np.ndarray
    """[N, K] their weights (router pi, mixture weights, or uniform)."""
    reference: np.ndarray
    """[N, D] the target encoder's latent of each cell's query."""
    two_step_latents: np.ndarray
    """[N, K, K, D] successors of each first-step latent."""
    two_step_weights: np.ndarray
    """[N, K, K] their weights."""


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
    train_summary: TrainSummary
    checkpoint: Path | None
    blind: BlindGraph = field(repr=False)

    def metric(self, name: str, key: str = "") -> float:
        for row in self.metrics:
            if row["metric"] == name and row["key"] == key:
                return row["value"]
        raise KeyError(f"no metric {name!r} with key {key!r}")


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


@torch.no_grad()
def query_cells(model: WorldModel, cells: CellData) -> CellQueries:
    """Ask the model about every free cell, blind: only the cells' query observations go in."""
    model.eval()
    observations = torch.as_tensor(cells.query_observations, dtype=torch.float32)  # [N, obs_dim]
    num_cells = len(observations)
    # With an action context the query carries no action information: a zero action [choice].
    action = torch.zeros(num_cells, model.action_dim) if model.action_dim else None
    latents, weights = model.predict(observations, action)  # [N, K, D], [N, K]
    K = latents.shape[1]
    second_action = torch.zeros(num_cells * K, model.action_dim) if model.action_dim else None
    second, second_weights = model.successors(latents.reshape(num_cells * K, -1), second_action)  # [N*K, K, D]
    return CellQueries(
        latents=latents.numpy(),
        weights=weights.numpy(),
        reference=model.encode_target(observations).numpy(),
        two_step_latents=second.reshape(num_cells, K, K, -1).numpy(),
        two_step_weights=second_weights.reshape(num_cells, K, K).numpy(),
    )


def run_trial(
    cfg: TrialConfig, task: TaskData, workdir: Path | None = None, hooks: TrialHooks | None = None
) -> TrialSummary:
    """Train, propose the graph blind, evaluate it against the truth, execute it; return the rows."""
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
        queries = query_cells(model, cells)
        blind = propose_graph(queries.latents, queries.weights, queries.reference, cfg.graph)
        rollout = decode_two_step(
            queries.two_step_latents, queries.weights, queries.two_step_weights, queries.reference, cfg.graph
        )
    with stage("evaluate"):
        truth = Truth.from_cell_data(cells)
        metrics = metric_report(blind, truth, cfg.graph, numpy_rng(cfg.seed, "shuffle"), two_step=rollout)
    episodes: list[Episode] = []
    if cfg.execute.episodes_per_task > 0:
        with stage("execute"):
            episodes = run_episodes(
                task.name.env_name, cells.geometry, blind.gated_graph, cfg.execute, cfg.seed, hooks.map_episodes
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


def edge_rows(blind: BlindGraph, cells: CellData) -> list[dict]:
    free = cells.geometry.free_ij
    rows = []
    for name, graph in (("raw", blind.raw), ("gated", blind.gated_graph)):
        for source, target, weight, cost in zip(graph.source, graph.target, graph.weight, graph.cost, strict=True):
            rows.append(
                {
                    "graph": name,
                    "source": int(source),
                    "target": int(target),
                    "source_i": int(free[source, 0]),
                    "source_j": int(free[source, 1]),
                    "target_i": int(free[target, 0]),
                    "target_j": int(free[target, 1]),
                    "weight": float(weight),
                    "cost": float(cost),
                    "real": bool(cells.truth[source, target]),
                    "heldout": bool(cells.heldout[source, target]),
                }
            )
    return rows


def output_rows(blind: BlindGraph, queries: CellQueries) -> list[dict]:
    """Each cell's outputs with their cosine similarity to every cell's reference latent."""
    reference = queries.reference / np.linalg.norm(queries.reference, axis=1, keepdims=True)  # [N, D]
    similarity = np.einsum("nkd,md->nkm", queries.latents, reference).astype(np.float32)  # [N, K, N]
    num_cells, K = queries.weights.shape
    return [
        {
            "query": "context",
            "cell": n,
            "output": k,
            "weight": float(queries.weights[n, k]),
            "gated": bool(blind.gated[n, k]),
            "decoded": int(blind.decoded[n, k]),
            "similarity": similarity[n, k].tolist(),
        }
        for n in range(num_cells)
        for k in range(K)
    ]


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
        "metrics": summary.metrics,
    }
