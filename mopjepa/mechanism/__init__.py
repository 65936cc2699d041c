"""The controlled branch sweep (Fig. 4 middle): every arm on a generated task with M successor modes.

    task.py      the generated task (numpy): states on the unit sphere, M weighted modes per state
    measure.py   coverage, distance to modes, router-weight error, Prop. 1's conditional-mean check
    trial.py     run_mechanism_trial(cfg): the ordinary WorldModel + BatchSampler + train loop

A trial is a TrialConfig with task 'mechanism' (config.MECHANISM_TASK) and a MechanismConfig.
"""

from mopjepa.mechanism.measure import mechanism_rows
from mopjepa.mechanism.task import BranchSweepData, make_branch_task, mode_weights
from mopjepa.mechanism.trial import MechanismSummary, branch_task, run_mechanism_trial

__all__ = [
    "BranchSweepData",
    "MechanismSummary",
    "branch_task",
    "make_branch_task",
    "mechanism_rows",
    "mode_weights",
    "run_mechanism_trial",
]
