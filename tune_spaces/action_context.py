"""`action_context`: the paper's action-conditioned world model, c = [z, a] (Eq. 1), beside the action-free one.

The predictor's context carries the action: the step's own a_t ('step', exactly Eq. 1) or the mean
action to the next cell's entry ('to_exit'). Each cell is queried with the 8 compass directions scaled
to the train split's median action norm, gated inside each query and united (compass8), so the graph
can hold transitions the model never saw: the 20% hold-out no longer caps realroute and execution.
Arms dense, mdn, mop and codebook on the three main mazes, seeds 0-2, the default budget with curves,
execution on medium- and large-stitch at 50 episodes per task (the paper preset's rule). Seed-major, so
a run stopped part-way has every arm and mode on the same seeds.
"""

from tune_spaces.rules import COVERAGE_SEEDS, MAIN_TASKS, trial

MODES = ("step", "to_exit")
ARMS = ("dense", "mdn", "mop", "codebook")
QUERY = "compass8"


def trials(tasks=MAIN_TASKS, seeds=COVERAGE_SEEDS) -> list[dict]:
    return [trial(task, arm, seed, "action_context", context_action=mode, query_actions=QUERY)
            for seed in seeds for mode in MODES for task in tasks for arm in ARMS]
