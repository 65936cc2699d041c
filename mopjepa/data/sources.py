"""Where a task's data comes from, in the protocol's order.

1. The official files `<dataset_dir>/<name>.npz` and `<name>-val.npz`, read with ogbench's loader.
2. OGBench's download, when allowed and the download server answers.
3. Pointmaze only: regeneration with OGBench's recipe, cached under
   `<dataset_dir>/regenerated/seed-<N>/` in the same file layout, with a provenance JSON beside it.

Every load reports `data_source` ('official' | 'regenerated') and `data_hash`, the sha256 of the
arrays the train and the val file hold (`npzio.content_sha256`: names, dtypes, shapes and bytes, not
the files' bytes), and `file_hash`, the sha256 of the two files' sha256s (what `data_hash` was before
rows recorded their `environment`; kept to compare with those rows).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mopjepa.data.errors import DataError
from mopjepa.data.maze import MazeGeometry, make_env
from mopjepa.data.names import DatasetName, parse_dataset_name
from mopjepa.data.npzio import content_sha256, ensure_writable_dir, file_sha256, validate_npz, write_npz

DOWNLOAD_HOST = "rail.eecs.berkeley.edu"
DOWNLOAD_URL = f"https://{DOWNLOAD_HOST}/datasets/ogbench"
RECIPE_VERSION = "generate_locomaze.py@ogbench-1d41409"


@dataclass(frozen=True)
class Split:
    observations: np.ndarray
    """[T, obs_dim] float32, every step of every trajectory."""
    actions: np.ndarray
    """[T, p] float32."""
    trajectory_end: np.ndarray
    """[T] bool, True on the last step of each trajectory."""


@dataclass(frozen=True)
class TaskData:
    name: DatasetName
    geometry: MazeGeometry
    train: Split
    val: Split
    data_source: str
    data_hash: str
    """sha256 of the arrays' content (train then val; npzio.content_sha256)."""
    train_path: Path
    file_hash: str = ""
    """sha256 of the train and val files' sha256s: the data_hash of rows without an `environment`."""


MAX_DATA_SEED = 2**63 - 1
"""The largest regeneration seed (DataConfig.data_seed, an int64 column of every result row)."""


def official_paths(dataset_dir: Path, name: str) -> tuple[Path, Path]:
    return dataset_dir / f"{name}.npz", dataset_dir / f"{name}-val.npz"


def regenerated_paths(dataset_dir: Path, name: str, seed: int) -> tuple[Path, Path, Path]:
    folder = dataset_dir / "regenerated" / f"seed-{seed}"
    return folder / f"{name}.npz", folder / f"{name}-val.npz", folder / f"{name}.json"


def file_hash(train_path: Path, val_path: Path) -> str:
    digest = hashlib.sha256()
    for path in (train_path, val_path):
        digest.update(file_sha256(path).encode())
    return digest.hexdigest()


