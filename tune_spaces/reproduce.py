"""`reproduce`: the reproduction record (reproduction/ in the repository), in order of priority.

    (i)   dense, mdn, mop, codebook on the three main mazes, seeds 0-4, the default budget (curves
          included); execution on medium- and large-stitch for seeds 0-2, 50 episodes per task
    (ii)  m3 and var the same way
    (iii) on pointmaze-medium-stitch-v0, seeds 0-2: the independent ensemble (claim (f)) and the MoP
          lam_bal = 0 ablation, then the mdn_softness study, the soft sigmas first (they decide whether
          an MDN soft enough to route through non-existent edges exists: claims (c), (d), (i)); its
          sigmas 0.5, 0.7 and 1.0 also on pointmaze-teleport-navigate-v0

Every trial follows the paper preset's rule, so each is identical to (and has the trial id of) the
paper preset's trial. Measured cost on a 2-core machine, two trials at a time (20k steps, 1 thread
each, nice 5), mean wall seconds per trial without / with execution: dense 182 / 244, codebook
195 / 227, mdn 705 / 790, mop 685 / 766, m3 515 / 514, var 308 / 304. (i) took 7.8 CPU-hours (3.9
hours of wall time on 2 cores), (ii) 3.4 (1.7 hours); (iii) is about 3 more (13 trials, mostly
MDN): about 14 CPU-hours, 7 hours of wall time in all. It resumes, so it may run in pieces.
"""

from tune_spaces import mdn_softness
from tune_spaces.paper import COVERAGE_SEEDS, MAIN_TASKS, PLANNING_SEEDS, TELEPORT, _trial

MEDIUM = "pointmaze-medium-stitch-v0"
CORE_ARMS = ("dense", "mdn", "mop", "codebook")
FAMILY_ARMS = ("m3", "var")


def trials() -> list[dict]:
    # Seed-major: a run stopped part-way has every arm of the part on the same seeds (paired comparisons).
    out = [_trial(task, arm, seed, "main") for seed in PLANNING_SEEDS for task in MAIN_TASKS for arm in CORE_ARMS]
    out += [_trial(task, arm, seed, "main") for seed in PLANNING_SEEDS for task in MAIN_TASKS for arm in FAMILY_ARMS]
    for seed in COVERAGE_SEEDS:
        out.append(_trial(MEDIUM, "ensemble", seed, "ablation_ensemble"))
        out.append(_trial(MEDIUM, "mop", seed, "ablation_no_balance", lam_bal=0.0))
    out += mdn_softness.trials(tasks=(MEDIUM,), seeds=COVERAGE_SEEDS, sigmas=(0.7, 1.0, 0.5, 0.3, 0.1, 0.03))
    out += mdn_softness.trials(tasks=(TELEPORT,), seeds=COVERAGE_SEEDS, sigmas=(0.7, 1.0, 0.5))
    return out
