"""One trial, composed in the order of the paper's method section.

    1. cells      the cell abstraction of the task's data; the seeded 20% hold-out of transitions
    2. train      the JEPA world model with the trial's predictor arm (every arm the same loop); every
                  eval_every steps stages 3-5 run on the model as it is (the `curves` rows)
    3. query      every free cell's query observation -> successor latents and weights (+ two steps)
    4. propose    the blind graph: decode outputs to cells, raw and router-gated edges
    5. evaluate   the protocol's metrics: ground truth enters here and only here
    6. execute    the replanning executor on the proposed graph (raw by default) in the real environment,
                  beside its floor: the same executor and episode seeds on an empty graph

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

from mopjepa.audit import ModelFunctions, edge_rows, evaluate, evaluate_metrics, output_rows, propose, query_cells
from mopjepa.audit.actions import query_action_set
from mopjepa.config import BranchTask, MazeTask, TrialConfig
from mopjepa.data import CellData, TaskData, build_cell_data, load_task_data, prepare_data
from mopjepa.data.sampler import BatchSampler
from mopjepa.evaluate import Truth, metric_value
from mopjepa.evaluate.execution import execution_gains
from mopjepa.execute import (
    Episode,
    floor_key,
    floor_success,
    reference_successes,
    run_episodes,
    serial_map,
    success_by_task,
)
from mopjepa.graph import BlindGraph
from mopjepa.mechanism import run_branch_sweep
from mopjepa.model.functions import numpy_functions
from mopjepa.model.world_model import WorldModel
from mopjepa.seeding import numpy_rng, torch_generator, trial_threads
from mopjepa.train import MetricsCallback, TrainSummary, save_checkpoint, train
from mopjepa.train.record import TrainingRecord
from mopjepa.train.record import diagnostic_rows as train_diagnostics

FloorCache = Callable[[str, Callable[[], dict[int, float]]], dict[int, float]]
"""floor_cache(key, compute) -> compute()'s value, or the value stored under `key` by an earlier call."""
def compute_now(key: str, compute: Callable[[], dict[int, float]]) -> dict[int, float]:
    return compute()


@dataclass
class TrialHooks:
    on_train_metrics: MetricsCallback | None = None
    """Called every log_every steps with namespaced training metrics."""
    map_episodes: Callable = serial_map
    """map_episodes(fn, jobs) -> results in job order; Ray actors in pipelines."""
    on_stage: Callable[[str], None] | None = None
    """Called with the name of each stage as it starts."""
    floor_cache: FloorCache = compute_now
    """Where the execution floor of a (task, seed, execute config) is kept; a matrix shares it across arms."""


@dataclass(frozen=True)
class TrialSummary:
    config: TrialConfig
    metrics: list[dict]
    """Long-form protocol metrics {"metric", "key", "value"}, execution and timing included."""
    edges: list[dict]
    episodes: list[Episode]
    training: list[dict]
    """{"step", "metric", "value"} of every training callback."""
    curves: list[dict]
    """{"step", "metric", "key", "value"}: the protocol's metrics during training; the last step's rows
    are the final metrics themselves."""
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
    cfg: TrialConfig,
    cells: CellData,
    on_metrics: MetricsCallback | None,
    on_evaluate: Callable[[WorldModel, int], None] | None = None,
) -> tuple[WorldModel, TrainSummary]:
    examples = cells.train_examples
    action = examples.context_action(cfg.data.context_action)
    model = WorldModel.build(
        cfg, examples.context.shape[1], examples.action.shape[1], cells.feature_mean, cells.feature_std
    )
    sampler = BatchSampler(
        examples.context, examples.target, cfg.train.batch_size, torch_generator(cfg.seed, "batches"), action
    )
    pause = None if on_evaluate is None else (lambda step: on_evaluate(model, step))
    return model, train(model, sampler, cfg.train, on_metrics, pause)


def query_actions(cfg: TrialConfig, cells: CellData) -> np.ndarray | None:
    """[A, p] the action set every cell is queried with (GraphConfig.query_actions), None without actions."""
    return query_action_set(cfg.graph.query_actions, cells.train_examples.context_action(cfg.data.context_action))


def protocol_metrics(functions: ModelFunctions, cells: CellData, truth: Truth, cfg: TrialConfig) -> list[dict]:
    """Stages 3-5 without the figures' rows: query blind, propose, evaluate (what a curve point holds)."""
    queries = query_cells(functions, cells.query_observations, query_actions(cfg, cells))
    blind, rollout = propose(queries, cfg.graph)
    return evaluate_metrics(blind, rollout, truth, cfg.graph, cfg.seed)


