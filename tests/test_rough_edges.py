"""Bad input and faults get one clear line naming the field, the value and what is allowed, and usage or config
errors exit 2 everywhere: seeds beyond int64, non-finite lr and gate_factor, a batch size beyond any dataset,
--out or --storage naming a file, make_data's negative seed, an option given under both its spellings, a
manifest whose trial id is not its config's, an mlflow.db that is not SQLite, a truncated or garbage
checkpoint, a full disk while creating the store or writing the manifest, and Tune's Tuner.restore advice.

The CLIs run in-process (their `main(argv)`, stderr captured) where nothing but the message is checked, and as
processes where a traceback could slip out of a library's logging.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from pipelines import aggregate, make_data, run_trial
from tests.analysis_handmade import write_handmade

REPO = Path(__file__).resolve().parents[1]
TASK = "pointmaze-medium-stitch-v0"


def _main_line(main, argv: list[str], capsys) -> str:
    """The one line `main(argv)` prints to stderr, checking it returned (or exited) 2."""
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own refusals
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err, err
    return err.strip().splitlines()[-1]


def _process(script: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("RAY_ADDRESS", None)
    return subprocess.run([sys.executable, str(REPO / "pipelines" / script), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def _trial_args(tmp_path: Path, *extra: str) -> list[str]:
    return ["--task", TASK, "--arm", "dense", "--dataset-dir", str(tmp_path / "data"), "--no-download",
            "--out", str(tmp_path / "out"), *extra]


@pytest.mark.parametrize(("extra", "line"), [
    (["--seed", "18446744073709551617"], "error: config field 'seed' = 18446744073709551617 is not allowed: must be "
                                         "an int in [0, 9223372036854775807] (int64)"),
    (["--data-seed", "-1"], "error: config field 'data_seed' = -1 is not allowed: must be an int in [0, "),
    (["--lr", "inf"], "error: config field 'lr' = inf is not allowed: must be a finite number > 0"),
    (["--lr", "nan"], "error: config field 'lr' = nan is not allowed: must be a finite number > 0"),
    (["--gate-factor", "inf"], "error: config field 'gate_factor' = inf is not allowed: must be a finite number > 0"),
    (["--batch-size", "100000000000"], "error: config field 'batch_size' = 100000000000 is not allowed: must be "
                                       "<= 1,048,576"),
], ids=["seed-beyond-int64", "negative-data-seed", "lr-inf", "lr-nan", "gate-factor-inf", "huge-batch"])
def test_a_trial_value_out_of_range_is_refused_before_any_work(tmp_path, capsys, extra, line):
    assert _main_line(run_trial.main, _trial_args(tmp_path, *extra), capsys).startswith(line)
    assert not (tmp_path / "data").exists() and not (tmp_path / "out").exists()


def test_out_naming_a_file_is_refused_before_training(tmp_path, capsys):
    afile = tmp_path / "results.txt"
    afile.write_text("not a directory")
    args = _trial_args(tmp_path)
    args[args.index("--out") + 1] = str(afile)
    line = _main_line(run_trial.main, args, capsys)
    assert line == f"error: --out {str(afile)!r} names a file: it must be a directory (it is created if missing)"
    args[args.index("--out") + 1] = str(afile / "inside")
    assert f"is under {str(afile)!r}, a file" in _main_line(run_trial.main, args, capsys)
    assert not (tmp_path / "data").exists()  # refused before the data was prepared


def test_storage_naming_a_file_is_refused_by_the_driver(tmp_path):
    afile = tmp_path / "storage"
    afile.write_text("")
    done = _process("full_matrix.py", "--preset", "smoke", "--storage", str(afile))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip() == f"error: --storage {str(afile)!r} names a file: it must be a directory (it is " \
                                  "created if missing)"


def test_make_data_with_a_negative_seed_is_one_line_and_leaves_no_seed_folder(tmp_path, capsys):
    line = _main_line(make_data.main, ["pointmaze-medium-stitch-v0", "--dataset-dir", str(tmp_path), "--seed", "-3",
                                       "--no-download"], capsys)
    assert line == ("error: regeneration seed (--seed, data_seed) = -3 is not allowed: must be an int in "
                    "[0, 9223372036854775807]")
    assert list(tmp_path.rglob("*")) == []  # no regenerated/seed--3 in the shared cache


@pytest.mark.parametrize("main", [run_trial.main, make_data.main], ids=["run_trial", "make_data"])
def test_both_spellings_of_the_dataset_dir_are_refused_not_the_last_silently_kept(tmp_path, capsys, main):
    argv = ["--dataset-dir", str(tmp_path / "a"), "--dataset_dir", str(tmp_path / "b")]
    argv = [TASK, *argv] if main is make_data.main else ["--task", TASK, *argv]
    line = _main_line(main, argv, capsys)
    assert line.endswith("error: --dataset-dir and --dataset_dir both given: they are the same option "
                         "(--dataset-dir); give it once")


def test_the_driver_refuses_both_spellings_of_the_dataset_dir(tmp_path):
    done = _process("full_matrix.py", "--preset", "smoke", "--storage", str(tmp_path / "s"),
                    "--dataset_dir", str(tmp_path / "a"), "--dataset-dir", str(tmp_path / "b"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].endswith("--dataset_dir and --dataset-dir both given: they are the "
                                                         "same option (--dataset-dir); give it once")
    assert not (tmp_path / "s").exists()


def test_a_manifest_whose_trial_id_is_not_its_configs_is_refused_naming_it(tmp_path, capsys):
    experiment = write_handmade(tmp_path)
    path = experiment / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["trials"][0]["trial_id"] = "0123456789ab"  # planned under an id no run of its config writes
    path.write_text(json.dumps(manifest))
    line = _main_line(aggregate.main, [str(experiment)], capsys)
    assert line.startswith(f"error: manifest {str(path)!r} is corrupt (trial id '0123456789ab' is not the id of its "
                           "flat config (")
    assert "mv " in line and not (experiment / "report").exists()  # refused, not a report of 8 of 1 planned


def test_an_mlflow_db_that_is_not_sqlite_is_one_line_after_the_report(tmp_path):
    experiment = write_handmade(tmp_path)
    store = tmp_path / "mlflow.db"
    store.write_text("this is not an SQLite database\n" * 50)
    done = _process("aggregate.py", str(experiment))
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    line, = done.stderr.strip().splitlines()
    assert line.startswith(f"error: MLflow: the MLflow store {store} cannot be read (file is not a database)")
    assert f"the report is at {experiment / 'report'} but was not logged" in line
    assert (experiment / "report" / "report.md").exists()  # the report does not depend on MLflow


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_truncated_or_garbage_checkpoint_is_one_line_never_advising_weights_only_false(tmp_path, damage):
    import numpy as np

    from mopjepa.config import TrialConfig
    from mopjepa.model import WorldModel
    from mopjepa.train import CheckpointError, load_checkpoint, save_checkpoint

    cfg = TrialConfig.from_flat({"arm": "dense", "latent_dim": 8, "encoder_hidden": 16, "hidden_dim": 16})
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(WorldModel.build(cfg, 4, 2, np.zeros(4), np.ones(4)), path)
    whole = path.read_bytes()
    path.write_bytes({"truncated": whole[: len(whole) // 2], "garbage": os.urandom(4096), "empty": b""}[damage])
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    message = str(error.value)
    assert message.startswith(f"checkpoint {str(path)!r} is truncated or not a checkpoint (")
    assert "\n" not in message and "weights_only" not in message and error.value.__cause__ is None


@contextlib.contextmanager
def _tmpfs(size: str):
    """A tmpfs of `size` (a full disk on demand); skips where this user may not mount one."""
    point = Path(f"/tmp/mopjepa-full-{uuid.uuid4().hex[:8]}")
    point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        point.rmdir()
        pytest.skip(f"a full disk is simulated with a small tmpfs, and mounting one failed here: "
                    f"{mounted.stderr.strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", str(point)], check=False)
        point.rmdir()


def test_a_full_disk_while_creating_the_store_is_one_line_and_keeps_no_temporary_file():
    code = ("import sys; from pipelines.tracking import StoreError, prepare_store\n"
            "try:\n    prepare_store(sys.argv[1])\nexcept StoreError as error:\n    print(error); sys.exit(2)")
    with _tmpfs("200k") as full:
        done = subprocess.run([sys.executable, "-c", code, f"sqlite:///{full / 'mlflow.db'}"], cwd=REPO,
                              capture_output=True, text=True, timeout=300)
        left = sorted(path.name for path in full.iterdir())
    assert done.returncode == 2, done.stderr[-3000:]
    message, = done.stdout.strip().splitlines()
    assert message.startswith(f"the MLflow store {full / 'mlflow.db'} cannot be created (database or disk is full)")
    assert "free space in" in message
    assert left == []  # no half-made store, temporary file, journal or lock


def test_a_full_disk_while_writing_the_manifest_is_one_line(tmp_path):
    trials = tmp_path / "matrix.json"
    trials.write_text(json.dumps([{"task": TASK, "arm": "dense", "seed": 0}]))
    with _tmpfs("4k") as full:
        done = _process("full_matrix.py", "--trials-file", str(trials), "--storage", str(full), "--name", "exp",
                        "--no-download")
        left = sorted(str(path.relative_to(full)) for path in full.rglob("*"))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.stderr.strip() == (f"error: manifest {str(full / 'exp' / 'manifest.json')!r} cannot be written "
                                   f"(No space left on device); free space in {str(full / 'exp')!r} (or pass "
                                   "another --storage) and rerun")
    assert left == ["exp"]  # the lock was let go and removed, no temporary manifest kept


def test_tunes_tuner_restore_advice_is_dropped():
    from pipelines.tune_driver import quiet_restore_advice

    class Kept(logging.Handler):
        def __init__(self):
            super().__init__(logging.WARNING)
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    quiet_restore_advice()
    tune_logger, kept = logging.getLogger("ray.tune.tune"), Kept()
    tune_logger.addHandler(kept)
    try:
        tune_logger.warning("Experiment has been interrupted, but the most recent state was saved.\n"
                            "Resume experiment with: Tuner.restore(path=\"/x\", trainable=...)")
        tune_logger.warning("Trials did not complete: [t1]")
    finally:
        tune_logger.removeHandler(kept)
    assert kept.messages == ["Trials did not complete: [t1]"]


def test_the_progress_bar_starts_at_its_first_count_and_draws_its_end_once(capsys):
    from pipelines.common import tqdm_progress

    with tqdm_progress("regenerating x", unit="episode") as progress:
        for done in (50, 100, 150):
            progress(done, 150)
    drawn = capsys.readouterr().err.replace("\r", "\n")
    assert drawn.count("150/150") == 1, drawn
    first = next(line for line in drawn.splitlines() if "50/150" in line)
    assert "?episode/s" in first  # no rate from one chunk in no time (it read millions of episodes/s)


@pytest.mark.slow
def test_a_full_disk_while_trials_write_their_results_ends_with_the_summary_and_one_line(tmp_path, small_data_dir):
    from tests.interrupts_helpers import TINY

    trials = tmp_path / "matrix.json"
    trials.write_text(json.dumps([{**TINY, "task": TASK, "arm": "dense", "seed": seed} for seed in range(6)]))
    env_ray = tempfile.mkdtemp(prefix="mj-ray-")  # Ray's own files stay off the full disk
    with _tmpfs("1800k") as full:  # room for the store and about one trial's results
        env = dict(os.environ, PYTHONPATH=str(REPO), RAY_TMPDIR=env_ray)
        env.pop("RAY_ADDRESS", None)
        done = subprocess.run([sys.executable, str(REPO / "pipelines" / "full_matrix.py"), "--trials-file",
                               str(trials), "--storage", str(full), "--name", "exp", "--dataset-dir",
                               str(small_data_dir), "--no-download", "--local-cpus", "1"],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "full_matrix.py" not in done.stderr, "the driver's own traceback"
    assert done.stdout.strip().splitlines()[-1].startswith("stopped: ") and "of 6 planned" in done.stdout
    said = [line for line in done.stderr.splitlines() if line.startswith("error: ")]  # the driver's own lines
    assert len(said) == 1 and said[0].startswith(f"error: the disk holding {full} is full ("), said
    assert "run the same command again" in said[0]
