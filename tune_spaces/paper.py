"""`paper`: the paper's whole matrix.

- Tables 2-6: dense, m3, var, mdn, mop, codebook on the three main mazes, 5 seeds for planning.
- The MDN fairness grid: K in {8, 16} x lam_bal in {0, 0.01, 0.1}, 3 seeds.
- The K sweep (Fig. 9): mop with K in {1, 2, 3, 4, 6, 8, 16} on teleport, and mdn at K = 8, 3 seeds.
- Ablations ("Summary and Ablations"): the independent ensemble, no load balance, slow soft-to-hard
  annealing over 80% of training, and uniform edge cost (execution rankings), 3 seeds.
- Matched capacity on large-stitch: mop and mdn (its best load balance) at K = 16, 60k steps, 5 seeds.

Execution (Table 4) runs on medium- and large-stitch for seeds 0-2, 50 episodes per task as OGBench
evaluates; one rule for every trial, so identical configs collapse into one trial.
"""

from mopjepa.data.names import EXECUTION_TASKS
from mopjepa.data.names import PAPER_TASKS as MAIN_TASKS

TELEPORT = "pointmaze-teleport-navigate-v0"
LARGE = "pointmaze-large-stitch-v0"
PLANNING_SEEDS = range(5)
COVERAGE_SEEDS = range(3)
EPISODES = 50
TABLE_ARMS = ("dense", "m3", "var", "mdn", "mop", "codebook")


def _trial(task: str, arm: str, seed: int, **extra) -> dict:
    executes = task in EXECUTION_TASKS and seed in COVERAGE_SEEDS
    return {"task": task, "arm": arm, "seed": seed, "episodes_per_task": EPISODES if executes else 0, **extra}


def trials() -> list[dict]:
    out = []
    for task in MAIN_TASKS:
        out += [_trial(task, arm, seed) for arm in TABLE_ARMS for seed in PLANNING_SEEDS]
        for seed in COVERAGE_SEEDS:
            out += [_trial(task, "mdn", seed, K=k, lam_bal=lam) for k in (8, 16) for lam in (0.0, 0.01, 0.1)]
            out.append(_trial(task, "ensemble", seed))
            out.append(_trial(task, "mop", seed, lam_bal=0.0))
            out.append(_trial(task, "mop", seed, assignment="anneal", warmup_fraction=0.8))
    for seed in COVERAGE_SEEDS:
        out += [_trial(TELEPORT, "mop", seed, K=k) for k in (1, 2, 3, 4, 6, 8, 16)]
        out.append(_trial(TELEPORT, "mdn", seed, K=8))
        for task in EXECUTION_TASKS:
            out += [_trial(task, arm, seed, edge_cost="uniform") for arm in ("dense", "mdn", "mop")]
    for seed in PLANNING_SEEDS:
        out.append(_trial(LARGE, "mop", seed, K=16, steps=60_000))
        out.append(_trial(LARGE, "mdn", seed, K=16, lam_bal=0.1, steps=60_000))
    return out
