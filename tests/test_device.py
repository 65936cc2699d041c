"""Trials on a device (TrainConfig.device, issue 16): the CPU path everywhere, the CUDA path where a GPU is.

On every machine: 'auto' resolves to the machine's answer, 'cuda' without a CUDA device is a one-line
error naming the field and the value, device='cpu' trains bit for bit like the default did, the
sampler's chunked index draws are the per-step draws, checkpoints are saved device-free and load
onto the requested device, `run_trial.py --device cpu` reproduces the pinned whole trial and records
where it trained, and the matrix turns --gpus-per-trial into a GPU share of the trial's own bundle.

Where a CUDA device is visible (skipped elsewhere, saying so): a short training of every arm on
cuda agrees with the CPU run within TRAIN_RTOL_CUDA, the same seed gives the same bits twice on
the device, a checkpoint saved on cuda loads on the CPU and back, and the pinned whole trial's
metrics on cuda agree with the CPU's within PROTOCOL_ATOL_CUDA. docs/devices.md says why these
tolerances and what is and is not deterministic on CUDA.
"""

from __future__ import annotations

import os
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
import torch

from mopjepa.config import ConfigError, TrialConfig
from mopjepa.data import load_task_data
from mopjepa.data.sampler import CHUNK_STEPS, BatchSampler
from mopjepa.experiment import run_trial
from mopjepa.model import WorldModel
from mopjepa.model.device import resolve_device
from mopjepa.model.functions import numpy_functions
from mopjepa.results import read_table
from mopjepa.seeding import torch_generator
from mopjepa.train import load_checkpoint, load_into, save_checkpoint, train
from tests.pins.compute import ARMS, SMALL, TRIAL, TRIAL_METRICS, checksums, toy_examples
from tests.test_pinned_numbers import EXACT_RTOL, PINS, TRAIN_RTOL, assert_pinned

PINNED_TRIAL = PINS["trials"]["teleport"]

REPO = Path(__file__).resolve().parents[1]
CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(
    not CUDA, reason="no CUDA device on this machine (torch.cuda.is_available() is False): this CUDA check "
    "(training, determinism, checkpoints or the pinned trial on cuda against the CPU) runs only where a GPU is"
)
cpu_only = pytest.mark.skipif(CUDA, reason="this machine has a CUDA device: 'auto' means cuda here")

TRAIN_RTOL_CUDA = 1e-4
"""cuda vs cpu, training pins (loss terms, parameter checksums after 40 steps): 250x the largest move
a mere change of float summation order makes on the CPU (< 4e-7, tests/test_pinned_numbers.py)."""
PROTOCOL_ATOL_CUDA = 0.02
"""cuda vs cpu, the whole trial's protocol metrics (fractions of cells, edges or routes): a couple of
edges of the ~160 proposed may decode to another cell when latents move by float rounding."""


def train_run(name: str, device: str, flat: dict | None = None) -> tuple[dict[str, float], WorldModel]:
    arm = name.split("-")[0]
    cfg = TrialConfig.from_flat({"arm": arm, "seed": 3, **SMALL, **ARMS[name], "device": device, **(flat or {})})
    context, target, _ = toy_examples()
    model = WorldModel.build(cfg, 2, 2, context.mean(0), context.std(0))
    sampler = BatchSampler(context, target, cfg.train.batch_size, torch_generator(cfg.seed, "batches"))
    summary = train(model, sampler, cfg.train)
    assert summary.device == resolve_device(device).type
    numbers = {k: v for k, v in summary.final_metrics.items() if k != "train/examples_per_s"}
    return numbers | checksums(model), model


def parameters(model: WorldModel) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}


def assert_same_bits(first: WorldModel, second: WorldModel) -> None:
    a, b = parameters(first), parameters(second)
    assert a.keys() == b.keys()
    differing = [name for name in a if not torch.equal(a[name], b[name])]
    assert not differing, f"tensors differ bitwise: {differing}"


# ---- the resolver -------------------------------------------------------------------------------


