"""The experiment's report: every table (Markdown, CSV, LaTeX), every figure (PNG), one page linking them.

    <out>/report.md, report.html       the page: tables inline, figures linked, missing trials, lineage
    <out>/claims.md, claims.html       the paper's claims, each with its rule, our numbers and a verdict
    <out>/tables/<name>.{md,csv,tex}   Tables 2-6 and every configuration
    <out>/tables/summary_long.csv      machine-readable: every main-configuration metric over seeds
    <out>/figures/<name>.png           Figs. 3, 5-9, execution lift, curves per task, MDN softness

Reads only Parquet and JSON (and OGBench's maze layout for Fig. 3): no torch, Ray or tracking server.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mopjepa.analysis import selection
from mopjepa.analysis.artefacts import ARTEFACTS, CsvTable
from mopjepa.analysis.claims import page as claims_page
from mopjepa.analysis.claims.readings import judge_all
from mopjepa.analysis.evidence import TELEPORT_KEY, Evidence, gather, load_geometry
from mopjepa.analysis.load import ExperimentResults
from mopjepa.analysis.paper import PaperTables
from mopjepa.analysis.plotting import Figure
from mopjepa.analysis.render import Table
from mopjepa.analysis.stats import summarize


@dataclass
class Report:
    out: Path
    experiment: ExperimentResults
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    claims: str = ""
    """The paper's claims with their verdicts (mopjepa.analysis.claims), as Markdown."""
    csv_tables: list[Path] = field(default_factory=list)
    """Long tables written as CSV only (the branch sweep and the gate-threshold sweep)."""

    @property
    def page(self) -> Path:
        return self.out / "report.md"


def build_report(experiment_dir: Path, out: Path | None = None, paper: PaperTables | None = None,
                 geometry_loader=load_geometry) -> Report:
    """Aggregate one experiment directory into `out` (default EXP/report/): one loop over the artefacts, one
    over the claims."""
    evidence = gather(experiment_dir, paper, geometry_loader)
    experiment = evidence.experiment
    out = Path(out) if out is not None else experiment.root / "report"
    report = Report(out.resolve(), experiment)
    report.notes += list(evidence.selection.notes)
    for artefact in ARTEFACTS:
        for item in artefact.build(evidence, out):
            if isinstance(item, Table):
                item.write(out / "tables")
                report.tables.append(item)
            elif isinstance(item, CsvTable):
                report.csv_tables.append(item.path)
            else:
                report.figures.append(item)
    out.mkdir(parents=True, exist_ok=True)
    summary_frame(evidence).to_csv(out / "tables" / "summary_long.csv", index=False)
    report.claims = claims_page.claims_markdown(judge_all(evidence))
    (out / "claims.md").write_text(f"# The paper's claims: experiment `{experiment.name}`\n\n" + report.claims)
    report.page.write_text(page_markdown(report, evidence.selection))
    (out / "report.html").write_text(page_html(report, evidence.selection))
    claims_title = f"The paper's claims: experiment {experiment.name}"
    (out / "claims.html").write_text(markdown_html((out / "claims.md").read_text(), claims_title))
    return report


def summary_frame(evidence: Evidence) -> pd.DataFrame:
    """One row per (task, arm, metric, key) of every main configuration: mean, std, n, seeds' values."""
    rows = []
    for arm, group in sorted(evidence.selection.main.items()):
        mine = evidence.metrics[evidence.metrics["trial_id"].isin(group.trial_ids)]
        for (task, metric, key), _ in mine.groupby(["task", "metric", "key"]):
            summary = summarize(mine, group.trial_ids, task, metric, key)
            paper = None
            if key in ("", TELEPORT_KEY):
                paper = evidence.paper.get(("2", "3", "4", "5", "text"), metric, task, arm)
            rows.append({
                "task": task, "arm": arm, "configuration": group.label, "metric": metric, "key": key,
                "mean": summary.mean, "std": summary.std, "n": summary.n, "nonfinite": summary.nonfinite,
                "seeds": " ".join(f"{seed}:{value:.6g}" for seed, value in summary.values.items()),
                "paper_mean": paper.mean if paper else float("nan"),
                "paper_std": paper.std if paper else float("nan"),
            })
    return pd.DataFrame(rows)


