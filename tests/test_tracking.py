"""MLflow lineage against a real SQLite backend store, with concurrent trial writers."""

from multiprocessing import get_context

from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from pipelines.tracking import Tracker, default_tracking_uri


def _log_trial(args):
    uri, experiment_id, parent_id, index = args
    tracker = Tracker(uri, "exp")
    run_id = tracker.start_trial(experiment_id, parent_id, f"trial{index}", f"mop-s{index}", {"arm": "mop"})
    tracker.log_params(run_id, {f"p{k}": k for k in range(150)})
    tracker.log_metrics(run_id, [("train/loss", 1.0 / (step + 1), step) for step in range(300)])
    tracker.log_metrics(run_id, [("eval/plan_all", 0.5, 0), ("eval/shuffle", float("nan"), 0)])
    tracker.finish(run_id)
    return run_id


def test_parent_and_concurrent_children_land_in_sqlite(tmp_path):
    uri = default_tracking_uri(tmp_path)
    assert uri.startswith("sqlite:////")
    tracker = Tracker(uri, "exp")
    experiment_id = tracker.ensure_experiment(tmp_path / "mlartifacts")
    assert tracker.ensure_experiment(tmp_path / "mlartifacts") == experiment_id
    parent_id = tracker.start_parent(experiment_id, "exp", {"preset": "smoke"})
    with get_context("spawn").Pool(6) as pool:
        children = pool.map(_log_trial, [(uri, experiment_id, parent_id, i) for i in range(6)])
    client = MlflowClient(uri)
    runs = client.search_runs([experiment_id], filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent_id}'")
    assert sorted(r.info.run_id for r in runs) == sorted(children)
    for run in runs:
        assert run.info.status == "FINISHED"
        assert len(run.data.params) == 150
        assert run.data.metrics["eval/plan_all"] == 0.5 and "eval/shuffle" not in run.data.metrics
        assert len(client.get_metric_history(run.info.run_id, "train/loss")) == 300


def test_a_rerun_trial_reuses_its_run_and_a_resumed_experiment_its_parent(tmp_path):
    uri = default_tracking_uri(tmp_path)
    tracker = Tracker(uri, "exp")
    experiment_id = tracker.ensure_experiment()
    parent = tracker.start_parent(experiment_id, "exp", {})
    assert tracker.start_parent(experiment_id, "exp", {}) == parent
    first = tracker.start_trial(experiment_id, parent, "abc", "run", {})
    tracker.log_params(first, {"K": 8})
    second = tracker.start_trial(experiment_id, parent, "abc", "run", {})
    tracker.log_params(second, {"K": 8})
    assert first == second
    other_parent = tracker.start_trial(experiment_id, "another-parent", "abc", "run", {})
    assert other_parent != first


def test_metric_keys_are_made_mlflow_safe():
    from pipelines.matrix_trial import metric_key

    assert metric_key("eval", {"metric": "plan_all", "key": ""}) == "eval/plan_all"
    assert metric_key("eval", {"metric": "threshold_cov_r", "key": "teleport@0.0625"}) == \
        "eval/threshold_cov_r/teleport:0.0625"
    assert metric_key("eval", {"metric": "x", "key": "a|b"}) == "eval/x/a_b"


def test_a_rerun_with_other_runtime_keys_reuses_its_run_and_updates_only_tags(tmp_path):
    from mopjepa.config import TrialConfig
    from pipelines.matrix_trial import log_config

    uri = default_tracking_uri(tmp_path)
    tracker = Tracker(uri, "exp")
    experiment_id = tracker.ensure_experiment(tmp_path / "mlartifacts")
    parent_id = tracker.start_parent(experiment_id, "exp", {})
    cfg = TrialConfig.from_flat({"arm": "dense", "device": "auto"})
    run_id = tracker.start_trial(experiment_id, parent_id, "t1", "dense", {})
    log_config(tracker, run_id, cfg)
    again = tracker.start_trial(experiment_id, parent_id, "t1", "dense", {})
    assert again == run_id
    log_config(tracker, again, cfg.replace(device="cpu", dataset_dir="/elsewhere"))  # MLflow forbids changed params
    run = MlflowClient(uri).get_run(run_id)
    assert "device" not in run.data.params and run.data.params["steps"] == "20000"
    assert run.data.tags["runtime.device"] == "cpu" and run.data.tags["runtime.dataset_dir"] == "/elsewhere"


def test_a_rerun_trial_logs_its_curve_once(tmp_path):
    uri = default_tracking_uri(tmp_path)
    tracker = Tracker(uri, "exp")
    experiment_id = tracker.ensure_experiment()
    parent = tracker.start_parent(experiment_id, "exp", {})
    curve = [("train/loss", 1.0 / (step + 1), step) for step in range(0, 100, 10)]
    for attempt in range(2):  # the first attempt was killed after logging part of its curve
        run = tracker.start_trial(experiment_id, parent, "abc", "run", {})
        tracker.log_metrics(run, curve[:4] if attempt == 0 else curve)
        tracker.log_metrics(run, [("eval/plan_all", 0.5, 0)])
    history = MlflowClient(uri).get_metric_history(run, "train/loss")
    assert sorted(m.step for m in history) == [step for _, _, step in curve]
    assert len(MlflowClient(uri).get_metric_history(run, "eval/plan_all")) == 1


def test_experiments_open_on_their_runs_with_a_description(tmp_path):
    uri = default_tracking_uri(tmp_path)
    tracker = Tracker(uri, "exp")
    experiment_id = tracker.ensure_experiment(tmp_path / "mlartifacts", note="preset `smoke`, commit `abc`")
    tags = MlflowClient(uri).get_experiment(experiment_id).tags
    assert tags["mlflow.experimentKind"] == "custom_model_development"
    assert tags["mlflow.note.content"] == "preset `smoke`, commit `abc`"
    assert Tracker(uri, "exp").ensure_experiment() == experiment_id  # an existing experiment keeps its note
    assert MlflowClient(uri).get_experiment(experiment_id).tags["mlflow.note.content"].startswith("preset")
