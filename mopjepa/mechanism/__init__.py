"""The controlled branch sweep (Fig. 4 middle): every arm on a generated task with M successor modes.

    task.py      the generated task (numpy): states on the unit sphere, M weighted modes per state
    measure.py   coverage, distance to modes, router-weight error, Prop. 1's conditional-mean check
    trial.py     run_branch_sweep(cfg): the ordinary WorldModel + BatchSampler + train loop

A branch-sweep trial is a TrialConfig of kind BranchTask: task 'mechanism' (config.BRANCH_SWEEP_TASK) and a
BranchSweepConfig (docs/protocol.md#9-the-branch-sweep). The package and its result table keep the name
`mechanism`.
"""

from mopjepa.mechanism.measure import mechanism_rows
from mopjepa.mechanism.task import BranchSweepData, make_branch_task, mode_weights
from mopjepa.mechanism.trial import BranchSweepSummary, branch_task, run_branch_sweep

__all__ = [
    "BranchSweepData",
    "BranchSweepSummary",
    "branch_task",
    "make_branch_task",
    "mechanism_rows",
    "mode_weights",
    "run_branch_sweep",
]
