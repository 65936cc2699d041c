"""The claims' verdicts follow their rules on hand-made results: reproduced, not reproduced, not yet run."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mopjepa.analysis import claims
from mopjepa.analysis.load import load_experiment
from mopjepa.analysis.paper import PAPER_TASKS, PaperTables
from mopjepa.analysis.selection import select
from mopjepa.analysis.tables import Inputs
from mopjepa.config import TrialConfig
from mopjepa.results import Lineage, trial_id, write_trial_rows

MEDIUM, TELEPORT, LARGE = PAPER_TASKS


def experiment(tmp_path, values: dict[tuple[str, str], dict[str, float]], seeds=(0, 1, 2)) -> Inputs:
    """values[(arm, task)] = {metric: value at seed 0}; seed s adds 0.01 * s to every value."""
    root = tmp_path / "exp"
    for (arm, task), metrics in values.items():
        for seed in seeds:
            cfg = TrialConfig.from_flat({"task": task, "arm": arm, "seed": seed, "steps": 10})
            lineage = Lineage(trial_id(cfg), "exp", "regenerated", "h", "c", ("main",)).columns(cfg)
            rows = [{"metric": m, "key": "", "value": v + 0.01 * seed} for m, v in metrics.items()]
            write_trial_rows(root / "results", "metrics", rows, lineage)
    results = load_experiment(root)
    return Inputs(results.metrics, select(results.trials()), PaperTables.load())


def test_collapse_is_reproduced_only_with_every_arm_on_every_maze_below_the_bound(tmp_path):
    low = {(arm, task): {"plan_all": 0.05} for arm in ("dense", "m3", "var") for task in PAPER_TASKS}
    assert claims.collapse(experiment(tmp_path / "a", low)).verdict == "reproduced"
    high = {**low, ("var", LARGE): {"plan_all": 0.3}}
    assert claims.collapse(experiment(tmp_path / "b", high)).verdict == "not reproduced"
    partial = {key: value for key, value in low.items() if key[0] != "m3"}
    verdict = claims.collapse(experiment(tmp_path / "c", partial))
    assert verdict.verdict == "not yet run" and "part (ii)" in verdict.settles


@pytest.mark.parametrize(("mdn", "expected"), [(0.10, "reproduced"), (0.40, "not reproduced")])
def test_the_realroute_lead_needs_the_paired_ci_above_zero_on_medium_and_teleport(tmp_path, mdn, expected):
    values = {(arm, task): {"realroute": value, "realroute_norm": 2 * value}
              for task in (MEDIUM, TELEPORT) for arm, value in (("mop", 0.30), ("mdn", mdn))}
    verdict = claims.realroute_lead(experiment(tmp_path, values))
    assert verdict.verdict == expected
    assert any(line.startswith("medium-stitch realroute: MoP 0.310 ± 0.010 (n=3)") for line in verdict.ours)


def test_execution_is_read_as_lift_over_the_floor(tmp_path):
    values = {(arm, task): {"exec_success": s, "exec_floor": 0.4, "exec_lift": s - 0.4}
              for task in (MEDIUM, LARGE) for arm, s in (("mop", 0.8), ("dense", 0.4))}
    verdict = claims.execution(experiment(tmp_path, values))
    assert verdict.verdict == "reproduced"
    assert "dense (JEPA) medium-stitch: success 0.410 ± 0.010 (n=3), floor 0.410 ± 0.010 (n=3)" in verdict.ours[0]
    same = {key: {**value, "exec_success": 0.4, "exec_lift": 0.0} for key, value in values.items()}
    assert claims.execution(experiment(tmp_path / "same", same)).verdict == "not reproduced"


def test_the_page_lists_every_claim_with_its_verdict(tmp_path):
    page = claims.claims_markdown(claims.verdicts(experiment(tmp_path, {("mop", MEDIUM): {"plan_all": 0.2}}),
                                                  load_experiment(tmp_path / "exp").table("curves")))
    assert page.count("| **not yet run** |") == len(claims.CLAIMS)
    assert "- ours: MoP-JEPA: medium-stitch 0.210 ± 0.010 (n=3)" in page


def test_a_verdict_is_provisional_while_a_planned_trial_it_reads_is_not_complete(tmp_path):
    values = {(arm, task): {"realroute": value, "exec_success": 0.4, "exec_floor": 0.4, "exec_lift": 0.0}
              for task in (MEDIUM, TELEPORT, LARGE) for arm, value in (("mop", 0.30), ("mdn", 0.10), ("dense", 0.0))}
    inputs = experiment(tmp_path, values)
    planned = [({"task": MEDIUM, "arm": "mop", "seed": 3, "episodes_per_task": 0}, ["main"]),
               ({"task": MEDIUM, "arm": "mop", "seed": 4, "episodes_per_task": 0}, ["main"]),
               ({"task": LARGE, "arm": "dense", "seed": 3, "episodes_per_task": 0}, ["main"]),
               ({"task": MEDIUM, "arm": "mop", "seed": 0, "lam_bal": 0.0}, ["ablation_no_balance"])]
    manifest = {"name": "exp", "trials": [{"trial_id": f"t{i}", "flat": flat, "studies": studies}
                                          for i, (flat, studies) in enumerate(planned)]}
    (tmp_path / "exp" / "manifest.json").write_text(json.dumps(manifest))
    pending = load_experiment(tmp_path / "exp").missing
    assert [trial.studies for trial in pending] == [("main",)] * 3 + [("ablation_no_balance",)]
    found = {v.claim[:3]: v for v in claims.verdicts(inputs, pd.DataFrame(), pending)}
    assert found["(c)"].verdict == "provisionally reproduced"
    assert found["(c)"].settles == "2 planned trials not complete: MoP-JEPA medium-stitch seeds 3, 4"
    # dense's pending trial does not execute, and the ablation is another study: (g) reads neither
    assert found["(g)"].verdict == "not reproduced"
    assert found["(b)"].verdict == "not yet run"


def test_the_searchability_evidence_sets_our_unreal_pairs_beside_the_papers(tmp_path):
    values = {("mop", task): {"plan_all": 0.5, "realroute": 0.2} for task in PAPER_TASKS}
    verdict = claims.mop_plan_all(experiment(tmp_path, values), pd.DataFrame())
    assert verdict.verdict == "not reproduced"
    line = next(line for line in verdict.evidence if line.startswith("plan_all - realroute"))
    assert line.endswith("medium-stitch 0.300 vs 0.604; teleport-navigate 0.300 vs 0.556; large-stitch 0.300 vs 0.247")
