"""`quick`: the README's main job. Six arms of the paper's tables, one seed, the three main mazes.

What it is for: a check that the whole platform runs on your machine (data, training, blind graphs, the
protocol's metrics, execution, Ray Tune, Parquet, MLflow and the report) in about 10-20 minutes on 2 cores,
plus the first run's data regeneration. It is not evidence for the paper: 4000 steps and one seed are too
little training for the paper's ordering of the arms to show (on medium-stitch the MDN's plan_all moved from
0.289 to 0.317 between two installs' data alone). The `reproduce` preset is the record.
"""

from mopjepa.data.names import PAPER_TASKS as TASKS

BUDGET = {"steps": 4000, "episodes_per_task": 10}
ARMS = (("dense", {}), ("m3", {}), ("var", {}), ("mdn", {}), ("mop", {}), ("codebook", {}))


def trials() -> list[dict]:
    return [{"task": task, "arm": arm, "seed": 0, **extra, **BUDGET, "studies": ["main"]}
            for task in TASKS for arm, extra in ARMS]