def test_auto_resolves_to_the_device_this_process_sees():
    assert resolve_device("auto") == torch.device("cuda" if CUDA else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@cpu_only
def test_cuda_without_a_gpu_is_a_one_line_error_naming_field_and_value():
    with pytest.raises(ConfigError) as error:
        resolve_device("cuda")
    message = str(error.value)
    assert "\n" not in message and "'device'" in message and "'cuda'" in message and "'cpu'" in message
    cfg = TrialConfig.from_flat({"arm": "dense", **SMALL, "device": "cuda"})  # valid config: where, not what
    context, target, _ = toy_examples(100)
    sampler = BatchSampler(context, target, cfg.train.batch_size, torch_generator(0, "batches"))
    with pytest.raises(ConfigError, match="'device' = 'cuda'"):
        train(WorldModel.build(cfg, 2, 2, context.mean(0), context.std(0)), sampler, cfg.train)


@cpu_only
def test_run_trial_with_device_cuda_on_a_cpu_machine_stops_before_any_work_in_one_line(tmp_path):
    command = [sys.executable, str(REPO / "pipelines" / "run_trial.py"), "--device", "cuda", "--no-download",
               "--dataset-dir", str(tmp_path / "absent"), "--out", str(tmp_path / "out")]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: config field 'device' = 'cuda' is not allowed here: no CUDA device is visible to this process "
        "(torch.cuda.is_available() is False); use 'auto' or 'cpu'"
    ]
    assert not (tmp_path / "out").exists()


def test_an_unknown_device_is_refused_by_the_config_and_the_resolver():
    with pytest.raises(ConfigError, match="'device' = 'tpu'"):
        TrialConfig.from_flat({"arm": "dense", "device": "tpu"})
    with pytest.raises(ConfigError, match="'device' = 'gpu'"):
        resolve_device("gpu")


# ---- the CPU path equals the default ------------------------------------------------------------


@cpu_only
@pytest.mark.parametrize("name", ["dense", "mop", "var"])
def test_device_cpu_trains_bit_for_bit_like_the_default(name, one_thread):
    explicit, explicit_model = train_run(name, "cpu")
    default, default_model = train_run(name, "auto")
    assert explicit == default
    assert_same_bits(explicit_model, default_model)
    assert explicit_model.device == torch.device("cpu")


def test_chunked_index_draws_are_the_per_step_draws():
    context, target, action = toy_examples(500)
    sampler = BatchSampler(context, target, 32, torch_generator(7, "batches"), action=action).to("cpu")
    reference = torch_generator(7, "batches")
    for _ in range(2 * CHUNK_STEPS + 3):  # across chunk boundaries
        index = torch.randint(len(context), (32,), generator=reference)  # what sample() drew before chunking
        obs, next_obs, act = sampler.sample()
        assert torch.equal(obs, torch.as_tensor(context)[index])
        assert torch.equal(next_obs, torch.as_tensor(target)[index])
        assert torch.equal(act, torch.as_tensor(action)[index])
    assert sampler.device == torch.device("cpu")


# ---- checkpoints --------------------------------------------------------------------------------


def test_checkpoints_are_saved_device_free_and_load_onto_the_requested_device(tmp_path, one_thread):
    _, model = train_run("mop", "auto", {"steps": 5, "log_every": 5})
    path = tmp_path / "model.pt"
    save_checkpoint(model, path)
    raw = torch.load(path, weights_only=True)  # no map_location: the file itself holds CPU tensors
    assert {tensor.device.type for tensor in raw["state_dict"].values()} == {"cpu"}
    for device in ("cpu", "auto"):
        restored = load_checkpoint(path, device)
        assert restored.device == resolve_device(device)
        assert_same_bits(restored, model)
    fresh = load_checkpoint(path, "cpu")
    load_into(fresh, path)  # onto the receiving model's device
    assert fresh.device == torch.device("cpu")
    assert_same_bits(fresh, model)


def test_cell_queries_run_on_the_models_device_numpy_in_and_out(one_thread):
    _, model = train_run("mop", "auto", {"steps": 3, "log_every": 3})
    functions = numpy_functions(model)
    encode, successors, rollout = functions.encode, functions.successors, functions.rollout
    observations = toy_examples(10)[0]
    latents = encode(observations)
    second, weights = rollout(latents)
    first, first_weights = successors(observations)
    assert isinstance(latents, np.ndarray) and latents.shape == (10, 8)
    assert second.shape == first.shape == (10, 4, 8) and weights.shape == first_weights.shape == (10, 4)


# ---- the trial and its entry point --------------------------------------------------------------