def diagnostic_rows(model: WorldModel, cells: CellData, cfg: TrialConfig) -> list[dict]:
    """The arm's own diagnostics (e.g. mdn_sigma, mdn_resp_max) on a fixed batch of training examples."""
    examples = cells.train_examples
    return train_diagnostics(model, examples.context, examples.target,
                             examples.context_action(cfg.data.context_action), cfg.seed)


@trial_threads  # torch runs the trial on cfg.train.threads intra-op threads, restored after
def run_trial(
    cfg: TrialConfig, task: TaskData, workdir: Path | None = None, hooks: TrialHooks | None = None
) -> TrialSummary:
    """Train, propose the graph blind, evaluate it against the truth, execute it; return the rows."""
    if not isinstance(cfg.task, MazeTask):
        raise ValueError(f"task {cfg.data.task!r} is not a maze: run any trial with mopjepa.experiment.run(cfg)")
    hooks = hooks or TrialHooks()
    seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(name: str):
        if hooks.on_stage:
            hooks.on_stage(name)
        start = time.perf_counter()
        yield
        seconds[name] = time.perf_counter() - start

    record = TrainingRecord(hooks.on_train_metrics)
    curves: list[dict] = []

    def evaluate_during_training(model: WorldModel, step: int) -> None:
        start = time.perf_counter()
        # Its own sampling stream: the final evaluation draws exactly what it would without curves.
        functions = numpy_functions(model, torch_generator(cfg.seed, "curves", step))
        curves.extend({"step": step, **entry} for entry in protocol_metrics(functions, cells, truth, cfg))
        seconds["curves"] = seconds.get("curves", 0.0) + time.perf_counter() - start

    with stage("cells"):
        cells = prepare_cells(cfg, task)
        truth = Truth.from_cell_data(cells)
    with stage("train"):
        model, train_summary = train_model(cfg, cells, record, evaluate_during_training)
        checkpoint = None if workdir is None else Path(workdir) / "checkpoint.pt"
        if checkpoint is not None:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            save_checkpoint(model, checkpoint)
    with stage("propose"):
        queries = query_cells(numpy_functions(model), cells.query_observations, query_actions(cfg, cells))
        blind, rollout = propose(queries, cfg.graph)
    with stage("evaluate"):
        metrics, beliefs = evaluate(queries, blind, rollout, truth, cfg.graph, cfg.seed)
        curves.extend({"step": cfg.train.steps, **entry} for entry in metrics)
        metrics += diagnostic_rows(model, cells, cfg)
    episodes: list[Episode] = []
    if cfg.execute.episodes_per_task > 0:
        with stage("execute"):
            env_name = task.name.env_name
            plan_graph = blind.raw if cfg.execute.plan_graph == "raw" else blind.gated_graph
            episodes = run_episodes(env_name, cells.geometry, plan_graph, cfg.execute, cfg.seed, hooks.map_episodes)
        with stage("execute_floor"):
            floor = hooks.floor_cache(
                floor_key(env_name, cfg.execute, cfg.seed),
                lambda: floor_success(env_name, cells.geometry, cfg.execute, cfg.seed, hooks.map_episodes),
            )
        with stage("execute_ceilings"):  # ground truth's graphs, shared like the floor (mopjepa.execute.references)
            ceilings = reference_successes(env_name, cells.geometry, cells.truth, cells.heldout, cfg.execute,
                                           cfg.seed, task.data_hash, hooks.floor_cache, hooks.map_episodes)
        metrics += execution_rows(episodes, floor, ceilings)
    metrics += [{"metric": "seconds", "key": name, "value": value} for name, value in seconds.items()]
    metrics.append({"metric": "train_examples_per_s", "key": "", "value": train_summary.examples_per_s})
    metrics.append({"metric": "train_device", "key": train_summary.device, "value": 1.0})  # key: 'cpu' | 'cuda'
    metrics.append({"metric": "successor_modes_per_cell", "key": "", "value": cells.mean_successor_modes()})
    return TrialSummary(
        config=cfg,
        metrics=metrics,
        edges=edge_rows(blind, cells),
        episodes=episodes,
        training=record.rows,
        curves=curves,
        outputs=output_rows(blind, queries),
        beliefs=beliefs,
        train_summary=train_summary,
        checkpoint=checkpoint,
        blind=blind,
    )


