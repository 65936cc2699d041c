"""No dead ends (issue 25): bad input is refused before anything is written, a broken table of one trial
reruns that trial instead of blocking the report, and Ctrl-C during a regeneration ends its workers.

Each test runs the real entry point: the driver and the CLIs as processes (with a real signal for the
interrupts), aggregate.py on real files.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mopjepa.config import TrialConfig
from mopjepa.results import (
    UNREADABLE,
    Lineage,
    completed_trials,
    read_table,
    trial_file,
    trial_id,
    trial_states,
    write_trial_rows,
)
from pipelines import aggregate
from tests.analysis_handmade import TRIALS, flat_of, write_handmade
from tests.interrupts_helpers import TASK, TINY, driver, leftover_ray, matrix_args, tiny_matrix, with_default_sigint

REPO = Path(__file__).resolve().parents[1]


def _run(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("RAY_ADDRESS", None)
    return subprocess.run([sys.executable, str(REPO / "pipelines" / script), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


# -- 1. bad input: one line, exit 2, nothing written --------------------------------------------------------


def test_a_misspelt_task_writes_nothing_and_the_corrected_file_runs_under_the_same_name(tmp_path, small_data_dir):
    storage = tmp_path / "store"
    trials = tmp_path / "matrix.json"
    trial = {**TINY, "task": TASK, "arm": "dense", "seed": 0}
    trials.write_text(json.dumps([{**trial, "task": "pointmaze-medum-stitch-v0"}]))
    common = ["--trials-file", str(trials), "--storage", str(storage), "--name", "exp",
              "--dataset-dir", str(small_data_dir), "--no-download", "--local-cpus", "1"]
    line = _one_line_error(_run("full_matrix.py", *common))
    assert line.startswith("error: config field 'task' = 'pointmaze-medum-stitch-v0' is not allowed")
    assert "'medium'" in line and "unknown maze 'medum'" in line
    # Nothing was written (no lock, manifest or MLflow store), so the corrected file runs under the same name.
    assert not storage.exists(), sorted(str(p) for p in storage.rglob("*"))

    trials.write_text(json.dumps([trial]))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    env.pop("RAY_ADDRESS", None)
    second = subprocess.Popen([sys.executable, str(REPO / "pipelines" / "full_matrix.py"), *common], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                              preexec_fn=with_default_sigint)
    output = []
    try:
        while line := second.stdout.readline():
            output.append(line)
            if line.startswith("experiment exp: 1 trials"):  # planned and recorded: the name is accepted
                os.killpg(second.pid, signal.SIGINT)  # stopped there, to stay fast
                break
        rest, _ = second.communicate(timeout=300)
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
            second.wait()
    text = "".join(output) + rest
    assert any(line.startswith("experiment exp: 1 trials") for line in output), text[-3000:]
    assert "different trial list" not in text and "Traceback" not in text, text[-3000:]
    assert second.returncode == 130, text[-3000:]
    manifest = json.loads((storage / "exp" / "manifest.json").read_text())
    assert [t["trial_id"] for t in manifest["trials"]] == [trial_id(TrialConfig.from_flat(trial))]
    # An interrupted driver lets go of its locks too: no lock file is left behind.
    assert not (storage / "exp" / "driver.lock").exists() and not (storage / "mlflow.db.lock").exists()


@pytest.mark.parametrize("content, expected", [(None, "does not exist"), ("[{\"task\": ", "is not JSON"),
                                               ("{\"task\": 1}", "holds a dict, not a list"),
                                               ("[]", "holds no trials")],
                         ids=["missing", "not-json", "not-a-list", "empty"])
def test_a_trials_file_that_is_missing_or_not_a_json_list_is_one_line(tmp_path, content, expected):
    trials = tmp_path / "matrix.json"
    if content is not None:
        trials.write_text(content)
    storage = tmp_path / "store"
    line = _one_line_error(_run("full_matrix.py", "--trials-file", str(trials), "--storage", str(storage)))
    assert line.startswith(f"error: --trials-file {str(trials)!r} {expected}")
    assert not storage.exists()


def test_a_corrupt_manifest_is_one_line_naming_it_for_the_driver_and_the_report(tmp_path):
    storage = tmp_path / "store"
    manifest = storage / "matrix" / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text('{"preset": "custom", "trials": [')
    line = _one_line_error(_run("full_matrix.py", *matrix_args(tiny_matrix(tmp_path), storage, tmp_path / "data")))
    assert line.startswith(f"error: manifest {str(manifest)!r} is corrupt (not readable as JSON")
    assert not (storage / "mlflow.db").exists()

    report = _run("aggregate.py", str(manifest.parent))
    assert _one_line_error(report).startswith(f"error: manifest {str(manifest)!r} is corrupt")


# -- 2. a broken table of one trial: that trial is unreadable and reruns, the report goes on -----------------


def _truncate(path: Path, size: int = 300) -> None:
    path.write_bytes(path.read_bytes()[:size])


def test_a_truncated_curves_file_makes_its_trial_unreadable_and_the_report_lists_it(tmp_path, capsys):
    experiment = write_handmade(tmp_path)
    results = experiment / "results"
    cfg = TrialConfig.from_flat(flat_of({k: v for k, v in TRIALS[6][0].items() if k != "studies"}))  # mop seed 0
    identity = trial_id(cfg)
    lineage = Lineage(identity, "exp", "regenerated", "h", "abc123").columns(cfg)
    curves = write_trial_rows(results, "curves", [{"step": s, "metric": "plan_all", "key": "", "value": 0.1}
                                            for s in range(50)], lineage)
    assert trial_states(results)[identity] != UNREADABLE
    _truncate(curves)
    assert trial_states(results)[identity] == UNREADABLE
    assert identity not in completed_trials(results) and identity not in set(read_table(results, "metrics").trial_id)
    assert read_table(results, "curves").empty  # the only curves were the broken trial's: no reader sees them

    assert aggregate.main([str(experiment), "--out", str(tmp_path / "report")]) == 0
    output = capsys.readouterr().out
    assert "NOT COMPLETE: 2 trial(s)" in output
    assert "unreadable trials (1 a table file truncated or corrupt" in output
    assert f"{identity}: mop on {TASK}, seed 0" in output


def test_the_record_still_loads_in_a_few_seconds():
    record = REPO / "reproduction" / "reproduce" / "results"
    if not record.is_dir():
        pytest.skip("no committed reproduction record in this checkout")
    start = time.perf_counter()
    states = trial_states(record)
    assert states and time.perf_counter() - start < 5


@pytest.mark.slow
def test_the_driver_reruns_a_trial_whose_curves_file_is_truncated(tmp_path, full_data_dir):
    storage = tmp_path / "store"
    results = storage / "matrix" / "results"
    configs = [TrialConfig.from_flat({**TINY, "task": TASK, "arm": "dense", "seed": s}) for s in (0, 1)]
    for cfg in configs:  # two trials finished earlier, on another machine's data
        lineage = {**Lineage(trial_id(cfg), "matrix", "regenerated", "3f" * 32, "c").columns(cfg),
                   "environment": json.dumps({"processor": "AMD EPYC 7B13"})}
        write_trial_rows(results, "curves", [{"step": 10, "metric": "plan_all", "key": "", "value": 0.1}], lineage)
        write_trial_rows(results, "metrics", [{"metric": "plan_all", "key": "", "value": 0.1}], lineage)
    broken, kept = (trial_id(cfg) for cfg in configs)
    _truncate(trial_file(results, "curves", TASK, "dense", broken))
    kept_metrics = trial_file(results, "metrics", TASK, "dense", kept)
    kept_stamp = kept_metrics.stat().st_mtime_ns

    ray_tmp = Path(tempfile.mkdtemp(prefix="mj-ray-"))
    run = driver(matrix_args(tiny_matrix(tmp_path, seeds=(0, 1)), storage, full_data_dir), ray_tmp)
    output, _ = run.communicate(timeout=900)
    assert run.returncode == 0, output[-4000:]
    assert "resuming: 1 of 2 trials complete; the other 1 run" in output, output[-4000:]
    assert "done: 2 finished (1 already done), 0 failed, 0 not run of 2 planned" in output, output[-4000:]
    assert pq.read_table(trial_file(results, "curves", TASK, "dense", broken)).num_rows > 0
    assert kept_metrics.stat().st_mtime_ns == kept_stamp  # the complete trial was not run again
    from pipelines.common import processor_model

    # The data line: once, before any trial starts, naming the recorded hash and where it was made.
    line = f"differs from the 1 recorded trials' {'3f' * 6} (made on AMD EPYC 7B13; this install runs on " \
           f"{processor_model()}); new trials use this install's data"
    assert output.count(line) == 1 and output.index(line) < output.index("resuming:"), output[-4000:]
    # Where it ran: the manifest's first environment and every new row's.
    manifest = json.loads((storage / "matrix" / "manifest.json").read_text())
    assert manifest["environment"]["processor"] == processor_model()
    rows = read_table(results, "metrics")
    rerun = json.loads(rows[rows.trial_id == broken].environment.iloc[0])
    assert rerun["processor"] == processor_model() and {"torch", "numpy", "mujoco", "ogbench", "ray"} <= set(rerun)
    assert leftover_ray(ray_tmp) == []


# -- 3. Ctrl-C during a regeneration ----------------------------------------------------------------------


def _descendants(pid: int) -> dict[int, str]:
    """pid -> start time (from /proc) of every live descendant of `pid`."""
    parents, starts = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)], starts[int(entry.name)] = int(fields[1]), fields[19]
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found[child] = starts[child]
                frontier.append(child)
    return found


def _alive(processes: dict[int, str]) -> list[int]:
    alive = []
    for pid, start in processes.items():
        try:
            if (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[19] == start:
                alive.append(pid)
        except OSError:
            continue
    return alive


def _read_until(process: subprocess.Popen, marker: bytes, limit: float = 300) -> bytes:
    os.set_blocking(process.stdout.fileno(), False)
    seen, deadline = b"", time.time() + limit
    while marker not in seen and process.poll() is None and time.time() < deadline:
        time.sleep(0.2)
        seen += process.stdout.read() or b""
    return seen


REGENERATING = {
    "make_data": ("make_data.py", [TASK]),
    "run_trial": ("run_trial.py", ["--task", TASK, "--arm", "dense", "--steps", "5"]),
    "driver": ("full_matrix.py", ["--local-cpus", "1"]),
}


@pytest.mark.parametrize("entry, whole_group", [
    ("make_data", False), ("make_data", True),
    pytest.param("run_trial", True, marks=pytest.mark.slow),  # imports torch as well: ~25 s on 2 busy cores
    pytest.param("driver", False, marks=pytest.mark.slow),  # starts a local Ray first
], ids=["make_data-kill-INT-pid", "make_data-ctrl-c-group", "run_trial-ctrl-c-group", "driver-kill-INT-pid"])
def test_sigint_during_regeneration_ends_the_workers_keeps_no_file_and_exits_130(tmp_path, entry, whole_group):
    script, args = REGENERATING[entry]
    if entry == "driver":
        args = [*args, "--trials-file", str(tiny_matrix(tmp_path, seeds=(0,))), "--storage", str(tmp_path / "store")]
    if entry == "run_trial":
        args = [*args, "--out", str(tmp_path / "out")]
    data = tmp_path / "data"
    env = dict(os.environ, PYTHONPATH=str(REPO), RAY_TMPDIR=tempfile.mkdtemp(prefix="mj-ray-"))
    env.pop("RAY_ADDRESS", None)
    process = subprocess.Popen([sys.executable, str(REPO / "pipelines" / script), *args, "--dataset-dir", str(data),
                                "--no-download"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=with_default_sigint)
    try:
        seen = _read_until(process, b"episode/s")  # the progress bar: the workers are generating
        assert process.poll() is None, seen.decode(errors="replace")[-3000:]
        time.sleep(2)
        workers = _descendants(process.pid)
        assert len(workers) >= 2, f"expected the regeneration's worker processes, found {workers}"
        # workers: the spawned regeneration processes and multiprocessing's resource tracker, all to end
        signalled = time.time()
        (os.killpg if whole_group else os.kill)(process.pid, signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
        took = time.time() - signalled
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    output = (seen + rest).decode(errors="replace")
    assert process.returncode == 130, output[-3000:]
    assert took < 30, f"{took:.0f} s from SIGINT to exit"  # the hang reported lasted 30+ minutes
    assert "Traceback" not in output, output[-3000:]
    said = [line for line in output.replace("\r", "\n").splitlines() if line.startswith("interrupted by SIGINT:")]
    assert len(said) == 1 and "run the same command again" in said[0], output[-3000:]
    deadline = time.time() + 10
    while _alive(workers) and time.time() < deadline:
        time.sleep(0.2)
    assert _alive(workers) == [], f"processes of the interrupted regeneration still run: {_alive(workers)}"
    cache = data / "regenerated" / "seed-0"
    assert [str(path) for path in cache.rglob("*") if path.is_file()] == [], "a partial data file was kept"
    assert not cache.exists(), "the seed folder this run created was left behind, empty"
