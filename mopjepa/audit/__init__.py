"""Audit any multi-future world model with the verification protocol, blind.

    from mopjepa.audit import audit
    report = audit(task, (encode, successors))            # or (encode, successors, rollout)
    report.metrics  # long-form rows: realroute, precision, cov_r, shuffle, two_step, threshold_*, ...

A model is two numpy functions (see `interface`): encode(observations [N, obs_dim]) -> [N, D] and
successors(observations [N, obs_dim]) -> ([N, K, D], [N, K]); optionally rollout(latents [M, D]) ->
([M, K, D], [M, K]) for two-step rollouts in latent space. The model only ever receives the cells'
query observations (and its own latents); ground truth enters after its graph is proposed.
experiment.run_trial audits its trained arms through this same code.
"""

from mopjepa.audit.interface import ModelFunctions, ModelOutputError, check_successor_set
from mopjepa.audit.protocol import (
    AuditReport,
    CellQueries,
    audit,
    edge_rows,
    evaluate,
    evaluate_metrics,
    output_rows,
    propose,
    query_cells,
)

__all__ = [
    "AuditReport",
    "CellQueries",
    "ModelFunctions",
    "ModelOutputError",
    "audit",
    "check_successor_set",
    "edge_rows",
    "evaluate",
    "evaluate_metrics",
    "output_rows",
    "propose",
    "query_cells",
]
