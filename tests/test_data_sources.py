"""Dataset names, sources, regeneration and bad input (docs/protocol.md#1-tasks-and-data)."""

import zipfile
from pathlib import Path

import numpy as np
import pytest

from mopjepa.data import DataError, load_task_data, parse_dataset_name
from mopjepa.data.maze import MazeGeometry, make_env
from mopjepa.data.npzio import file_sha256, write_npz
from mopjepa.data.regenerate import OracleSubgoals, regenerate
from mopjepa.data.sources import regenerate_to_cache, regenerated_paths


@pytest.mark.parametrize(
    ("name", "env_name", "regenerable"),
    [
        ("pointmaze-medium-stitch-v0", "pointmaze-medium-v0", True),
        ("pointmaze-giant-stitch-v0", "pointmaze-giant-v0", True),
        ("pointmaze-large-navigate-v0", "pointmaze-large-v0", True),
        ("antmaze-teleport-navigate-v0", "antmaze-teleport-v0", False),
        ("humanoidmaze-medium-navigate-v0", "humanoidmaze-medium-v0", False),
    ],
)
def test_dataset_names_map_to_their_environment(name, env_name, regenerable):
    parsed = parse_dataset_name(name)
    assert parsed.env_name == env_name
    assert parsed.can_regenerate is regenerable


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("pointmaze-medium-v0", "unknown dataset name"),
        ("cubemaze-medium-stitch-v0", "unknown agent 'cube'"),
        ("pointmaze-tiny-stitch-v0", "unknown maze 'tiny'"),
        ("pointmaze-medium-wander-v0", "unknown type 'wander'"),
        ("pointmaze-medium-stitch-v1", "unknown dataset version"),
        ("visual-antmaze-medium-navigate-v0", "pixel observations"),
    ],
)
def test_unknown_dataset_names_are_clear_errors(name, fragment):
    with pytest.raises(DataError, match=fragment):
        parse_dataset_name(name)


def test_recipe_sizes_are_ogbench_commands():
    assert parse_dataset_name("pointmaze-medium-stitch-v0").recipe() == (5000, 201, 0.5)
    assert parse_dataset_name("pointmaze-teleport-navigate-v0").recipe() == (1000, 1001, 0.5)
    assert parse_dataset_name("pointmaze-giant-navigate-v0").recipe() == (500, 2001, 0.5)


def test_cached_oracle_equals_the_environment_oracle():
    env = make_env("pointmaze-large-v0")
    geometry = MazeGeometry.from_env(env)
    oracle = OracleSubgoals(geometry)
    rng = np.random.default_rng(0)
    free = geometry.free_ij
    for _ in range(400):
        start = geometry.ij_to_xy(free[rng.integers(len(free))]) + rng.uniform(-1.9, 1.9, 2)
        goal = geometry.ij_to_xy(free[rng.integers(len(free))]) + rng.uniform(-1.9, 1.9, 2)
        expected, _ = env.unwrapped.get_oracle_subgoal(start, goal)
        np.testing.assert_array_equal(oracle(start, goal), expected)


def test_regeneration_follows_the_recipe():
    name = parse_dataset_name("pointmaze-medium-stitch-v0")
    train, val = regenerate(name, seed=0, workers=1, num_episodes=10)
    assert len(train["observations"]) == 10 * 201 and len(val["observations"]) == 1 * 201
    assert train["terminals"].dtype == bool and train["terminals"].sum() == 10
    assert np.flatnonzero(train["terminals"]).tolist() == [201 * k + 200 for k in range(10)]
    assert np.abs(train["actions"]).max() <= 1.0
    steps = np.diff(train["observations"], axis=0)[~train["terminals"][:-1]]
    assert np.abs(steps).max() <= 0.2 + 1e-5  # qpos += 0.2 a per env step
    geometry = MazeGeometry.from_env_name(name.env_name)
    assert (geometry.xy_to_cell(train["observations"]) >= 0).all()


def test_regeneration_is_seeded_and_independent_of_worker_count(tmp_path):
    name = parse_dataset_name("pointmaze-teleport-navigate-v0")
    one = regenerate_to_cache(name, tmp_path / "a", seed=7, workers=1, num_episodes=10)
    two = regenerate_to_cache(name, tmp_path / "b", seed=7, workers=2, num_episodes=10)
    other = regenerate_to_cache(name, tmp_path / "c", seed=8, workers=1, num_episodes=10)
    for a, b, c in zip(one, two, other, strict=True):
        assert a.read_bytes() == b.read_bytes()
        assert file_sha256(a) != file_sha256(c)