@pytest.mark.slow
def test_run_trial_cli_with_device_cpu_reproduces_the_pinned_trial_and_records_the_device(small_data_dir, tmp_path):
    flags = {k: v for k, v in TRIAL.items() if k not in ("task", "arm", "seed", "steps", "download")}
    command = [sys.executable, str(REPO / "pipelines" / "run_trial.py"), "--task", TRIAL["task"], "--arm", "mop",
               "--seed", str(TRIAL["seed"]), "--steps", str(TRIAL["steps"]), "--dataset-dir", str(small_data_dir),
               "--no-download", "--out", str(tmp_path), "--device", "cpu"]
    for key, value in flags.items():
        command += [f"--{key}", str(value)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    metrics = read_table(tmp_path / "results", "metrics")
    rows = {f"{m}|{k}": v for m, k, v in zip(metrics.metric, metrics.key, metrics.value, strict=True)}
    assert rows["train_device|cpu"] == 1.0
    assert set(metrics.device) == {"cpu"}
    got = {name: value for name, value in rows.items() if name.split("|")[0] in TRIAL_METRICS}
    got["train/loss"] = float(
        read_table(tmp_path / "results", "training").query("metric == 'train/loss'").sort_values("step").value.iloc[-1]
    )
    episodes = read_table(tmp_path / "results", "episodes")
    got["episode_steps"] = float(episodes.steps.sum())
    got["episode_successes"] = float(episodes.success.sum())
    got["episode_fallbacks"] = float(episodes.used_fallback.sum())
    got["episode_replans"] = float(episodes.replans.sum())
    got["episode_planned_successes"] = float((episodes.success & ~episodes.used_fallback).sum())
    nan = {k for k, v in PINNED_TRIAL.items() if np.isnan(v)}
    assert {k for k, v in got.items() if np.isnan(v)} == nan
    assert_pinned({"train/loss": got.pop("train/loss")}, {"train/loss": PINNED_TRIAL["train/loss"]}, TRAIN_RTOL)
    assert_pinned({k: v for k, v in got.items() if k not in nan},
                  {k: v for k, v in PINNED_TRIAL.items() if k not in nan and k != "train/loss"}, EXACT_RTOL)


# ---- the matrix's GPU share ---------------------------------------------------------------------


def test_gpus_per_trial_is_a_gpu_share_of_the_trials_own_bundle_only():
    from pipelines.tune_driver import trial_bundles

    assert trial_bundles(1, 0.0, 0) == [{"CPU": 1}]
    assert trial_bundles(2, 0.25, 2) == [{"CPU": 2, "GPU": 0.25}, {"CPU": 1}, {"CPU": 1}]  # actors: CPUs only


def _matrix_args(gpus: float, *sets: str) -> Namespace:
    from pipelines.full_matrix import parse_args

    overrides = [part for item in sets for part in (f"--{item.partition('=')[0]}", item.partition("=")[2])]
    return parse_args(["--preset", "smoke", "--gpus-per-trial", str(gpus), *overrides])


def test_the_matrix_pins_auto_to_cpu_without_gpus_and_leaves_it_to_the_trial_with_them():
    from pipelines.full_matrix import planned_trials

    assert {flat["device"] for flat in planned_trials(_matrix_args(0))} == {"cpu"}
    assert {flat["device"] for flat in planned_trials(_matrix_args(0.25, "device=auto"))} == {"auto"}
    assert {flat["device"] for flat in planned_trials(_matrix_args(0, "device=cpu"))} == {"cpu"}
    with pytest.raises(ConfigError, match="'device' = 'cuda'.*--gpus-per-trial"):
        planned_trials(_matrix_args(0, "device=cuda"))


def test_a_gpu_share_above_one_is_refused_in_one_line(capsys):
    with pytest.raises(SystemExit):
        _matrix_args(1.5)
    assert "--gpus-per-trial = 1.5 is not allowed" in capsys.readouterr().err


# ---- on a GPU -----------------------------------------------------------------------------------


@needs_cuda
@pytest.mark.parametrize("name", sorted(ARMS))
def test_cuda_training_agrees_with_the_cpu_and_repeats_bit_for_bit(name, one_thread):
    on_cpu, _ = train_run(name, "cpu")
    on_cuda, model = train_run(name, "cuda")
    again, model_again = train_run(name, "cuda")
    assert model.device.type == "cuda"
    assert_pinned(on_cuda, on_cpu, TRAIN_RTOL_CUDA)
    assert on_cuda == again
    assert_same_bits(model, model_again)


@needs_cuda
def test_a_cuda_checkpoint_loads_on_the_cpu_and_back(tmp_path, one_thread):
    _, model = train_run("mop", "cuda", {"steps": 5, "log_every": 5})
    save_checkpoint(model, tmp_path / "model.pt")
    on_cpu = load_checkpoint(tmp_path / "model.pt", "cpu")
    back = load_checkpoint(tmp_path / "model.pt", "cuda")
    assert on_cpu.device.type == "cpu" and back.device.type == "cuda"
    assert_same_bits(on_cpu, model)
    assert_same_bits(back, model)


@needs_cuda
@pytest.mark.slow
def test_a_short_trial_on_cuda_agrees_with_the_cpu_and_repeats(small_data_dir, one_thread):
    task = load_task_data(TRIAL["task"], small_data_dir, download=False)

    def numbers(device: str) -> dict[str, float]:
        cfg = TrialConfig.from_flat({**TRIAL, "dataset_dir": str(small_data_dir), "device": device})
        summary = run_trial(cfg, task)
        assert summary.train_summary.device == device
        rows = {f"{r['metric']}|{r['key']}": r["value"] for r in summary.metrics if r["metric"] in TRIAL_METRICS}
        return rows | {"train/loss": summary.train_summary.final_metrics["train/loss"]}

    on_cpu, on_cuda, again = numbers("cpu"), numbers("cuda"), numbers("cuda")
    assert on_cuda.keys() == on_cpu.keys()
    assert _nan_equal(on_cuda, again), "the same seed on cuda gave other numbers"
    assert np.isclose(on_cuda.pop("train/loss"), on_cpu.pop("train/loss"), rtol=TRAIN_RTOL_CUDA)
    far = {k: (on_cuda[k], on_cpu[k]) for k in on_cpu if k != "edges|"
           and not (np.isnan(on_cpu[k]) and np.isnan(on_cuda[k]))
           and not abs(on_cuda[k] - on_cpu[k]) <= PROTOCOL_ATOL_CUDA}
    assert not far, f"cuda vs cpu beyond {PROTOCOL_ATOL_CUDA}: {far}"
    assert abs(on_cuda["edges|"] - on_cpu["edges|"]) <= PROTOCOL_ATOL_CUDA * on_cpu["edges|"]


def _nan_equal(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k])) for k in a)


