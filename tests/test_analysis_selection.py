"""The selection on the real presets: every table reads the trials of the study its preset declared."""

import json

import pandas as pd
import pytest

from mopjepa.analysis.selection import k_sweep, matched_capacity, mdn_grid, select
from mopjepa.config import TrialConfig
from mopjepa.results import split_studies, studies, trial_id
from tune_spaces import preset_trials, quick


def trials_frame(entries: list[dict]) -> pd.DataFrame:
    pairs = [split_studies(entry) for entry in entries]
    configs = [TrialConfig.from_flat(flat) for flat, _ in pairs]
    return pd.DataFrame({"trial_id": [trial_id(c) for c in configs],
                         "config_json": [json.dumps(c.to_flat()) for c in configs],
                         "studies": [studies.studies_text(names) for _, names in pairs]})


@pytest.fixture(scope="module")
def paper():
    return select(trials_frame(preset_trials("paper")))


def test_paper_preset_mains_are_the_trials_tagged_main(paper):
    assert {arm: group.label for arm, group in paper.main.items()} == {
        arm: arm for arm in ("codebook", "dense", "m3", "mdn", "mop", "var")
    }
    # 5 seeds x 3 mazes, whether or not a seed executes (episodes_per_task 50 vs 0).
    assert len(paper.main["mop"].trial_ids) == 15 and len(paper.main["mop"].tasks) == 3
    assert "ensemble" not in paper.main  # an ablation, not a main configuration
    assert paper.notes == ()


def test_paper_preset_studies_feed_their_own_outputs(paper):
    assert sorted((g.value("K"), g.value("lam_bal")) for g in mdn_grid(paper)) == [
        (8, 0.0), (8, 0.01), (8, 0.1), (16, 0.0), (16, 0.01), (16, 0.1)
    ]
    # The default MDN is main (15 trials) and in the grid, whose trials are its 3 seeds x 3 mazes only.
    default = next(g for g in mdn_grid(paper) if g.label == "mdn")
    assert len(default.trial_ids) == 9 and set(default.trial_ids) < set(paper.main["mdn"].trial_ids)
    assert [g.label for g in matched_capacity(paper, "mop")] == ["mop [K=16, steps=60000]"]
    assert [g.label for g in matched_capacity(paper, "mdn")] == ["mdn [K=16, lam_bal=0.1, steps=60000]"]
    assert [g.value("K") for g in k_sweep(paper)] == [1, 2, 3, 4, 6, 8, 16]
    assert [g.value("K") for g in k_sweep(paper, "mdn")] == [8]
    assert {g.label for g in paper.study("ablation_no_balance")} == {"mop [lam_bal=0.0]"}
    assert {g.label for g in paper.study("ablation_anneal")} == {"mop [assignment=anneal, warmup_fraction=0.8]"}
    assert {g.label for g in paper.study("ablation_uniform_cost", "mop")} == {"mop [edge_cost=uniform]"}
    assert sorted(g.value("sigma_fixed") for g in paper.study("mdn_softness", "mdn")) == [
        0.0, 0.03, 0.1, 0.3, 0.5, 0.7, 1.0
    ]


def test_smoke_preset_budget_names_nothing_and_its_k_sweep_is_declared():
    chosen = select(trials_frame(preset_trials("smoke")))
    assert {arm: g.label for arm, g in chosen.main.items()} == {arm: arm for arm in ("codebook", "dense", "mdn", "mop")}
    assert chosen.reference == {"K": 4, "batch_size": 64, "encoder_hidden": 64, "hidden_dim": 64, "latent_dim": 16,
                                "steps": 150}
    assert {g.label for g in chosen.others()} == {"mop [K=1]", "mop [K=2]"}
    assert [g.value("K") for g in k_sweep(chosen)] == [1, 2, 4]


def test_quick_preset_mains_have_no_deviations():
    chosen = select(trials_frame(preset_trials("quick")))
    assert all(not group.deviations for group in chosen.main.values())
    assert chosen.reference == {"steps": quick.BUDGET["steps"]}


def test_untagged_trials_are_plain_rows_never_a_main_configuration():
    task = "pointmaze-teleport-navigate-v0"
    chosen = select(trials_frame([{"task": task, "arm": "mop", "K": 2}, {"task": task, "arm": "mdn"}]))
    assert chosen.main == {} and k_sweep(chosen) == [] and mdn_grid(chosen) == []
    assert len(chosen.groups) == 2 and chosen.notes == (
        "2 trial(s) declare no study: listed among the configurations, in no table",)


def test_two_main_configurations_of_one_arm_are_an_error():
    task = "pointmaze-teleport-navigate-v0"
    entries = [{"task": task, "arm": "mop", "K": 2, "studies": ["main"]},
               {"task": task, "arm": "mop", "K": 3, "studies": ["main"]}]
    with pytest.raises(ValueError, match="two configurations of arm 'mop' are tagged 'main'"):
        select(trials_frame(entries))


def test_a_larger_budget_is_named_as_a_deviation_even_when_no_trial_keeps_the_default():
    task = "pointmaze-large-stitch-v0"
    flats = [{"task": task, "arm": arm, "seed": seed, "steps": 100, "studies": ["main"]}
             for arm in ("mop", "mdn") for seed in (0, 1)]
    flats += [{"task": task, "arm": "mop", "K": 16, "steps": 400, "studies": ["matched_capacity"]}]
    chosen = select(trials_frame(flats))
    assert chosen.reference == {"steps": 100}
    assert chosen.main["mop"].label == "mop"
    assert [g.label for g in matched_capacity(chosen, "mop")] == ["mop [K=16, steps=400]"]


def test_a_study_keeps_only_the_tasks_of_its_own_trials():
    reproduce = select(trials_frame(preset_trials("reproduce")))
    learned = next(g for g in reproduce.study("mdn_softness", "mdn") if not g.value("sigma_fixed"))
    # the learned-sigma MDN is main on three mazes; the softness study ran it on medium-stitch and teleport only
    assert learned.tasks == ("pointmaze-medium-stitch-v0", "pointmaze-teleport-navigate-v0")
    assert len(learned.trial_ids) == 6
    assert len(reproduce.main["mdn"].tasks) == 3
