"""The datasets an experiment's trials read, prepared once before any trial, and the line a resume prints when
this install's data differs from the data the experiment's complete trials recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mopjepa.config import TrialConfig
from mopjepa.data import prepare_data
from pipelines.common import environment, tqdm_progress


@dataclass(frozen=True)
class PreparedData:
    """One dataset the planned trials read, as this install has it."""

    task: str
    data_seed: int
    data_hash: str
    file_hash: str


def prepare_datasets(configs: list[TrialConfig]) -> list[PreparedData]:
    """Load (or regenerate) each dataset once, before any trial."""
    prepared = []
    seen = set()
    for cfg in configs:
        key = (cfg.data.task, cfg.data.data_seed)
        if key in seen:
            continue
        seen.add(key)
        with tqdm_progress(f"preparing {cfg.data.task}", unit="episode") as progress:
            data = prepare_data(cfg, progress)
        if data is not None:  # None: a generated task makes its own data
            prepared.append(PreparedData(*key, data.data_hash, data.file_hash))
            print(f"data  {cfg.data.task}: {data.data_source} {data.data_hash[:12]}", flush=True)
    return prepared


def data_change_lines(results_root: Path, prepared: list[PreparedData]) -> list[str]:
    """One line per dataset whose hash differs from the one the experiment's complete trials recorded for it.

    Regenerated data depends on the processor (MuJoCo's and libm's floating point), so a resume on another
    machine trains its new trials on other bytes than the recorded ones: the user is told, nothing stops."""
    from mopjepa.results import read_table

    columns = ["trial_id", "task", "data_seed", "data_hash", "environment"]
    recorded = read_table(results_root, "metrics")[columns].drop_duplicates("trial_id")
    lines = []
    for data in prepared:
        rows = recorded[(recorded.task == data.task) & (recorded.data_seed == data.data_seed)]
        # Rows without an environment hold the file hash (the data_hash before the content hash).
        legacy = rows.environment.isna()
        mine = legacy.map({True: data.file_hash, False: data.data_hash})
        differing = rows[rows.data_hash != mine]
        if not differing.empty:
            lines.append(_data_change_line(data, differing))
    return lines


def _data_change_line(data: PreparedData, differing) -> str:
    theirs = differing.data_hash.value_counts()
    legacy = differing.environment.isna().all()
    mine = data.file_hash if legacy else data.data_hash
    others = f" and {len(theirs) - 1} other hash(es)" if len(theirs) > 1 else ""
    if legacy:
        made = "file hashes, recorded before trials named their processor"
    else:
        processors = sorted({json.loads(text).get("processor", "?") for text in differing.environment.dropna()})
        made = f"made on {', '.join(processors)}; this install runs on {environment()['processor']}"
    seed = f" (data seed {data.data_seed})" if data.data_seed else ""
    return (f"data  {data.task}{seed}: {mine[:12]} differs from the {len(differing)} recorded trials' "
            f"{theirs.index[0][:12]}{others} ({made}); new trials use this install's data")
