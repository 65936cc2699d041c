import dataclasses

import pytest

from mopjepa.config import PREDICTOR_CONFIGS, ConfigError, TrialConfig, coerce


def test_defaults_round_trip_through_flat_form():
    for arm in PREDICTOR_CONFIGS:
        cfg = TrialConfig.from_flat({"arm": arm, "seed": 3})
        assert TrialConfig.from_flat(cfg.to_flat()) == cfg
        assert set(cfg.to_flat()) == set(TrialConfig.allowed_keys(arm))


def test_flat_keys_are_unique_across_components():
    for arm in PREDICTOR_CONFIGS:
        keys = TrialConfig.allowed_keys(arm)
        assert len(keys) == len(set(keys)), arm


@pytest.mark.parametrize(
    ("flat", "fragment"),
    [
        ({"arm": "dense", "K": 8}, "unknown config key(s) ['K'] for arm 'dense'"),
        ({"arm": "mop", "lam_rout": 1.0}, "unknown config key(s) ['lam_rout']"),
        ({"arm": "transformer"}, "'arm' = 'transformer' is not allowed"),
        ({"arm": "mop", "K": 0}, "'K' = 0 is not allowed: must be an int >= 1"),
        ({"arm": "mop", "lam_bal": -0.1}, "'lam_bal' = -0.1 is not allowed"),
        ({"arm": "mdn", "lam_bal": float("nan")}, "'lam_bal' = nan is not allowed"),
        ({"arm": "mop", "assignment": "soft"}, "'assignment' = 'soft' is not allowed"),
        ({"arm": "mop", "ema_tau": 1.0}, "'ema_tau' = 1.0 is not allowed"),
        ({"arm": "mop", "holdout_fraction": 1.5}, "'holdout_fraction' = 1.5"),
        ({"arm": "mop", "edge_cost": "hops"}, "'edge_cost' = 'hops'"),
        ({"arm": "mop", "seed": -1}, "'seed' = -1"),
    ],
)
def test_bad_configs_fail_before_any_work_naming_field_value_and_allowed(flat, fragment):
    with pytest.raises(ConfigError, match=None) as error:
        TrialConfig.from_flat(flat)
    assert fragment in str(error.value)


def test_configs_are_frozen():
    cfg = TrialConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 2  # type: ignore[misc]


def test_coerce_parses_command_line_strings_by_field_type():
    assert coerce("mop", "K", "16") == 16
    assert coerce("mop", "lam_route", "0.5") == 0.5
    legacy = coerce("mop", "context_action", "true")
    cfg = TrialConfig.from_flat({"context_action": legacy, "query_actions": "compass4"})
    assert cfg.data.context_action == "to_exit"
    with pytest.raises(ConfigError, match="'K' = 'many' is not allowed: must be int"):
        coerce("mop", "K", "many")
    with pytest.raises(ConfigError, match="unknown config key 'K' for arm 'dense'"):
        coerce("dense", "K", "3")
