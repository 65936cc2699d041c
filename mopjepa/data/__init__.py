"""OGBench locomaze data: loading, offline regeneration, the cell abstraction, batch sampling."""

from mopjepa.data.cells import CellData, build_cell_data
from mopjepa.data.maze import MazeGeometry
from mopjepa.data.names import DatasetName, parse_dataset_name
from mopjepa.data.prepare import prepare_data  # noqa: I001 (after sources, which it imports)
from mopjepa.data.sources import DataError, TaskData, load_task_data

__all__ = [
    "CellData",
    "DataError",
    "DatasetName",
    "MazeGeometry",
    "TaskData",
    "build_cell_data",
    "load_task_data",
    "parse_dataset_name",
    "prepare_data",
]
