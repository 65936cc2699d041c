"""The claims as pages: the verdict table and each claim's numbers (claims.md), the README's verdict
block between its markers, and docs/reproduction.md, all written from `claims.readings.judge_all`."""

from __future__ import annotations

from mopjepa.analysis.claims.rules import Verdict


def claims_markdown(found: list[Verdict]) -> str:
    """The verdict table (the default reading's verdict and the readings each claim holds under), then each
    claim's numbers, rule, evidence and its verdict under every reading that applies."""
    readings = any(v.under for v in found)
    lines = ["| claim | paper | verdict |" + (" holds under |" if readings else ""),
             "|---|---|---|" + ("---|" if readings else "")]
    lines += [f"| {v.claim} | {v.paper} | **{v.verdict}** |" + (f" {holds_under(v)} |" if readings else "")
              for v in found]
    for v in found:
        lines += ["", f"### {v.claim}", "", f"- paper: {v.paper}", f"- rule: {v.rule}"]
        lines += [f"- ours: {line}" for line in v.ours] or ["- ours: —"]
        lines += [f"- evidence: {line}" for line in v.evidence]
        lines.append(f"- verdict: **{v.verdict}**" + (f" (settled by: {v.settles})" if v.settles else ""))
        if v.under:
            lines += ["", f"Under every reading that applies (docs/protocol.md#10-readings); holds under: "
                          f"{holds_under(v)}.", "", "| reading | verdict | ours |", "|---|---|---|"]
            lines += [f"| {name} | {verdict} | {ours} |" for name, ours, verdict in v.under]
    return "\n".join(lines) + "\n"


def holds_under(verdict: Verdict) -> str:
    """'default, paper_graphs', or 'none (of N readings run)'."""
    run = [name for name, _, text in verdict.under if not text.startswith("not yet run")]
    return ", ".join(verdict.holds_under) or f"none (of {len(run)} reading{'s' * (len(run) != 1)} run)"


def verdict_table(claims: str) -> str:
    """The claims page's first block: one row per claim with its verdict."""
    return claims.split("\n\n")[0]


SUMMARY_BEGIN = "<!-- reproduction verdicts: written by `pipelines/aggregate.py --readme`, do not edit -->"
SUMMARY_END = "<!-- end of reproduction verdicts -->"


def check_summary_markers(text: str) -> None:
    if text.count(SUMMARY_BEGIN) != 1 or text.count(SUMMARY_END) != 1 or text.index(SUMMARY_END) < text.index(
            SUMMARY_BEGIN):
        raise ValueError(f"needs one line {SUMMARY_BEGIN!r}, then one line {SUMMARY_END!r}")


def with_summary(text: str, experiment: str, complete: int, planned: int, claims: str) -> str:
    """`text` (a README) with the record's verdict table between its SUMMARY_BEGIN and SUMMARY_END lines."""
    check_summary_markers(text)
    head, rest = text.split(SUMMARY_BEGIN)
    tail = rest.split(SUMMARY_END)[1]
    block = (f"The record `reproduction/{experiment}/` holds {complete} of its {planned} planned trials.\n\n"
             + verdict_table(claims))
    return f"{head}{SUMMARY_BEGIN}\n{block}\n{SUMMARY_END}{tail}"


def reproduction_page(experiment: str, claims: str) -> str:
    """docs/reproduction.md: how the record was made and read, then the claims page of the committed record
    (written by `python pipelines/aggregate.py reproduction/<name> --doc docs/reproduction.md`; a test
    regenerates it from the committed results)."""
    return f"""# Reproduction record: which of the paper's claims hold

The committed record `reproduction/{experiment}/` holds the Parquet results, the manifest and the
report of the `reproduce` preset (`tune_spaces/reproduce.py`), run with
`python pipelines/full_matrix.py --preset reproduce --storage reproduction --name {experiment}`. It
resumes, so the record grows in pieces; its report lists the planned trials that have not run yet.
Regenerate everything below, without training anything, with

    python pipelines/aggregate.py reproduction/{experiment} --doc docs/reproduction.md

Each claim of the paper has a rule fixed before its numbers were seen, our numbers (mean ± std over
seeds, n = seeds; paired bootstrap 95% CIs where the paper gives one), and a verdict that follows the
rule: reproduced, not reproduced, or not yet run (naming the preset trials that would settle it). A
verdict reached while some planned trials its rule reads are not complete is provisional ("provisionally
reproduced") and lists those trials: more seeds may move it.
Every number is read from the record's results by `mopjepa/analysis/claims/rules.py`, never typed by hand.
How each metric is defined: [protocol.md](protocol.md); the execution floor and the realroute ceiling
are the numbers a success rate and a fraction are read against.

## Verdicts

{claims}"""
