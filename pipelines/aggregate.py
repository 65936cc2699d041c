"""Aggregate one experiment into its report: the paper's tables and figures, ours beside the paper's.

    python pipelines/aggregate.py EXPERIMENT_DIR [--out DIR] [--tracking-uri URI] [--paper-tables CSV]
                                  [--doc MD] [--readme MD]

EXPERIMENT_DIR is <storage>/<name>/ as the matrix driver writes it (results/ and manifest.json).
Writes OUT (default EXPERIMENT_DIR/report/): report.md and report.html, tables/ (Markdown, CSV,
LaTeX) and figures/ (PNG), and lists every trial that is not complete (missing, partial or unreadable). When a tracking
store exists (EXPERIMENT_DIR/../mlflow.db, or --tracking-uri), the report directory is logged as
artifacts (under report/) of the experiment's parent run, the run tagged mopjepa.parent = true in
the MLflow experiment named after the directory. Needs no torch, no Ray and no tracking server.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mopjepa.analysis.claims.page import check_summary_markers, reproduction_page, with_summary
from mopjepa.analysis.paper import PaperTables
from mopjepa.analysis.report import Report, build_report
from mopjepa.results import MISSING, PARTIAL, UNREADABLE
from pipelines.common import output_directory, read_manifest


def tracking_uri_for(experiment_dir: Path, explicit: str | None) -> str | None:
    """--tracking-uri, else the storage's sqlite store next to the experiment, else None."""
    if explicit:
        return explicit
    store = experiment_dir.resolve().parent / "mlflow.db"
    return f"sqlite:///{store}" if store.exists() else None


def log_to_parent(uri: str, experiment_name: str, report_dir: Path) -> str:
    """Log the report directory to the parent run of `experiment_name`; return that run's id."""
    from pipelines.tracking import PARENT_TAG, Tracker, check_store, retry_locked, sqlite_path

    if (store := sqlite_path(uri)) is not None and store.exists():
        check_store(store)  # StoreError naming the file: e.g. an mlflow.db that is not SQLite
    tracker = Tracker(uri, experiment_name)
    experiment = retry_locked(lambda: tracker.client.get_experiment_by_name(experiment_name))
    if experiment is None:
        raise LookupError(f"no MLflow experiment named {experiment_name!r} in {uri}")
    runs = retry_locked(lambda: tracker.client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.`{PARENT_TAG}` = 'true'", max_results=5
    ))
    if not runs:
        raise LookupError(f"MLflow experiment {experiment_name!r} in {uri} has no parent run ({PARENT_TAG} = true)")
    run_id = runs[0].info.run_id
    retry_locked(lambda: tracker.client.log_artifacts(run_id, str(report_dir), "report"))
    return run_id


INCOMPLETE_HEADERS = {
    MISSING: "planned, no metrics file",
    PARTIAL: "killed part-way: some tables, no metrics file",
    UNREADABLE: "a table file truncated or corrupt, or an empty metrics file",
}


def print_report(report: Report) -> None:
    experiment = report.experiment
    print(f"experiment {experiment.name}: {len(experiment.trial_ids)} completed trials -> {report.out}")
    for table in report.tables:
        print(f"  table   {table.name} (.md .csv .tex)")
    for figure in report.figures:
        print(f"  figure  {figure.name}: " + (figure.path.name if figure.path else figure.note))
    for note in report.notes:
        print(f"  note: {note}")
    if experiment.manifest is None:
        print("  no manifest.json: the planned trials are unknown, so completeness cannot be claimed")
    elif not experiment.missing:
        print(f"  all {len(experiment.manifest['trials'])} planned trials are complete")
    if experiment.missing:
        print(f"  NOT COMPLETE: {len(experiment.missing)} trial(s) missing, partial or unreadable "
              "(left out of every table and figure)")
    for state, header in INCOMPLETE_HEADERS.items():
        trials = [trial for trial in experiment.missing if trial.state == state]
        if trials:
            print(f"  {state} trials ({len(trials)} {header}):")
            for trial in trials:
                print(f"    {trial.describe()}")
    print(f"  page: {report.page}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment_dir", type=Path, help="<storage>/<name>/ holding results/ (and manifest.json)")
    parser.add_argument("--out", type=Path, help="report directory (default: EXPERIMENT_DIR/report)")
    parser.add_argument("--tracking-uri", help="MLflow URI (default: sqlite EXPERIMENT_DIR/../mlflow.db if it exists)")
    parser.add_argument("--paper-tables", type=Path, help="reference numbers CSV (default: the packaged one)")
    parser.add_argument("--doc", type=Path, help="also write the claims page as a reproduction record's document "
                        "(e.g. docs/reproduction.md for reproduction/<name>)")
    parser.add_argument("--readme", type=Path, help="also write the verdict table between this file's reproduction "
                        "verdicts markers (README.md for the committed record)")
    args = parser.parse_args(argv)

    experiment_dir = args.experiment_dir.expanduser()
    try:
        readme = args.readme.read_text() if args.readme is not None else None
        if readme is not None:
            check_summary_markers(readme)
    except (OSError, ValueError) as error:
        print(f"error: --readme {args.readme}: {error}", file=sys.stderr)
        return 2
    try:
        read_manifest(experiment_dir / "manifest.json")  # a corrupt manifest: one line naming it
        if args.out is not None:
            args.out = output_directory(args.out, "--out")
        paper = PaperTables.load(args.paper_tables) if args.paper_tables else None
        report = build_report(experiment_dir, args.out, paper)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_report(report)
    if args.doc is not None:
        args.doc.write_text(reproduction_page(report.experiment.name, report.claims))
        print(f"  claims document: {args.doc}")
    if readme is not None:
        experiment = report.experiment
        planned = len(experiment.manifest["trials"]) if experiment.manifest else len(experiment.trial_ids)
        args.readme.write_text(with_summary(readme, experiment.name, len(experiment.trial_ids), planned, report.claims))
        print(f"  verdict table: {args.readme}")
    uri = tracking_uri_for(experiment_dir, args.tracking_uri)
    if uri is None:
        print(f"MLflow: no tracking store ({experiment_dir.resolve().parent / 'mlflow.db'} absent, no --tracking-uri): "
              "skipped logging the report")
        return 0
    name = experiment_dir.resolve().name
    from pipelines.tracking import StoreError

    try:
        run_id = log_to_parent(uri, name, report.out)
    except (LookupError, StoreError) as error:
        print(f"error: MLflow: {error}; the report is at {report.out} but was not logged", file=sys.stderr)
        return 2
    print(f"MLflow: logged {report.out} as artifacts report/ of parent run {run_id} (experiment {name!r}, {uri})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
