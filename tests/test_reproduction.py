"""The committed reproduction record regenerates its tables, claims and docs/reproduction.md byte for byte
from its committed results (with references.json and executions.json), without torch and without training anything."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RECORD = REPO / "reproduction" / "reproduce"


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    if not (RECORD / "report").is_dir():
        pytest.fail(f"{RECORD} has no committed report: the record must be committed with its report")
    copy = tmp_path_factory.mktemp("record") / RECORD.name
    shutil.copytree(RECORD / "results", copy / "results")
    shutil.copy(RECORD / "manifest.json", copy / "manifest.json")
    # the ceilings of trials written before trials wrote them; the trials executed again in their gated graphs
    for name in ("references.json", "executions.json"):
        if (RECORD / name).exists():
            shutil.copy(RECORD / name, copy / name)
    doc, readme = copy.parent / "reproduction.md", copy.parent / "README.md"
    shutil.copy(REPO / "README.md", readme)
    code = ("import sys; from pipelines.aggregate import main; "
            f"rc = main([{str(copy)!r}, '--doc', {str(doc)!r}, '--readme', {str(readme)!r}]); "
            "print('TORCH', 'torch' in sys.modules); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "TORCH False" in done.stdout
    return copy


def test_the_committed_tables_and_claims_regenerate_byte_for_byte(regenerated):
    committed = sorted(p.relative_to(RECORD / "report") for p in (RECORD / "report" / "tables").iterdir())
    fresh = sorted(p.relative_to(regenerated / "report") for p in (regenerated / "report" / "tables").iterdir())
    assert committed == fresh
    for name in [*committed, Path("claims.md")]:
        assert (regenerated / "report" / name).read_bytes() == (RECORD / "report" / name).read_bytes(), name


def test_docs_reproduction_is_the_records_claims_page(regenerated):
    assert (regenerated.parent / "reproduction.md").read_text() == (REPO / "docs" / "reproduction.md").read_text()


def test_the_readmes_verdict_table_is_the_records(regenerated):
    assert (regenerated.parent / "README.md").read_text() == (REPO / "README.md").read_text()


def test_a_readme_without_the_markers_is_refused_before_anything_is_written(tmp_path, capsys):
    from pipelines.aggregate import main

    readme, doc = tmp_path / "README.md", tmp_path / "reproduction.md"
    readme.write_text("# no markers here\n")
    assert main([str(RECORD), "--out", str(tmp_path / "report"), "--doc", str(doc), "--readme", str(readme)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: --readme {readme}: needs one line '<!-- reproduction verdicts")
    assert error.count("\n") == 1
    assert not doc.exists() and not (tmp_path / "report").exists()
    assert readme.read_text() == "# no markers here\n"


def test_the_record_is_read_under_its_graph_readings(regenerated):
    """The record holds every main trial's outputs, so the readings it allows (docs/protocol.md#10-readings) are
    read from it: no gate@t or raw_floor row of a claim that reads MoP's graph says 'not yet run'."""
    claims = (regenerated / "report" / "claims.md").read_text()
    searchable = claims.split("### (b)")[1].split("### (c)")[0]
    rows = [line for line in searchable.splitlines() if line.startswith(("| gate@", "| raw_floor"))]
    assert len(rows) == 6 and not [row for row in rows if "not yet run" in row], rows
