"""`paper`: the paper's whole matrix.

- Tables 2-6: dense, m3, var, mdn, mop, codebook on the three main mazes, 5 seeds for planning.
- The MDN fairness grid: K in {8, 16} x lam_bal in {0, 0.01, 0.1}, 3 seeds.
- The K sweep (Fig. 9): mop with K in {1, 2, 3, 4, 6, 8, 16} on teleport, and mdn at K = 8, 3 seeds.
- Ablations ("Summary and Ablations"): the independent ensemble, no load balance, slow soft-to-hard
  annealing over 80% of training, and uniform edge cost (execution rankings), 3 seeds.
- Matched capacity on large-stitch: mop and mdn (its best load balance) at K = 16, 60k steps, 5 seeds.
- The MDN softness study (tune_spaces/mdn_softness.py): fixed sigma 0.03 to 1.0 beside the learned one
  (and the soft sigmas 0.5-1.0 on large-stitch).
- The action-conditioned world model (tune_spaces/action_context.py): c = [z, a], queried with compass8.
- Readings (tune_spaces/readings.py): Var with S = 2 and 4 on the three mazes, the codebook with K = 16 and 32
  on teleport.

Execution (Table 4) runs on medium- and large-stitch for seeds 0-2, 50 episodes per task as OGBench
evaluates; one rule for every trial, so identical configs collapse into one trial.
Every trial names the studies it feeds (mopjepa.results.studies); the analysis selects by them.
"""

from mopjepa.config.arms import PAPER_ARMS
from tune_spaces import action_context, mdn_softness, readings
from tune_spaces.rules import COVERAGE_SEEDS, EXECUTION_TASKS, LARGE, MAIN_TASKS, PLANNING_SEEDS, TELEPORT, trial


def mdn_grid(tasks=MAIN_TASKS, seeds=COVERAGE_SEEDS) -> list[dict]:
    """The MDN fairness grid, K in {8, 16} x lam_bal in {0, 0.01, 0.1}; (8, 0.01) is the default MDN."""
    return [trial(task, "mdn", seed, "mdn_grid", K=k, lam_bal=lam)
            for task in tasks for seed in seeds for k in (8, 16) for lam in (0.0, 0.01, 0.1)]


def trials() -> list[dict]:
    out = []
    for task in MAIN_TASKS:
        out += [trial(task, arm, seed, "main") for arm in PAPER_ARMS for seed in PLANNING_SEEDS]
        for seed in COVERAGE_SEEDS:
            out += mdn_grid(tasks=(task,), seeds=(seed,))
            out.append(trial(task, "ensemble", seed, "ablation_ensemble"))
            out.append(trial(task, "mop", seed, "ablation_no_balance", lam_bal=0.0))
            out.append(trial(task, "mop", seed, "ablation_anneal", assignment="anneal", warmup_fraction=0.8))
    for seed in COVERAGE_SEEDS:
        out += [trial(TELEPORT, "mop", seed, "k_sweep", K=k) for k in (1, 2, 3, 4, 6, 8, 16)]
        out.append(trial(TELEPORT, "mdn", seed, "k_sweep", K=8))
        for task in EXECUTION_TASKS:
            arms = ("dense", "mdn", "mop")
            out += [trial(task, arm, seed, "ablation_uniform_cost", edge_cost="uniform") for arm in arms]
    for seed in PLANNING_SEEDS:
        out.append(trial(LARGE, "mop", seed, "matched_capacity", K=16, steps=60_000))
        out.append(trial(LARGE, "mdn", seed, "matched_capacity", K=16, lam_bal=0.1, steps=60_000))
    out += mdn_softness.study()
    return out + action_context.trials() + readings.trials()
