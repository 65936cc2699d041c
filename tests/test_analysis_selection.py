"""The selection rule on the real presets: main configurations, the MDN grid, matched capacity, the K sweep."""

import json

import pandas as pd
import pytest

from mopjepa.analysis.selection import k_sweep, matched_capacity, mdn_grid, select
from mopjepa.config import TrialConfig
from mopjepa.results import trial_id
from tune_spaces import preset_trials, quick


def trials_frame(flats: list[dict]) -> pd.DataFrame:
    configs = [TrialConfig.from_flat(flat) for flat in flats]
    return pd.DataFrame({"trial_id": [trial_id(c) for c in configs],
                         "config_json": [json.dumps(c.to_flat()) for c in configs]})


@pytest.fixture(scope="module")
def paper():
    return select(trials_frame(preset_trials("paper")))


def test_paper_preset_mains_are_the_defaults(paper):
    assert {arm: group.label for arm, group in paper.main.items()} == {
        arm: arm for arm in ("codebook", "dense", "ensemble", "m3", "mdn", "mop", "var")
    }
    # 5 seeds x 3 mazes, whether or not a seed executes (episodes_per_task 50 vs 0).
    assert len(paper.main["mop"].trial_ids) == 15 and len(paper.main["mop"].tasks) == 3
    assert paper.notes == ()


def test_paper_preset_variants_feed_their_own_outputs(paper):
    assert sorted((g.value("K"), g.value("lam_bal")) for g in mdn_grid(paper)) == [
        (8, 0.0), (8, 0.01), (8, 0.1), (16, 0.0), (16, 0.01), (16, 0.1)
    ]
    assert [g.label for g in matched_capacity(paper, "mop")] == ["mop [K=16, steps=60000]"]
    assert [g.label for g in matched_capacity(paper, "mdn")] == ["mdn [K=16, lam_bal=0.1, steps=60000]"]
    assert [g.value("K") for g in k_sweep(paper)] == [1, 2, 3, 4, 6, 8, 16]
    others = {g.label for g in paper.others()}
    assert {"mop [lam_bal=0.0]", "mop [assignment=anneal, warmup_fraction=0.8]", "mop [edge_cost=uniform]"} <= others


def test_smoke_preset_budget_is_the_reference_and_the_k_sweep_stays_out():
    chosen = select(trials_frame(preset_trials("smoke")))
    assert {arm: g.label for arm, g in chosen.main.items()} == {arm: arm for arm in ("codebook", "dense", "mdn", "mop")}
    assert chosen.reference == {"K": 4, "batch_size": 64, "encoder_hidden": 64, "hidden_dim": 64, "latent_dim": 16,
                                "steps": 150}
    assert {g.label for g in chosen.others()} == {"mop [K=1]", "mop [K=2]"}
    assert [g.value("K") for g in k_sweep(chosen)] == [1, 2, 4]
    assert chosen.notes == ()


def test_quick_preset_mains_have_no_deviations():
    chosen = select(trials_frame(preset_trials("quick")))
    assert all(not group.deviations for group in chosen.main.values())
    assert chosen.reference == {"steps": quick.BUDGET["steps"]}


def test_a_larger_budget_is_a_deviation_even_when_no_trial_keeps_the_default():
    task = "pointmaze-large-stitch-v0"
    flats = [{"task": task, "arm": arm, "seed": seed, "steps": 100} for arm in ("mop", "mdn") for seed in (0, 1)]
    flats += [{"task": task, "arm": "mop", "K": 16, "steps": 400}]
    chosen = select(trials_frame(flats))
    assert chosen.reference == {"steps": 100}
    assert chosen.main["mop"].label == "mop"
    assert [g.label for g in matched_capacity(chosen, "mop")] == ["mop [K=16, steps=400]"]


def test_an_unresolvable_tie_is_reported():
    task = "pointmaze-teleport-navigate-v0"
    chosen = select(trials_frame([{"task": task, "arm": "mop", "K": 2}, {"task": task, "arm": "mop", "K": 3},
                                  {"task": task, "arm": "mop", "lam_route": 0.5}]))
    assert chosen.reference == {}  # K = 8 and lam_route = 1.0 are kept by some trial
    assert chosen.main["mop"].label == "mop [K=2]"
    assert chosen.notes == ("main configuration of mop is ambiguous: took mop [K=2] over mop [K=3], "
                            "mop [lam_route=0.5]",)
