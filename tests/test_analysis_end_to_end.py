"""The aggregate CLI end to end on real smoke-preset results, MLflow artifact logging included (slow)."""

from pathlib import Path

import matplotlib.image
import pytest
from mlflow.tracking import MlflowClient

from mopjepa.analysis.load import load_experiment
from mopjepa.analysis.report import build_report
from mopjepa.config import TrialConfig
from mopjepa.results import split_studies, trial_id
from pipelines.aggregate import main
from pipelines.tracking import Tracker, default_tracking_uri
from tests.analysis_experiment import aggregate_in_fresh_python, generate_experiment
from tune_spaces import preset_trials

pytestmark = pytest.mark.slow

STEPS = 30
"""Smoke preset with a smaller step budget: every arm, task and K the preset has, in about a minute."""


@pytest.fixture(scope="module")
def smoke_experiment(tmp_path_factory, full_data_dir):
    """The smoke preset (last planned trial left out: a partial experiment) under <storage>/smoke."""
    storage = tmp_path_factory.mktemp("storage")
    trials = [{**flat, "steps": STEPS} for flat in preset_trials("smoke")]
    return generate_experiment(storage, "smoke", "smoke", trials, full_data_dir, skip=1)


@pytest.fixture(scope="module")
def report(smoke_experiment, tmp_path_factory):
    return build_report(smoke_experiment, tmp_path_factory.mktemp("report"))


def test_every_figure_renders_from_smoke_results(report):
    # Every trial also records its threshold sweep and two-step beliefs: one figure of each per smoke task.
    smoke_tasks = ["pointmaze-medium-stitch-v0", "pointmaze-teleport-navigate-v0"]
    assert [f.name for f in report.figures] == [
        "fig3_teleport_cells", "fig5_plan_all", "fig6_realroute", "fig7_realroute_by_distance",
        "fig8_raw_vs_gated_coverage", "fig9_k_sweep", "fig_execution_lift", "fig_mdn_softness",
        "fig_action_context_curves", "fig_curves_medium-stitch", "fig_curves_teleport-navigate",
        *(f"threshold_sweep_{task}" for task in smoke_tasks), *(f"beliefs_{task}" for task in smoke_tasks),
    ]
    for figure in report.figures:
        if figure.name == "fig_mdn_softness":  # the smoke preset has no softness study: said, not drawn
            assert figure.path is None and "no MDN trial with a fixed sigma" in figure.note
            continue
        if figure.name == "fig_action_context_curves":  # nor the action_context study
            assert figure.path is None and "no curves of the action_context study" in figure.note
            continue
        assert figure.path is not None, f"{figure.name}: {figure.note}"
        height, width, _ = matplotlib.image.imread(figure.path).shape
        assert height > 200 and width > 300, figure.name


def test_smoke_tables_hold_our_numbers_and_mark_the_rest(report):
    table2 = next(t for t in report.tables if t.name == "table2_plan_all").markdown()
    mop = next(line for line in table2.splitlines() if line.startswith("| MoP-JEPA |"))
    cells = [cell.strip() for cell in mop.strip("|").split("|")]
    assert cells[1].endswith("(n=1)") and cells[3].endswith("(n=1)")  # medium, teleport: measured
    assert cells[5] == "—" and cells[6] == "0.386 ± 0.45"  # large-stitch: not in the smoke preset
    configurations = next(t for t in report.tables if t.name == "configurations")
    # K=4 is every smoke arm's K (rule 2's reference); K=1 is the sweep; K=2 was left out (not run).
    assert {row[0] for row in configurations.rows} == {"codebook", "dense", "mdn", "mop", "mop [K=1]"}


def test_cli_end_to_end_logs_the_report_to_the_parent_run(smoke_experiment, tmp_path):
    storage = smoke_experiment.parent
    uri = default_tracking_uri(storage)
    tracker = Tracker(uri, "smoke")
    experiment_id = tracker.ensure_experiment(storage / "mlartifacts")
    parent = tracker.start_parent(experiment_id, "smoke", {"preset": "smoke"})
    done = aggregate_in_fresh_python([str(smoke_experiment)], timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "LOADED []" in done.stdout  # the whole path, MLflow and the maze geometry included
    skipped = TrialConfig.from_flat({**split_studies(preset_trials("smoke")[-1])[0], "steps": STEPS})
    assert f"missing trials (1 planned, no metrics file):\n    {trial_id(skipped)}: mop" in done.stdout
    assert f"parent run {parent}" in done.stdout
    report_dir = smoke_experiment / "report"
    client = MlflowClient(uri)
    logged = {a.path for a in client.list_artifacts(parent, "report")}
    assert {"report/report.md", "report/report.html", "report/tables", "report/figures"} <= logged
    figures = {Path(a.path).name for a in client.list_artifacts(parent, "report/figures")}
    assert figures == {path.name for path in (report_dir / "figures").iterdir()}
    copy = Path(client.download_artifacts(parent, "report/report.md", str(tmp_path)))
    assert copy.read_text() == (report_dir / "report.md").read_text()
    assert len(load_experiment(smoke_experiment).missing) == 1


def test_cli_fails_loudly_on_a_store_without_the_experiment(smoke_experiment, tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'other.db'}"
    assert main([str(smoke_experiment), "--out", str(tmp_path / "out"), "--tracking-uri", uri]) == 2  # a usage error
    assert "no MLflow experiment named 'smoke'" in capsys.readouterr().err
