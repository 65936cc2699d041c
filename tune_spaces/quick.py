"""`quick`: the README's main job. Six arms of the paper's tables, one seed, the three main mazes.

About 10-20 minutes on 2 cores; enough training for the paper's ordering to show.
"""

from mopjepa.data.names import PAPER_TASKS as TASKS

BUDGET = {"steps": 4000, "episodes_per_task": 10}
ARMS = (("dense", {}), ("m3", {}), ("var", {}), ("mdn", {}), ("mop", {}), ("codebook", {}))


def trials() -> list[dict]:
    return [{"task": task, "arm": arm, "seed": 0, **extra, **BUDGET, "studies": ["main"]}
            for task in TASKS for arm, extra in ARMS]