def _state_counts(experiment: ExperimentResults) -> str:
    counts: dict[str, int] = {}
    for trial in experiment.missing:
        counts[trial.state] = counts.get(trial.state, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


def page_markdown(report: Report, chosen: selection.Selection) -> str:
    experiment = report.experiment
    manifest = experiment.manifest
    planned = len(manifest["trials"]) if manifest else None
    lines = [f"# Report: experiment `{experiment.name}`", ""]
    lines.append(f"Directory: `{experiment.root}`; preset: `{manifest.get('preset', '?') if manifest else 'none'}`; "
                 f"completed trials: {len(experiment.trial_ids)}"
                 + (f" of {planned} planned" if planned is not None else " (no manifest.json: nothing planned)"))
    lines += ["", "## The paper's claims", "", "Every claim with its rule, our numbers and its verdict under every "
              "reading: [claims.md](claims.md)", "", claims_page.verdict_table(report.claims)]
    lines += ["", "## Incomplete trials", ""]
    if manifest is None:
        lines.append("No manifest.json: the planned trials are unknown. So the experiment is not known to be complete.")
    elif not experiment.missing:
        lines.append(f"None: all {planned} planned trials are complete.")
    if experiment.missing:
        lines.append(f"{len(experiment.missing)} trial(s) are not complete ({_state_counts(experiment)}); "
                     "no table or figure reads their rows:")
        lines += [f"- {trial.describe()}" for trial in experiment.missing]
    if experiment.unplanned:
        lines.append(f"{len(experiment.unplanned)} complete trial(s) on disk are not in manifest.json, so no table "
                     f"or figure reads them: {', '.join(experiment.unplanned)}")
    lines += ["", "## Which trials feed the tables", "", _rule_text(), ""]
    lines += [f"- main configuration of {arm}: `{group.label}` ({len(group.trial_ids)} trials on "
              f"{len(group.tasks)} task(s))" for arm, group in sorted(chosen.main.items())]
    if chosen.reference:
        lines.append("- keys no trial keeps at its default (rule 2), referenced to: "
                     + ", ".join(f"{k}={v}" for k, v in chosen.reference.items()))
    lines += [f"- note: {note}" for note in report.notes]
    lines += ["", "## Tables", ""]
    for table in report.tables:
        lines.append(f"Files: [{table.name}.md](tables/{table.name}.md), [csv](tables/{table.name}.csv), "
                     f"[tex](tables/{table.name}.tex)")
        lines += ["", table.markdown()]
    lines.append("Every main-configuration metric: [summary_long.csv](tables/summary_long.csv)")
    lines += [f"{path.stem.replace('_', ' ')}: [{path.name}](tables/{path.name})" for path in report.csv_tables]
    lines += ["", "## Figures", ""]
    for figure in report.figures:
        if figure.path is None:
            lines.append(f"- {figure.caption}: {figure.note}")
        else:
            lines += [f"### {figure.caption}", "", f"![{figure.name}](figures/{figure.path.name})", ""]
    lines += ["", "## Lineage", ""]
    for name, values in experiment.lineage().items():
        lines.append(f"- {name}: " + (", ".join(f"`{v}`" for v in values) if values else "none"))
    return "\n".join(lines) + "\n"


def _rule_text() -> str:
    doc = selection.__doc__ or ""
    return doc[doc.index("1. "):].strip() if "1. " in doc else doc.strip()


PAGE_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1400px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.85em; display: block; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 3px 6px; white-space: nowrap; vertical-align: top; }
th { background: #f2f2f2; position: sticky; top: 0; }
td:first-child, th:first-child { white-space: normal; min-width: 12em; max-width: 32em; }
img { max-width: 100%; border: 1px solid #eee; }
code { background: #f6f6f6; padding: 0 2px; }
"""


def markdown_html(markdown: str, title: str) -> str:
    """A Markdown page (ours: headings, lists, tables, links, images) as a self-contained HTML page; its links to
    .md pages of the report point at their .html renderings."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    body = body.replace('href="claims.md"', 'href="claims.html"')
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{PAGE_STYLE}</style></head><body>{body}</body></html>\n")


def page_html(report: Report, chosen: selection.Selection) -> str:
    """report.md as HTML: the same content (claims, tables, figures, lineage), linked."""
    return markdown_html(page_markdown(report, chosen), f"Report: experiment {report.experiment.name}")
