"""The headline metrics: the one list of what a trial prints and reports (docs/protocol.md#5-metrics).

    PROTOCOL_METRICS   every metric name a maze trial with execution writes, in print order
    HEADLINE           what the single-trial CLIs print: PROTOCOL_METRICS less the per-distance
                       breakdown, then the trial's throughput and stage seconds
    SCALARS            (metric, key) -> the flat scalar name a matrix trial reports to Ray Tune
    scalars(rows)      those scalars of a trial's long-form metric rows

Plain data, no torch: pipelines, tests and the docs read the same lists.
"""

from __future__ import annotations

from collections.abc import Iterable

PROTOCOL_METRICS = (
    "plan_all",
    "goal_found",
    "realroute",
    "realroute_ceiling",
    "realroute_norm",
    "goal_realroute",
    "precision",
    "recall",
    "precision_heldout",
    "recall_heldout",
    "cov_r",
    "cov_r_raw",
    "cov_p",
    "shuffle",
    "cov_r_shuffled",
    "two_step",
    "plan_all_raw",
    "realroute_raw",
    "precision_raw",
    "realroute_by_dist",
    "exec_success",
    "exec_floor",
    "exec_lift",
    "exec_ceiling",
    "exec_truth",
    "exec_gain",
    "exec_fallback",
)

NOT_PRINTED = ("realroute_by_dist",)
"""One value per shortest-path distance: in the Parquet tables and figures, too long for a line."""

ARM_DIAGNOSTICS = ("mdn_sigma", "mdn_resp_max")
"""What some arms report about themselves (Predictor.diagnostics): printed when present."""

HEADLINE = (*(m for m in PROTOCOL_METRICS if m not in NOT_PRINTED), *ARM_DIAGNOSTICS, "train_examples_per_s",
            "seconds")

SCALARS: dict[tuple[str, str], str] = {
    ("plan_all", ""): "plan_all",
    ("realroute", ""): "realroute",
    ("realroute_norm", ""): "realroute_norm",
    ("precision", ""): "precision",
    ("goal_realroute", ""): "goal_realroute",
    ("cov_r", "branching"): "cov_r",
    ("cov_r", "teleport"): "cov_r_teleport",
    ("shuffle", "branching"): "shuffle",
    ("exec_success", ""): "exec_success",
    ("exec_lift", ""): "exec_lift",
    ("exec_gain", ""): "exec_gain",
}
"""The scalars of a trial's Ray Tune report (the matrix's progress table), each a HEADLINE metric."""


def scalars(rows: Iterable[dict]) -> dict[str, float]:
    """SCALARS of long-form rows {"metric", "key", "value"}; a scalar the trial lacks is left out."""
    values = {(row["metric"], row["key"]): row["value"] for row in rows}
    return {name: values[key] for key, name in SCALARS.items() if key in values}
