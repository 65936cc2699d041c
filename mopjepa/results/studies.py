"""The studies a trial feeds, declared by the preset that plans it (never inferred by the analysis).

A preset's trial is a flat config plus the key `studies`, the names below; identical trials planned by
two studies run once and carry both names. The manifest and every result row of a matrix trial carry
them (the `studies` column: names sorted and comma-joined); the analysis selects each table's trials by
name. A trial without studies (a user's untagged --trials-file entry, a single run_trial.py run) is a
plain row: it is listed among the configurations and folded into no table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

STUDIES_KEY = "studies"

STUDIES: dict[str, str] = {
    "main": "the arm's main configuration: Tables 2-6, Figs. 3 and 5-8, the execution and curves figures",
    "k_sweep": "Fig. 9: MoP over K on the teleport maze, MDN at K = 8 beside it",
    "mdn_grid": "Table 4's MDN row: the K x lam_bal grid, the best configuration per task by realroute",
    "matched_capacity": "Table 4's matched-capacity rows: MoP and MDN at K = 16 and a larger step budget",
    "mdn_softness": "the MDN softness study: fixed sigma beside the learned one, MoP alongside",
    "ablation_ensemble": "the independent-ensemble ablation",
    "ablation_no_balance": "MoP without load balance (lam_bal = 0)",
    "ablation_anneal": "MoP with a slow soft-to-hard anneal",
    "ablation_uniform_cost": "uniform edge cost (execution rankings)",
    "branch_sweep": "Fig. 4 (middle): the controlled branch sweep on the generated task",
    "var_samples": "a reading of claim (a): Var-JEPA with S = 2 and 4 samples beside its default S = 8",
    "codebook_size": "a reading of the teleport coverage claims: the codebook control with K = 16 and 32 codes",
    "action_context": "the action-conditioned world model (c = [z, a]): contexts with the action, graphs "
                      "queried with a compass action set, beside the action-free main configurations",
}


def check_studies(studies: Any, where: str) -> tuple[str, ...]:
    """The sorted, de-duplicated study names of one trial; an error naming `where` for anything else."""
    if not isinstance(studies, list | tuple) or not all(isinstance(name, str) for name in studies):
        raise ValueError(f"{where}: '{STUDIES_KEY}' = {studies!r} is not allowed: must be a list of study names")
    unknown = sorted(set(studies) - set(STUDIES))
    if unknown:
        raise ValueError(f"{where}: unknown studies {unknown}; known: {sorted(STUDIES)}")
    return tuple(sorted(set(studies)))


def split_studies(entry: dict[str, Any], where: str = "trial") -> tuple[dict[str, Any], tuple[str, ...]]:
    """(the flat config without `studies`, its studies) of a planned trial."""
    flat = {key: value for key, value in entry.items() if key != STUDIES_KEY}
    return flat, check_studies(entry.get(STUDIES_KEY, []), where)


def tagged(flat: dict[str, Any], *studies: str) -> dict[str, Any]:
    """`flat` with `studies` added to the ones it has."""
    return {**flat, STUDIES_KEY: sorted({*flat.get(STUDIES_KEY, []), *check_studies(list(studies), "tagged")})}


def studies_text(studies: Iterable[str]) -> str:
    """The `studies` column's value: sorted names joined by commas ('' for none)."""
    return ",".join(sorted(set(studies)))


def parse_studies(text: Any) -> frozenset[str]:
    """The names of a `studies` column value (None or '' for an untagged or older row)."""
    if not isinstance(text, str) or not text:
        return frozenset()
    return frozenset(text.split(","))
