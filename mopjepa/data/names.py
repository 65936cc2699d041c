"""OGBench locomaze dataset names and the official recipe behind each one.

`pointmaze-large-stitch-v0` is the dataset; its environment is `pointmaze-large-v0` (OGBench drops
the dataset-type token). The recipe sizes are those of OGBench's data_gen_scripts/commands.sh.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mopjepa.data.errors import DataError

AGENTS = ("point", "ant", "humanoid")
MAZES = ("medium", "large", "giant", "teleport")
DATASET_TYPES = ("navigate", "stitch", "explore")
MEDIUM = "pointmaze-medium-stitch-v0"
TELEPORT = "pointmaze-teleport-navigate-v0"
LARGE = "pointmaze-large-stitch-v0"
PAPER_TASKS = (MEDIUM, TELEPORT, LARGE)
"""The paper's three main mazes, in the column order of its tables (presets and analysis read this)."""
EXECUTION_TASKS = (MEDIUM, LARGE)
"""The mazes the paper executes plans on (its Table 4)."""
_PATTERN = re.compile(r"^(?P<agent>[a-z]+)maze-(?P<maze>[a-z]+)-(?P<kind>[a-z]+)-(?P<version>v\d+)$")


@dataclass(frozen=True)
class DatasetName:
    name: str
    agent: str
    maze: str
    dataset_type: str
    version: str

    @property
    def env_name(self) -> str:
        return f"{self.agent}maze-{self.maze}-{self.version}"

    @property
    def can_regenerate(self) -> bool:
        """Pointmaze data comes from a scripted oracle, so its recipe runs anywhere.

        Ant and humanoid data need OGBench's expert SAC policies, which are not distributed."""
        return self.agent == "point" and self.dataset_type in ("navigate", "stitch")

    def recipe(self) -> tuple[int, int, float]:
        """(train episodes, steps per episode, action noise) of the official dataset."""
        if self.dataset_type == "stitch":
            return 5000, 201, 0.5
        if self.maze == "giant":
            return 500, 2001, 0.5
        return 1000, 1001, 0.5


def parse_dataset_name(name: str) -> DatasetName:
    """Validate an OGBench locomaze dataset name, with an error that says what is allowed."""
    allowed = (
        f"'<agent>maze-<maze>-<type>-v0' with agent in {AGENTS}, maze in {MAZES}, type in {DATASET_TYPES}"
        " (e.g. pointmaze-medium-stitch-v0)"
    )
    if not isinstance(name, str):
        raise DataError(f"dataset name {name!r} is not a string; expected {allowed}")
    if name.startswith("visual-"):
        raise DataError(
            f"dataset {name!r} has pixel observations; this platform uses coordinate features only. "
            f"Use the state-based dataset {name.removeprefix('visual-')!r}."
        )
    match = _PATTERN.match(name)
    if match is None:
        raise DataError(f"unknown dataset name {name!r}; expected {allowed}")
    agent, maze, kind, version = match.group("agent", "maze", "kind", "version")
    for value, options, what in (
        (agent, AGENTS, "agent"),
        (maze, MAZES, "maze"),
        (kind, DATASET_TYPES, "type"),
    ):
        if value not in options:
            raise DataError(f"unknown {what} {value!r} in dataset name {name!r}; expected {allowed}")
    if version != "v0":
        raise DataError(f"unknown dataset version {version!r} in {name!r}; OGBench locomaze datasets are v0")
    return DatasetName(name=name, agent=agent, maze=maze, dataset_type=kind, version=version)
