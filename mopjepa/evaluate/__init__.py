"""Protocol metrics (docs/protocol.md#5-metrics) from arrays and graphs: the only place ground truth enters."""

from mopjepa.evaluate.beliefs import belief_cells, belief_rows
from mopjepa.evaluate.coverage import (
    branching_modes,
    context_permutations,
    cov_p,
    cov_r,
    output_hits,
    shuffle,
    shuffled_cov_r,
    teleport_modes,
    two_step,
)
from mopjepa.evaluate.report import as_dict, metric_report, metric_value, mode_sets, permuted_report
from mopjepa.evaluate.routes import (
    goal_found,
    goal_realroute,
    plan_all,
    precision,
    precision_heldout,
    realroute,
    realroute_by_dist,
    realroute_ceiling,
    recall,
    recall_heldout,
)
from mopjepa.evaluate.thresholds import THRESHOLDS, threshold_rows
from mopjepa.evaluate.truth import Truth

__all__ = [
    "THRESHOLDS",
    "Truth",
    "as_dict",
    "metric_value",
    "belief_cells",
    "belief_rows",
    "branching_modes",
    "context_permutations",
    "cov_p",
    "cov_r",
    "goal_found",
    "goal_realroute",
    "metric_report",
    "mode_sets",
    "output_hits",
    "plan_all",
    "precision",
    "precision_heldout",
    "permuted_report",
    "realroute",
    "realroute_ceiling",
    "realroute_by_dist",
    "recall",
    "recall_heldout",
    "shuffle",
    "shuffled_cov_r",
    "teleport_modes",
    "threshold_rows",
    "two_step",
]
