"""Bad input gets a one-line message naming what is wrong (issue 14, item 7), and files keep the umask.

Each test runs the real entry point (or the real loader) on the bad input: an option spelled with an
underscore, --steps -1, data whose trajectories never end, observations outside the maze, an
audit name that is a path, a model whose latents cannot be normalized.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mopjepa.audit.interface import ModelFunctions, ModelOutputError
from mopjepa.data import DataError, load_task_data
from mopjepa.data.npzio import write_npz
from mopjepa.data.sources import regenerated_paths

REPO = Path(__file__).resolve().parents[1]
TASK = "pointmaze-medium-stitch-v0"


def _cli(script: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("RAY_ADDRESS", None)
    return subprocess.run([sys.executable, str(REPO / "pipelines" / script), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


def _one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done.stderr.strip().splitlines()[-1]


def test_dataset_dir_with_an_underscore_is_the_same_option(tmp_path):
    # An official-only dataset that is absent: the error names the directory that was actually used.
    done = _cli("run_trial.py", "--task", "antmaze-medium-navigate-v0", "--dataset_dir", str(tmp_path), "--no-download")
    assert str(tmp_path) in _one_line_error(done)


def test_a_matrix_override_of_an_invalid_value_or_a_runtime_key_is_one_line(tmp_path):
    line = _one_line_error(_cli("full_matrix.py", "--preset", "smoke", "--storage", str(tmp_path), "--steps", "-1"))
    assert line.startswith("error: config field 'steps' = -1")
    line = _one_line_error(_cli("full_matrix.py", "--preset", "smoke", "--storage", str(tmp_path),
                                "--download", "true"))
    assert line == ("error: --download is not allowed as a config override: download is set by its own option "
                    "(--dataset-dir, --no-download, --execute-workers)")
    assert not (tmp_path / "smoke").exists()  # nothing was started


def _doctored(source: Path, target: Path, change) -> Path:
    """A copy of the regenerated medium-stitch data under `target`, its train file changed by `change`."""
    train, val, meta = regenerated_paths(source, TASK, 0)
    new_train, new_val, new_meta = regenerated_paths(target, TASK, 0)
    new_train.parent.mkdir(parents=True)
    shutil.copy(val, new_val)
    shutil.copy(meta, new_meta)
    with np.load(train) as file:
        arrays = {key: file[key] for key in file.files}
    change(arrays)
    write_npz(new_train, arrays)
    return target


def test_a_dataset_whose_terminals_are_all_zero_is_rejected(tmp_path, small_data_dir):
    def no_ends(arrays):
        arrays["terminals"] = np.zeros_like(arrays["terminals"])

    directory = _doctored(small_data_dir, tmp_path / "data", no_ends)
    with pytest.raises(DataError, match=r"`terminals` mark 0 trajectory ends in \d+ steps.*201 steps long"):
        load_task_data(TASK, directory)


def test_observations_outside_the_maze_are_one_line(tmp_path, small_data_dir):
    def shifted(arrays):
        arrays["observations"] = arrays["observations"] + np.float32(100.0)

    directory = _doctored(small_data_dir, tmp_path / "data", shifted)
    done = _cli("run_trial.py", "--task", TASK, "--arm", "dense", "--steps", "5", "--dataset-dir", str(directory),
                "--no-download", "--out", str(tmp_path / "out"))
    assert "outside the free cells" in _one_line_error(done)


def test_audit_name_that_is_a_path_is_rejected(tmp_path):
    done = _cli("audit.py", "--task", TASK, "--model", "examples.tabular_model:factory", "--name", "../../x",
                "--out", str(tmp_path))
    line = _one_line_error(done)
    assert line.startswith("error: --name '../../x' is not allowed") and "not a path" in line
    assert not any(tmp_path.parent.parent.glob("x"))


def test_regenerated_data_is_written_with_the_umask(tmp_path):
    previous = os.umask(0o002)
    try:
        write_npz(tmp_path / "a.npz", {"x": np.zeros(3)})
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "a.npz").stat().st_mode) == 0o664


def test_ray_usage_statistics_are_off_unless_asked_for():
    from pipelines.tune_driver import driver_environment

    environ: dict[str, str] = {}
    driver_environment(environ)
    assert environ["RAY_USAGE_STATS_ENABLED"] == "0"
    environ = {"RAY_USAGE_STATS_ENABLED": "1"}
    driver_environment(environ)
    assert environ["RAY_USAGE_STATS_ENABLED"] == "1"


@pytest.mark.parametrize("dtype, size", [(np.float32, 1e30), (np.float64, 1e200)])
def test_latents_too_large_to_normalize_are_rejected(dtype, size):
    model = ModelFunctions(encode=lambda obs: np.full((len(obs), 4), size, dtype=dtype),
                           successors=lambda obs: (np.ones((len(obs), 1, 4)), np.ones((len(obs), 1))))
    with pytest.raises(ModelOutputError, match="latent entries up to .* must stay below"):
        model.call_encode(np.zeros((3, 4)))
