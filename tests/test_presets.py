"""tune_spaces presets: explicit valid trial lists with the counts the paper's matrix implies."""

from collections import Counter

import pytest

from mopjepa.config import ConfigError, TrialConfig
from mopjepa.results import split_studies
from tune_spaces import PRESETS, merge_trials, preset_trials


def plain(trials: list[dict]) -> set[str]:
    """The trials' flat configs (studies set aside), comparable across presets."""
    return {str(sorted(split_studies(t)[0].items())) for t in trials}


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_are_valid_and_only_name_keys_their_arm_has(preset):
    trials = preset_trials(preset)
    assert trials
    for entry in trials:
        flat, studies = split_studies(entry)
        assert studies, f"every trial of a preset declares the studies it feeds: {entry}"
        cfg = TrialConfig.from_flat(flat)
        assert set(flat) <= set(TrialConfig.allowed_keys(cfg.arm, cfg.data.task))
        if cfg.arm in ("dense", "var"):
            assert "K" not in flat and "lam_bal" not in flat


def test_paper_preset_counts():
    trials = preset_trials("paper")
    assert len(trials) == 244 + 9 + 72 + 24  # + the soft MDN on large, the action_context study and the readings
    main = [t for t in trials if "main" in t["studies"]]
    assert all(set(t) == {"task", "arm", "seed", "episodes_per_task", "studies"} for t in main)
    assert Counter(t["arm"] for t in main) == {a: 15 for a in ("dense", "m3", "var", "mdn", "mop", "codebook")}
    assert {t["seed"] for t in main} == set(range(5))
    grid = {(t["K"], t["lam_bal"]) for t in trials if t["arm"] == "mdn" and "lam_bal" in t and "steps" not in t}
    assert {t["sigma_fixed"] for t in trials if "sigma_fixed" in t} == {0.03, 0.1, 0.3, 0.5, 0.7, 1.0}
    assert grid == {(k, lam) for k in (8, 16) for lam in (0.0, 0.01, 0.1)} - {(8, 0.01)}
    sweep = sorted(t.get("K", 8) for t in trials
                   if t["arm"] == "mop" and t["task"] == "pointmaze-teleport-navigate-v0" and t["seed"] == 0
                   and "k_sweep" in t["studies"])
    assert sweep == [1, 2, 3, 4, 6, 8, 16]
    matched = [t for t in trials if t.get("steps") == 60_000]
    assert len(matched) == 10 and {t["K"] for t in matched} == {16}
    executing = [t for t in trials if t["episodes_per_task"] > 0]
    assert all(t["episodes_per_task"] == 50 and t["seed"] < 3 for t in executing)
    assert {t["task"] for t in executing} == {"pointmaze-medium-stitch-v0", "pointmaze-large-stitch-v0"}
    assert sum(t["arm"] == "ensemble" for t in trials) == 9
    assert sum(t.get("edge_cost") == "uniform" for t in trials) == 18


def test_quick_preset_is_one_seed_of_six_arms_on_the_three_mazes():
    trials = preset_trials("quick")
    assert len(trials) == 18 and {t["seed"] for t in trials} == {0}
    assert len({t["task"] for t in trials}) == 3


def test_unknown_preset_is_an_error():
    with pytest.raises(ValueError, match="unknown preset 'tiny'"):
        preset_trials("tiny")


def test_mechanism_preset_is_every_arm_over_the_branch_counts_with_three_seeds():
    from mopjepa.model import PREDICTORS

    trials = preset_trials("mechanism")
    assert len(trials) == len(PREDICTORS) * 6 * 3
    assert {t["arm"] for t in trials} == set(PREDICTORS)
    assert {t["num_modes"] for t in trials} == {1, 2, 3, 4, 6, 8} and {t["task"] for t in trials} == {"mechanism"}
    assert all(t.get("K", 8) >= t["num_modes"] for t in trials if t["arm"] != "m3")
    assert all(TrialConfig.from_flat(split_studies(t)[0]).branch_sweep.num_modes == t["num_modes"] for t in trials)
    assert all(t["studies"] == ["branch_sweep"] for t in trials)


def test_mdn_softness_is_six_fixed_sigmas_beside_the_learned_one_with_mop_alongside():
    trials = preset_trials("mdn_softness")
    assert len(trials) == 2 * 3 * 8 + 3 * 3  # and the soft sigmas on large-stitch
    assert Counter(t.get("sigma_fixed", "learned") for t in trials if t["arm"] == "mdn") == {
        "learned": 6, 0.03: 6, 0.1: 6, 0.3: 6, 0.5: 9, 0.7: 9, 1.0: 9}
    assert sum(t["arm"] == "mop" for t in trials) == 6 and {t["seed"] for t in trials} == {0, 1, 2}
    assert {t["studies"][0] for t in trials} == {"mdn_softness"}
    assert plain(trials) <= plain(preset_trials("paper"))  # the same trials as the paper preset's


