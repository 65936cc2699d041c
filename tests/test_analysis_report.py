"""The report and the aggregate CLI on partial, hand-made results: skips with notes, missing trials, no torch."""


import pytest

from mopjepa.analysis.report import build_report
from pipelines.aggregate import main
from tests.analysis_experiment import aggregate_in_fresh_python
from tests.analysis_handmade import missing_trial_id, write_handmade


@pytest.fixture(scope="module")
def handmade(tmp_path_factory):
    return write_handmade(tmp_path_factory.mktemp("storage"))


def test_report_from_partial_results_skips_what_it_cannot_draw(handmade, tmp_path):
    report = build_report(handmade, tmp_path / "report")
    drawn = {f.name: f for f in report.figures}
    for name in ("fig5_plan_all", "fig6_realroute", "fig8_raw_vs_gated_coverage"):
        assert drawn[name].path is not None and drawn[name].path.stat().st_size > 5_000
    for name in ("fig3_teleport_cells", "fig7_realroute_by_distance", "fig9_k_sweep"):
        assert drawn[name].path is None and drawn[name].note.startswith("skipped: ")
    page = report.page.read_text()
    assert f"- {missing_trial_id()}: var on pointmaze-medium-stitch-v0, seed 0" in page
    assert "completed trials: 20 of 21 planned" in page
    assert "fig7_realroute_by_distance" not in page or "skipped: no realroute_by_dist" in page
    for table in ("table2_plan_all", "table3_realroute", "table4_family", "table5_teleport_coverage",
                  "table6_tradeoffs", "configurations"):
        for suffix in (".md", ".csv", ".tex"):
            assert (tmp_path / "report" / "tables" / f"{table}{suffix}").exists()
    assert "- git_commit: `abc123`" in page
    page_html = (tmp_path / "report" / "report.html").read_text()
    # the same content as report.md, rendered: its tables and the claims' verdict table, linked, titled
    assert page_html.count("<table>") == len(report.tables) + 1 and "|---|" not in page_html
    assert "<title>Report: experiment exp</title>" in page_html and '<a href="claims.html">' in page_html
    assert '<a href="tables/table2_plan_all.csv">csv</a>' in page_html
    assert '<img src="figures/fig5_plan_all.png"' in page_html
    assert "<table>" in (tmp_path / "report" / "claims.html").read_text()


def test_report_without_manifest_says_the_plan_is_unknown(tmp_path):
    experiment = write_handmade(tmp_path, with_manifest=False)
    report = build_report(experiment)
    assert report.out == experiment / "report"
    assert "No manifest.json: the planned trials are unknown." in report.page.read_text()


def test_cli_without_a_tracking_store_skips_mlflow_with_a_note(handmade, tmp_path, capsys):
    assert main([str(handmade), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "MLflow: no tracking store" in out and "skipped logging the report" in out
    assert f"missing trials (1 planned, no metrics file):\n    {missing_trial_id()}: var" in out


def test_cli_rejects_a_directory_that_is_no_experiment(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert "not an experiment directory" in capsys.readouterr().err


def test_aggregate_imports_neither_torch_nor_ray(handmade, tmp_path):
    done = aggregate_in_fresh_python([str(handmade), "--out", str(tmp_path / "out")], timeout=300)
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout


def test_a_table_added_to_the_artefacts_is_on_the_page(handmade, tmp_path, monkeypatch):
    """docs/architecture.md#7-how-to-add-a-table-or-figure, step by step."""
    from mopjepa.analysis import artefacts
    from mopjepa.analysis.render import Table

    def table7(evidence):  # step 1: a builder reading the evidence
        table = Table("table7_mop_plan_all", "Table 7: MoP's plan_all", ["task", "plan_all"])
        for task in evidence.tasks("plan_all"):
            table.add([task, evidence.main("mop", task, "plan_all").cell()])
        return table

    extended = (*artefacts.ARTEFACTS, artefacts.Artefact("Table 7", "planning", artefacts.table(table7)))
    monkeypatch.setattr("mopjepa.analysis.report.ARTEFACTS", extended)  # step 2: listed once
    report = build_report(handmade, tmp_path / "report")
    assert report.tables[-1].name == "table7_mop_plan_all"
    assert "| pointmaze-medium-stitch-v0 | 0.500 ± 0.100 (n=3) |" in report.page.read_text()
    assert (tmp_path / "report" / "tables" / "table7_mop_plan_all.tex").exists()


def test_a_claim_added_to_the_rules_is_on_the_claims_page(handmade, tmp_path, monkeypatch):
    """docs/architecture.md#8-how-to-add-a-claim, step by step."""
    from mopjepa.analysis.claims import rules

    def mop_precision(evidence):  # step 1: a rule over the evidence
        v = rules.Verdict("(z) MoP's precision is 0.5", "0.5", "reproduced when MoP's mean precision is 0.5")
        precision = evidence.main("mop", "pointmaze-medium-stitch-v0", "precision")
        v.ours = [f"MoP-JEPA: {precision.cell()}"]
        v.verdict = "reproduced" if precision.mean == 0.5 else "not reproduced"
        return v

    needs = rules.Needs("main", ("mop",), ("precision",))
    monkeypatch.setattr(rules, "CLAIMS", (*rules.CLAIMS, (mop_precision, needs)))  # step 2: listed with what it reads
    report = build_report(handmade, tmp_path / "report")
    row = "| (z) MoP's precision is 0.5 | 0.5 | **reproduced** | default"
    assert row in report.claims and row in report.page.read_text()


def test_results_the_manifest_does_not_plan_reach_no_table(tmp_path):
    """A manifest that names fewer trials than the results hold (issue 25: '8 of 1 planned')."""
    import json

    experiment = write_handmade(tmp_path)
    manifest = json.loads((experiment / "manifest.json").read_text())
    kept = manifest["trials"][:1]
    (experiment / "manifest.json").write_text(json.dumps({**manifest, "trials": kept}))
    report = build_report(experiment, tmp_path / "report")
    page = report.page.read_text()
    assert "completed trials: 1 of 1 planned" in page
    assert report.experiment.trial_ids == [kept[0]["trial_id"]] and len(report.experiment.unplanned) == 19
    assert "19 complete trial(s) on disk are not in manifest.json, so no table or figure reads them: " in page