def test_regenerated_files_load_through_ogbench_with_provenance(small_data_dir):
    task = load_task_data("pointmaze-medium-stitch-v0", small_data_dir)
    assert task.data_source == "regenerated"
    assert len(task.data_hash) == 64
    assert task.train.observations.shape == (30 * 201, 2)
    assert task.train.trajectory_end.sum() == 30
    assert task.val.observations.shape == (3 * 201, 2)


def test_official_files_take_precedence(tmp_path, small_data_dir):
    train, val, _ = regenerated_paths(small_data_dir, "pointmaze-medium-stitch-v0", 0)
    (tmp_path / "pointmaze-medium-stitch-v0.npz").write_bytes(train.read_bytes())
    (tmp_path / "pointmaze-medium-stitch-v0-val.npz").write_bytes(val.read_bytes())
    task = load_task_data("pointmaze-medium-stitch-v0", tmp_path)
    assert task.data_source == "official"
    assert not (tmp_path / "regenerated").exists()


def test_antmaze_without_its_file_names_the_file_and_where_to_put_it(tmp_path):
    with pytest.raises(DataError) as error:
        load_task_data("antmaze-teleport-navigate-v0", tmp_path)
    message = str(error.value)
    assert "antmaze-teleport-navigate-v0.npz" in message and "antmaze-teleport-navigate-v0-val.npz" in message
    assert str(tmp_path) in message and "https://" in message


def _official_copy(tmp_path: Path, small_data_dir: Path, mutate) -> Path:
    train, val, _ = regenerated_paths(small_data_dir, "pointmaze-medium-stitch-v0", 0)
    (tmp_path / "pointmaze-medium-stitch-v0-val.npz").write_bytes(val.read_bytes())
    target = tmp_path / "pointmaze-medium-stitch-v0.npz"
    mutate(train, target)
    return target


def test_truncated_file_is_a_clear_error(tmp_path, small_data_dir):
    _official_copy(tmp_path, small_data_dir, lambda src, dst: dst.write_bytes(src.read_bytes()[:2000]))
    with pytest.raises(DataError, match="truncated or corrupt"):
        load_task_data("pointmaze-medium-stitch-v0", tmp_path)


def test_garbage_file_is_a_clear_error(tmp_path, small_data_dir):
    _official_copy(tmp_path, small_data_dir, lambda src, dst: dst.write_bytes(b"not a zip file at all" * 50))
    with pytest.raises(DataError, match="truncated or corrupt"):
        load_task_data("pointmaze-medium-stitch-v0", tmp_path)


def test_missing_arrays_are_a_clear_error(tmp_path, small_data_dir):
    def drop_actions(src, dst):
        with np.load(src) as file:
            write_npz(dst, {k: file[k] for k in file.files if k != "actions"})

    _official_copy(tmp_path, small_data_dir, drop_actions)
    with pytest.raises(DataError, match=r"lacks the arrays \['actions'\]"):
        load_task_data("pointmaze-medium-stitch-v0", tmp_path)


def test_wrong_observation_shape_is_a_clear_error(tmp_path, small_data_dir):
    def widen(src, dst):
        with np.load(src) as file:
            arrays = {k: file[k] for k in file.files}
        arrays["observations"] = np.concatenate([arrays["observations"]] * 2, axis=1)
        write_npz(dst, arrays)

    _official_copy(tmp_path, small_data_dir, widen)
    with pytest.raises(DataError, match="4 features per step, but the environment's observations have 2"):
        load_task_data("pointmaze-medium-stitch-v0", tmp_path)


def test_unwritable_dataset_directory_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="cannot be created"):
        load_task_data("pointmaze-medium-stitch-v0", blocker / "data")


def test_failed_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "x.npz"
    with pytest.raises(ValueError):
        write_npz(target, {"observations": np.array([object()], dtype=object)})
    assert list(tmp_path.iterdir()) == []


def test_written_files_are_standard_npz(tmp_path):
    target = tmp_path / "x.npz"
    arrays = {
        "observations": np.arange(6, dtype=np.float32).reshape(3, 2),
        "terminals": np.array([0, 0, 1], bool),
    }
    write_npz(target, arrays)
    assert zipfile.is_zipfile(target)
    with np.load(target) as file:
        for key, value in arrays.items():
            np.testing.assert_array_equal(file[key], value)
