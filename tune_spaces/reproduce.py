"""`reproduce`: the reproduction record (reproduction/ in the repository), in order of priority.

    (i)   dense, mdn, mop, codebook on the three main mazes, seeds 0-4, the default budget (curves
          included); execution on medium- and large-stitch for seeds 0-2, 50 episodes per task
    (ii)  m3 and var the same way
    (iii) on pointmaze-medium-stitch-v0, seeds 0-2: the independent ensemble (claim (f)) and the MoP
          lam_bal = 0 ablation, then the mdn_softness study's soft sigmas 0.7, 1.0 and 0.5 (they decide
          whether an MDN soft enough to route through non-existent edges exists: claims (c), (d), (i));
          its sigmas 0.3, 0.1 and 0.03 after (v)
    (iv)  the readings of tune_spaces/readings.py (Var with S = 2, 4 on the three mazes and the codebook with
          K = 16, 32 on teleport, seeds 0-2: cheap, and claim (a) and the codebook's coverage turn on them), the
          mdn_softness sigmas 0.7, 1.0 and 0.5 on pointmaze-teleport-navigate-v0, then on
          pointmaze-large-stitch-v0 (claims (d) and (i) read every maze; 9 MDN trials, ~2 CPU-hours), then the
          action_context study (tune_spaces/action_context.py): dense, mdn, mop and codebook with the
          action in their context ('step' and 'to_exit'), queried with compass8, the three mazes, seeds 0-2
    (v)   the MDN fairness grid (K in {8, 16} x lam_bal in {0, 0.01, 0.1}, seeds 0-2) on
          pointmaze-medium-stitch-v0 (claims (c), (d), (i) compare MoP with the best MDN); its default
          cell is the main MDN, so 15 new trials

Every trial follows the paper preset's rule, so each is identical to (and has the trial id of) the
paper preset's trial. Measured cost on a 2-core machine, two trials at a time (20k steps, 1 thread
each, nice 5), mean wall seconds per trial without / with execution: dense 182 / 244, codebook
195 / 227, mdn 705 / 790, mop 685 / 766, m3 515 / 514, var 308 / 304. (i) took 7.8 CPU-hours (3.9
hours of wall time on 2 cores), (ii) 3.4 (1.7 hours); (iii) is about 6 more (30 trials, mostly
MDN); (iv) about 9.7 (72 trials: per seed 3.2 CPU-hours, the main trials' cost, since querying 8
actions adds 0.3 s (medium) to 1.0 s (large) per evaluation, measured); the teleport softness trials
about 1.8; (iv)'s readings 2 (1.2 of it Var on medium and large, added with 135 trials run); (v) about
3.5 (15 MDN trials). It resumes and grows by appending, so it runs in pieces across sessions.
"""

from tune_spaces import action_context, mdn_softness, paper, readings
from tune_spaces.rules import COVERAGE_SEEDS, MAIN_TASKS, MEDIUM, PLANNING_SEEDS, TELEPORT, trial

CORE_ARMS = ("dense", "mdn", "mop", "codebook")
FAMILY_ARMS = ("m3", "var")


def trials() -> list[dict]:
    # Seed-major: a run stopped part-way has every arm of the part on the same seeds (paired comparisons).
    out = [trial(task, arm, seed, "main") for seed in PLANNING_SEEDS for task in MAIN_TASKS for arm in CORE_ARMS]
    out += [trial(task, arm, seed, "main") for seed in PLANNING_SEEDS for task in MAIN_TASKS for arm in FAMILY_ARMS]
    for seed in COVERAGE_SEEDS:
        out.append(trial(MEDIUM, "ensemble", seed, "ablation_ensemble"))
        out.append(trial(MEDIUM, "mop", seed, "ablation_no_balance", lam_bal=0.0))
    out += mdn_softness.trials(tasks=(MEDIUM,), seeds=COVERAGE_SEEDS, sigmas=(0.7, 1.0, 0.5))
    out += readings.trials()
    # Before the action context study (reordered 2026-12-07, with 133 trials run): the soft MDN on
    # teleport completes the softness reading of claims (c), (d) and (i) for 1.8 CPU-hours.
    out += mdn_softness.trials(tasks=(TELEPORT,), seeds=COVERAGE_SEEDS, sigmas=mdn_softness.SOFT)
    out += mdn_softness.soft_on_large()  # claims (d) and (i) read every maze (added with 137 trials run)
    out += action_context.trials()
    out += paper.mdn_grid(tasks=(MEDIUM,))  # its default cell is the main MDN, which merges into it
    out += mdn_softness.trials(tasks=(MEDIUM,), seeds=COVERAGE_SEEDS, sigmas=(0.3, 0.1, 0.03))
    return out