def test_reproduce_puts_the_tables_2_3_core_first_and_is_part_of_the_paper_matrix():
    trials = preset_trials("reproduce")
    core = trials[:60]
    assert Counter(t["arm"] for t in core) == {a: 15 for a in ("dense", "mdn", "mop", "codebook")}
    assert {t["seed"] for t in core} == set(range(5)) and all("steps" not in t for t in trials)
    assert Counter(t["arm"] for t in trials[60:90]) == {"m3": 15, "var": 15}
    # the soft sigmas 0.7, 1.0 and 0.5 on medium, the readings, the soft sigmas on teleport, the action context
    # study, the MDN grid on medium (its default cell merged into the main MDN), then the rest of the softness study
    ablations, softness = trials[90:96], trials[96:105] + trials[129:147] + trials[234:]
    assert Counter(t["studies"][0] for t in trials[105:129]) == {"var_samples": 18, "codebook_size": 6}
    assert [t["task"] for t in trials[129:147]] == ["pointmaze-teleport-navigate-v0"] * 9 + [
        "pointmaze-large-stitch-v0"] * 9
    assert trials[147:219] == preset_trials("action_context")
    grid = [t for t in trials if "mdn_grid" in t["studies"]]
    assert trials[219:234] == [t for t in grid if "main" not in t["studies"]] and len(grid) == 18
    assert len(trials) == 243
    assert {(t["task"], t["seed"]) for t in ablations} == {("pointmaze-medium-stitch-v0", s) for s in (0, 1, 2)}
    assert Counter(t["arm"] for t in ablations) == {"ensemble": 3, "mop": 3}
    assert {t["arm"] for t in softness} == {"mdn"} and [t["sigma_fixed"] for t in softness[:3]] == [0.7] * 3
    assert Counter(t["task"] for t in softness) == {"pointmaze-medium-stitch-v0": 18,
                                                    "pointmaze-teleport-navigate-v0": 9, "pointmaze-large-stitch-v0": 9}
    executing = [t for t in trials if t["episodes_per_task"]]
    assert {t["task"] for t in executing} == {"pointmaze-medium-stitch-v0", "pointmaze-large-stitch-v0"}
    assert all(t["episodes_per_task"] == 50 and t["seed"] < 3 for t in executing)
    assert plain(trials) <= plain(preset_trials("paper"))
    assert all("main" in t["studies"] for t in trials[:90])


def test_action_context_queries_every_action_conditioned_arm_with_the_compass():
    trials = preset_trials("action_context")
    assert len(trials) == 2 * 3 * 4 * 3 and [t["seed"] for t in trials[:24]] == [0] * 24  # seed-major
    assert Counter((t["context_action"], t["query_actions"]) for t in trials) == {("step", "compass8"): 36,
                                                                                  ("to_exit", "compass8"): 36}
    assert {t["arm"] for t in trials} == {"dense", "mdn", "mop", "codebook"}
    assert all(TrialConfig.from_flat(split_studies(t)[0]).data.action_in_context for t in trials)


def test_identical_trials_run_once_with_every_study_that_planned_them():
    flat = {"task": "pointmaze-teleport-navigate-v0", "arm": "mop", "seed": 0}
    merged = merge_trials([{**flat, "studies": ["main"]}, {**flat, "K": 8, "studies": ["k_sweep"]},
                           {**flat, "K": 4, "studies": ["k_sweep"]}], "test")
    assert merged == [{**flat, "studies": ["k_sweep", "main"]}, {**flat, "K": 4, "studies": ["k_sweep"]}]
    assert merge_trials([flat], "test") == [{**flat, "studies": []}]  # untagged: plain rows
    with pytest.raises(ValueError, match=r"test, trial 0: unknown studies \['mian'\]"):
        merge_trials([{**flat, "studies": ["mian"]}], "test")
    with pytest.raises(ValueError, match="must be a list of study names"):
        merge_trials([{**flat, "studies": "main"}], "test")


def test_a_preset_added_as_the_architecture_page_says_is_planned_validated_and_merged(monkeypatch):
    """docs/architecture.md#6-how-to-add-a-preset, step by step."""
    import tune_spaces
    from tune_spaces.rules import MEDIUM, trial

    def mine():  # step 1: a function returning the explicit list, each trial with its studies
        return [trial(MEDIUM, "mop", seed, "main") for seed in (0, 1)] + [trial(MEDIUM, "mop", 0, "k_sweep", K=8)]

    monkeypatch.setitem(tune_spaces.PRESETS, "mine", mine)  # step 2: one entry in PRESETS
    planned = preset_trials("mine")
    # K=8 is MoP's default: the K sweep's trial is the main seed 0 trial, run once with both studies
    assert [(t["seed"], t["studies"]) for t in planned] == [(0, ["k_sweep", "main"]), (1, ["main"])]
    monkeypatch.setitem(tune_spaces.PRESETS, "broken", lambda: [trial(MEDIUM, "dense", 0, "main", K=8)])
    with pytest.raises(ConfigError, match="unknown config key"):
        preset_trials("broken")  # every trial validates (dense has no K)