@pytest.mark.slow
def test_the_matrix_runs_trials_on_gpu_shares_of_a_cluster(tmp_path, full_data_dir):
    """Two tiny trials at --gpus-per-trial 0.5, submitted with `ray job submit` to a head advertising one
    GPU: Tune's requests with a fractional GPU are well formed and scheduled. (This machine's torch has no
    CUDA, so the trials train on the CPU: 'auto' is the trial's own answer; the device row says so.)"""
    import json
    import shutil
    import tempfile

    from tests.local_ray import ray_env, start_head, stop_nodes

    tiny = {"task": "pointmaze-medium-stitch-v0", "steps": 20, "batch_size": 32, "latent_dim": 8,
            "encoder_hidden": 32, "hidden_dim": 32, "log_every": 10, "episodes_per_task": 0}
    trials = tmp_path / "gpu.json"
    trials.write_text(json.dumps([{**tiny, "arm": "dense", "seed": 0}, {**tiny, "arm": "mop", "K": 2, "seed": 0}]))
    ray_dir = Path(tempfile.mkdtemp(prefix="mopjepa-ray-"))  # short: Ray's socket paths live under it
    storage = tmp_path / "store"
    try:
        _, dashboard = start_head(ray_dir, num_cpus=2, dashboard=True, num_gpus=1)
        job = subprocess.run(
            ["ray", "job", "submit", f"--address=http://127.0.0.1:{dashboard}", f"--working-dir={REPO}", "--",
             "python", "pipelines/full_matrix.py", "--trials-file", str(trials), "--storage", str(storage),
             "--dataset-dir", str(full_data_dir), "--no-download", "--gpus-per-trial", "0.5"],
            env=ray_env(), capture_output=True, text=True, timeout=900,
        )
    finally:
        stop_nodes(ray_dir)
        shutil.rmtree(ray_dir, ignore_errors=True)
    assert job.returncode == 0, job.stdout[-4000:] + job.stderr[-4000:]
    assert "done: 2 finished" in job.stdout
    metrics = read_table(storage / "gpu" / "results", "metrics")
    assert set(metrics.device) == {"auto"}  # left to the trial, which was given its GPU share
    devices = metrics[metrics.metric == "train_device"]
    assert len(devices) == 2 and set(devices.key) == {"cuda" if CUDA else "cpu"}
