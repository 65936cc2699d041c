"""The one list of headline metrics (mopjepa/evaluate/headline.py) that the CLIs, the matrix and the tests read."""

from mopjepa.evaluate import headline


def test_every_reported_scalar_is_a_printed_headline_metric():
    assert {metric for metric, _ in headline.SCALARS} <= set(headline.HEADLINE)
    assert len(set(headline.SCALARS.values())) == len(headline.SCALARS)


def test_the_printed_list_is_the_protocol_list_less_the_per_distance_rows():
    assert headline.HEADLINE[-2:] == ("train_examples_per_s", "seconds")
    printed = [m for m in headline.PROTOCOL_METRICS if m not in headline.NOT_PRINTED]
    assert [*printed, *headline.ARM_DIAGNOSTICS] == list(headline.HEADLINE[:-2])
    assert len(set(headline.PROTOCOL_METRICS)) == len(headline.PROTOCOL_METRICS)


def test_scalars_pick_their_keys_and_skip_what_a_trial_lacks():
    rows = [{"metric": "cov_r", "key": "teleport", "value": 0.5},
            {"metric": "cov_r", "key": "branching", "value": 0.25},
            {"metric": "plan_all", "key": "", "value": 0.1},
            {"metric": "other", "key": "", "value": 9.0}]
    assert headline.scalars(rows) == {"cov_r_teleport": 0.5, "cov_r": 0.25, "plan_all": 0.1}


def test_the_pipelines_read_the_library_list():
    from pipelines import matrix_trial

    assert matrix_trial.headline is headline.scalars