def load_task_data(
    task: str,
    dataset_dir: str | Path,
    data_seed: int = 0,
    download: bool = False,
    workers: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> TaskData:
    """Load (or prepare) a locomaze dataset; see the module docstring for the order of sources.

    `progress(done, total)` reports regeneration episodes."""
    name = parse_dataset_name(task)
    dataset_dir = Path(dataset_dir).expanduser()
    train_path, val_path = official_paths(dataset_dir, name.name)
    if not (train_path.exists() and val_path.exists()) and download and _download_server_reachable():
        _download(name.name, dataset_dir)
    if train_path.exists() and val_path.exists():
        return _load(name, train_path, val_path, "official")
    if not name.can_regenerate:
        raise DataError(
            f"{name.name} needs its official files {train_path.name} and {val_path.name} in "
            f"{str(dataset_dir)!r}, and they are not there. Download them from {DOWNLOAD_URL}/{train_path.name} "
            f"and {DOWNLOAD_URL}/{val_path.name} on a machine with internet and copy them into that directory "
            f"(or pass --dataset-dir DIR where they are). Only pointmaze navigate/stitch data can be regenerated "
            "offline; ant and humanoid data come from OGBench's expert policies."
        )
    train_path, val_path, meta_path = regenerated_paths(dataset_dir, name.name, data_seed)
    if not (train_path.exists() and val_path.exists() and meta_path.exists()):
        regenerate_to_cache(name, dataset_dir, data_seed, workers=workers, progress=progress)
    return _load(name, train_path, val_path, "regenerated")


def regenerate_to_cache(
    name: DatasetName,
    dataset_dir: Path,
    seed: int,
    workers: int = 0,
    num_episodes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, Path]:
    """Regenerate and cache (train, val) files atomically, with a provenance record beside them."""
    from mopjepa.data.regenerate import regenerate

    if not (isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= MAX_DATA_SEED):
        raise DataError(f"regeneration seed (--seed, data_seed) = {seed!r} is not allowed: must be an int in "
                        f"[0, {MAX_DATA_SEED}]")
    train_path, val_path, meta_path = regenerated_paths(Path(dataset_dir).expanduser(), name.name, seed)
    folder_existed = train_path.parent.is_dir()
    ensure_writable_dir(train_path.parent)
    episodes = name.recipe()[0] if num_episodes is None else num_episodes
    total = episodes + episodes // 10
    done = [0]

    def advance(count: int) -> None:
        done[0] += count
        if progress:
            progress(done[0], total)

    written = []
    try:  # all three files or none: an interrupted write leaves no partial cache behind
        train, val = regenerate(name, seed, workers=workers, num_episodes=num_episodes, progress=advance)
        for path, arrays in ((val_path, val), (train_path, train)):
            write_npz(path, arrays)
            written.append(path)
        _write_record(meta_path, name, seed, episodes, train_path, val_path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        if not folder_existed:  # nor an empty seed folder in a shared cache
            with contextlib.suppress(OSError):
                train_path.parent.rmdir()
        raise
    return train_path, val_path


def _write_record(meta_path: Path, name: DatasetName, seed: int, episodes: int, train_path: Path,
                  val_path: Path) -> None:
    """The provenance record beside a regenerated dataset, written atomically."""
    record = {
        "dataset": name.name,
        "data_source": "regenerated",
        "recipe": RECIPE_VERSION,
        "seed": seed,
        "train_episodes": episodes,
        "steps_per_episode": name.recipe()[1],
        "action_noise": name.recipe()[2],
        "train_sha256": file_sha256(train_path),
        "val_sha256": file_sha256(val_path),
    }
    meta_temporary = meta_path.with_suffix(".json.tmp")
    try:
        meta_temporary.write_text(json.dumps(record, indent=2) + "\n")
        meta_temporary.replace(meta_path)
    finally:
        meta_temporary.unlink(missing_ok=True)


def _load(name: DatasetName, train_path: Path, val_path: Path, source: str) -> TaskData:
    import ogbench

    env = make_env(name.env_name)
    try:
        obs_dim = int(env.observation_space.shape[0])
        geometry = MazeGeometry.from_env(env)
    finally:
        env.close()
    splits = []
    for path in (train_path, val_path):
        validate_npz(path, obs_dim, episode_length=name.recipe()[1])
        raw = ogbench.load_dataset(str(path), compact_dataset=True)
        splits.append(
            Split(
                observations=raw["observations"],
                actions=raw["actions"],
                trajectory_end=raw["valids"] == 0,
            )
        )
    return TaskData(
        name=name,
        geometry=geometry,
        train=splits[0],
        val=splits[1],
        data_source=source,
        data_hash=content_sha256({"train": train_path, "val": val_path}),
        train_path=train_path,
        file_hash=file_hash(train_path, val_path),
    )


def _download_server_reachable(timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((DOWNLOAD_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _download(name: str, dataset_dir: Path) -> None:
    import ogbench

    ensure_writable_dir(dataset_dir)
    try:
        ogbench.download_datasets([name], str(dataset_dir))
    except OSError:
        # The server answered the probe but the transfer failed: the next source takes over, and the
        # result records which source was used (data_source).
        for path in official_paths(dataset_dir, name):
            Path(f"{path}.tmp").unlink(missing_ok=True)
