"""Reading and writing dataset files in OGBench's `.npz` layout, safely and reproducibly.

`np.savez_compressed` stamps every member with the current time, so two identical datasets would
differ in bytes; we write the same zip members with a fixed timestamp instead. Writes go to a
temporary file in the target directory and are renamed into place, so a crash never leaves a
half-written cache file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from mopjepa.data.errors import DataError

REQUIRED_KEYS = ("observations", "actions", "terminals")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Atomically write `arrays` as a compressed .npz whose bytes depend only on the arrays."""
    path = Path(path)
    directory = path.parent
    ensure_writable_dir(directory)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as file, zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as archive:
            for key in sorted(arrays):
                info = zipfile.ZipInfo(f"{key}.npy", date_time=_FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with archive.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.ascontiguousarray(arrays[key]), allow_pickle=False)
        os.chmod(temporary, public_mode())  # mkstemp makes 0600 files; shared caches need the umask's mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def public_mode() -> int:
    """0666 less the process's umask: the mode open() would give a new file."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # no /proc: read it by setting it (and set it straight back)
    os.umask(mask)
    return 0o666 & ~mask


def ensure_writable_dir(directory: Path) -> None:
    """Create `directory` if needed; a clear error if it cannot be written."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(
            f"dataset directory {str(directory)!r} cannot be created: {error.strerror}"
        ) from error
    if not os.access(directory, os.W_OK | os.X_OK):
        raise DataError(
            f"dataset directory {str(directory)!r} is not writable; pass a writable --dataset-dir "
            "(or dataset_dir=...) to cache regenerated data"
        )


def validate_npz(path: Path, obs_dim: int | None = None, episode_length: int | None = None) -> None:
    """Check that `path` is a readable OGBench dataset file, before any loader touches it; with
    `episode_length` (the recipe's steps per episode), also that its trajectories end where the recipe
    says: `terminals` set at the last step of every episode and nowhere else."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as file:
            missing = [key for key in REQUIRED_KEYS if key not in file.files]
            if missing:
                raise DataError(f"dataset file {str(path)!r} lacks the arrays {missing}; found {file.files}")
            observations = file["observations"]
            actions = file["actions"]
            terminals = file["terminals"]
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise DataError(
            f"dataset file {str(path)!r} is truncated or corrupt ({type(error).__name__}: {error}); "
            "delete it and regenerate or download it again"
        ) from error
    if observations.ndim != 2 or len(observations) == 0:
        raise DataError(
            f"dataset file {str(path)!r}: observations have shape {observations.shape}, expected [T, obs_dim]"
        )
    if obs_dim is not None and observations.shape[1] != obs_dim:
        raise DataError(
            f"dataset file {str(path)!r}: observations have {observations.shape[1]} features per step, "
            f"but the environment's observations have {obs_dim}"
        )
    if len(actions) != len(observations) or len(terminals) != len(observations):
        raise DataError(
            f"dataset file {str(path)!r}: observations {observations.shape}, actions {actions.shape} and "
            f"terminals {terminals.shape} disagree on the number of steps"
        )
    if not np.all(np.isfinite(observations)):
        raise DataError(f"dataset file {str(path)!r}: observations contain NaN or inf")
    if episode_length is not None:
        check_terminals(path, np.asarray(terminals).astype(bool), episode_length)


def check_terminals(path: Path, terminals: np.ndarray, episode_length: int) -> None:
    """[T] terminals must be True exactly at steps L-1, 2L-1, ... of T = n * L steps (L = episode_length)."""
    expected = np.zeros(len(terminals), dtype=bool)
    expected[episode_length - 1 :: episode_length] = True
    if len(terminals) % episode_length == 0 and np.array_equal(terminals, expected):
        return
    ends = np.flatnonzero(terminals)
    found = f"{len(ends)} trajectory ends" + (f" (first at step {ends[0]})" if len(ends) else "")
    raise DataError(
        f"dataset file {str(path)!r}: `terminals` mark {found} in {len(terminals)} steps, but the recipe's "
        f"episodes are {episode_length} steps long (an end at every {episode_length}th step, nowhere else); "
        "trajectories would be cut in the wrong places: delete the file and regenerate or download it again"
    )


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def content_sha256(files: dict[str, Path]) -> str:
    """sha256 of what the dataset files hold, not of their bytes: for each file in the order given (train, val),
    its label, then each of its arrays by name (sorted) as its name, dtype, shape and bytes (C order). Two
    installs with the same data agree on it whatever their zip or compression library does."""
    digest = hashlib.sha256()
    for label, path in files.items():
        digest.update(json.dumps(label).encode())
        with np.load(path, allow_pickle=False) as file:
            for name in sorted(file.files):
                array = np.ascontiguousarray(file[name])
                digest.update(json.dumps([name, array.dtype.str, list(array.shape)]).encode())
                digest.update(array.tobytes())
    return digest.hexdigest()