def execution_rows(
    episodes: list[Episode], floor: dict[int, float], ceilings: dict[str, dict[int, float]] | None = None
) -> list[dict]:
    """exec_success, exec_floor and exec_lift (= success - floor) per task (key = task id) and overall
    (the mean of the task rates, as OGBench); with `ceilings` ({'ceiling', 'truth'}: success per task on
    those reference graphs) also exec_ceiling, exec_truth and exec_gain = (success - floor) / (truth - floor),
    per task whose truth beats its floor and overall from the overall rates (the share of the lift the truth
    offers that the graph took: a mean of task ratios would let one task with truth barely above its floor
    swamp it); the fallback fraction and mean replans."""
    rates = success_by_task(episodes)
    ceilings = ceilings or {}
    for name, values in {"floor": floor, **ceilings}.items():
        if set(values) != set(rates):
            raise ValueError(f"the {name} covers tasks {sorted(values)}, the episodes {sorted(rates)}")
    per_task = {"exec_success": rates, "exec_floor": floor,
                "exec_lift": {task: rates[task] - floor[task] for task in rates}}
    if ceilings:
        per_task |= {"exec_ceiling": ceilings["ceiling"], "exec_truth": ceilings["truth"],
                     "exec_gain": execution_gains(rates, floor, ceilings["truth"])[0]}
    overall = {name: float(np.mean(list(values.values()))) for name, values in per_task.items() if values}
    if ceilings:
        overall.pop("exec_gain", None)
        if (gain := execution_gains(rates, floor, ceilings["truth"])[1]) is not None:
            overall["exec_gain"] = gain
    rows = []
    for name, values in per_task.items():
        rows += [{"metric": name, "key": str(task), "value": value} for task, value in values.items()]
        if name in overall:
            rows.append({"metric": name, "key": "", "value": overall[name]})
    rows.append({"metric": "exec_fallback", "key": "", "value": float(np.mean([e.used_fallback for e in episodes]))})
    rows.append({"metric": "exec_replans", "key": "", "value": float(np.mean([e.replans for e in episodes]))})
    return rows


@dataclass(frozen=True)
class TrialOutput:
    """What any trial hands to the pipelines: its rows per result table and where its data came from."""

    config: TrialConfig
    tables: dict[str, list[dict]]
    """Rows per result table (mopjepa.results.schema); `final` among them."""
    final: str
    """The table written last, whose file marks the trial complete: 'metrics' (maze) or 'mechanism'."""
    data_source: str
    data_hash: str
    checkpoint: Path | None = None

    @property
    def rows(self) -> list[dict]:
        """The final table's long-form {"metric", "key", "value"} rows."""
        return self.tables[self.final]


def run(
    cfg: TrialConfig,
    hooks: TrialHooks | None = None,
    workdir: Path | None = None,
    data: TaskData | None = None,
    load: Callable[..., TaskData] = load_task_data,
) -> TrialOutput:
    """One trial of any kind: dispatches on cfg.task. A maze task's data is `data`, or what
    load(name, dataset_dir, data_seed, download) returns; a branch task generates its own."""
    hooks = hooks or TrialHooks()
    start, cpu_start = time.perf_counter(), time.process_time()
    match cfg.task:
        case BranchTask():
            summary = run_branch_sweep(cfg, hooks.on_train_metrics)  # its rows carry its seconds (key M)
            tables = {"training": summary.training, "mechanism": summary.rows}
            return TrialOutput(cfg, tables, "mechanism", "generated", summary.data_hash)
        case MazeTask():
            data = data if data is not None else prepare_data(cfg, load=load)
            summary = run_trial(cfg, data, workdir, hooks)
            tables = summary_tables(summary)
            # The whole trial in this process, data loading included (benchmarks/ compares it to wall time).
            tables["metrics"] += [{"metric": "seconds", "key": "trial_cpu", "value": time.process_time() - cpu_start},
                                  {"metric": "seconds", "key": "trial_wall", "value": time.perf_counter() - start}]
            return TrialOutput(cfg, tables, "metrics", data.data_source, data.data_hash, summary.checkpoint)
    raise TypeError(f"unknown task type {type(cfg.task).__name__}")


def summary_tables(summary: TrialSummary) -> dict[str, list[dict]]:
    """The trial's rows per result table (see mopjepa.results.schema)."""
    return {
        "edges": summary.edges,
        "episodes": [episode.row() for episode in summary.episodes],
        "training": summary.training,
        "curves": summary.curves,
        "outputs": summary.outputs,
        "beliefs": summary.beliefs,
        "metrics": summary.metrics,
    }
