"""The one rule every preset of the paper's matrix follows, and the seeds and mazes it names.

Planning metrics on 5 seeds, coverage and execution on seeds 0-2; a trial executes (50 episodes per
task, as OGBench evaluates) exactly when it runs on an execution maze at seeds 0-2. One rule for every
study, so identical configurations of two studies are one trial (tune_spaces.merge_trials).
"""

from mopjepa.data.names import EXECUTION_TASKS, LARGE, MEDIUM, PAPER_TASKS, TELEPORT
from mopjepa.results.studies import tagged

__all__ = ["COVERAGE_SEEDS", "EPISODES", "EXECUTION_TASKS", "LARGE", "MAIN_TASKS", "MEDIUM", "PLANNING_SEEDS",
           "TELEPORT", "trial"]

MAIN_TASKS = PAPER_TASKS
PLANNING_SEEDS = range(5)
COVERAGE_SEEDS = range(3)
EPISODES = 50


def trial(task: str, arm: str, seed: int, study: str, **extra) -> dict:
    """One trial of `study`, executing (50 episodes per task) on the execution mazes' seeds 0-2."""
    executes = task in EXECUTION_TASKS and seed in COVERAGE_SEEDS
    flat = {"task": task, "arm": arm, "seed": seed, "episodes_per_task": EPISODES if executes else 0, **extra}
    return tagged(flat, study)
