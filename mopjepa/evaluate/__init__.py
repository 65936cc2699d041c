"""Protocol metrics (PROTOCOL 5) from arrays and graphs: the only place ground truth enters."""

from mopjepa.evaluate.coverage import (
    branching_modes,
    context_permutations,
    cov_p,
    cov_r,
    output_hits,
    shuffle,
    teleport_modes,
    two_step,
)
from mopjepa.evaluate.report import as_dict, metric_report
from mopjepa.evaluate.routes import (
    goal_found,
    goal_realroute,
    plan_all,
    precision,
    precision_heldout,
    realroute,
    realroute_by_dist,
    recall,
    recall_heldout,
)
from mopjepa.evaluate.truth import Truth

__all__ = [
    "Truth",
    "as_dict",
    "branching_modes",
    "context_permutations",
    "cov_p",
    "cov_r",
    "goal_found",
    "goal_realroute",
    "metric_report",
    "output_hits",
    "plan_all",
    "precision",
    "precision_heldout",
    "realroute",
    "realroute_by_dist",
    "recall",
    "recall_heldout",
    "shuffle",
    "teleport_modes",
    "two_step",
]
