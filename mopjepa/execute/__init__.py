"""The replanning executor in the real environment (docs/protocol.md#6-execution): one episode, a trial's episodes,
and what they are read against: the floor (no graph) and the ceilings (graphs made of ground truth)."""

from mopjepa.execute.episode import Episode, run_episode
from mopjepa.execute.floor import empty_graph, floor_key, floor_success, success_by_task
from mopjepa.execute.references import (
    REFERENCES,
    reference_adjacency,
    reference_key,
    reference_success,
    reference_successes,
)
from mopjepa.execute.trial import (
    EpisodeJob,
    cached_env,
    episode_jobs,
    run_episode_job,
    run_episodes,
    serial_map,
)
from mopjepa.execute.working_graph import WorkingGraph

__all__ = [
    "REFERENCES",
    "Episode",
    "EpisodeJob",
    "WorkingGraph",
    "cached_env",
    "empty_graph",
    "floor_key",
    "floor_success",
    "reference_adjacency",
    "reference_key",
    "reference_success",
    "reference_successes",
    "success_by_task",
    "episode_jobs",
    "run_episode",
    "run_episode_job",
    "run_episodes",
    "serial_map",
]
