"""Every citation in the repository resolves, and nothing refers to files outside it.

A citation is written `docs/<page>.md` or `docs/<page>.md#<section>` (from the repository root, in code,
README, docs and pyproject alike), and in Markdown also as a relative link `[text](page.md#section)`.
Each must name a file that exists and, with `#section`, a heading of that file (GitHub's anchor of
it). Old citation forms that named sections the repository never had, and any path to the shared folder
outside the repository, fail.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = ("docs/protocol.md", "docs/architecture.md", "docs/audit.md")
CITATION = re.compile(r"(?<![\w/.])(docs/[\w./-]+?\.md)(?:#([\w-]+))?")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
# Spelled in pieces so that this file does not match itself.
OUTSIDE = re.compile("|".join([r"\.\./" + "shared", r"/work/" + "shared"]))
OLD_FORMS = re.compile("|".join([
    r"\b" + "PROTOCOL" + r"(\s+section)?\s+\d",
    "PROTOCOL" + r"\s+is\s+silent",
    "ARCHITECTURE" + r"\s+rule",
    "PROTOCOL" + r"\.md",
    "ARCHITECTURE" + r"\.md",
    r"\bthe\s+issue\s+" + "notes?",
]))


def repository_files() -> list[Path]:
    """Tracked files and new ones git does not ignore (what a clone of this commit holds); without git
    (an unpacked archive), every file outside hidden, cache and result folders."""
    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                                capture_output=True, text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        skip = {"__pycache__", "results", "mlruns", "build", "dist"}
        return [path for path in REPO.rglob("*") if path.is_file()
                and not any(part.startswith(".") or part in skip or part.endswith(".egg-info")
                            for part in path.relative_to(REPO).parts[:-1])]
    return [REPO / name for name in listed if (REPO / name).is_file()]


def text_files() -> dict[Path, str]:
    texts = {}
    for path in repository_files():
        try:
            texts[path] = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
    return texts


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """The anchors of every heading outside code fences (repeated headings get -1, -2, ...)."""
    seen: Counter[str] = Counter()
    out, fenced = set(), False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match and not fenced:
            base = slug(match.group(1))
            out.add(base if not seen[base] else f"{base}-{seen[base]}")
            seen[base] += 1
    return out


def citations(path: Path, text: str) -> list[tuple[int, Path, str | None]]:
    """(line, target file, section or None) of every citation in a file."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for match in CITATION.finditer(line):
            found.append((number, REPO / match.group(1), match.group(2)))
        if path.suffix == ".md":
            for target in MARKDOWN_LINK.findall(line):
                if re.match(r"^[a-z]+:", target) or target == "#":
                    continue
                file, _, section = target.partition("#")
                found.append((number, (path.parent / file).resolve() if file else path, section or None))
    return found


def broken_citations(texts: dict[Path, str]) -> list[str]:
    problems = []
    for path, text in texts.items():
        for number, target, section in citations(path, text):
            where = f"{path.relative_to(REPO)}:{number}"
            if not target.is_file():
                problems.append(f"{where}: {target} does not exist")
            elif section is not None and target.suffix == ".md" and section not in anchors(
                    target.read_text(encoding="utf-8")):
                problems.append(f"{where}: {target.relative_to(REPO)} has no section #{section}")
    return problems


def test_the_three_documents_exist_with_their_sections():
    for page in DOCS:
        assert (REPO / page).is_file(), page
    assert {"1-the-flow", "2-layout", "3-rules-of-the-house", "4-how-to-add-an-arm", "5-how-to-add-a-metric",
            "6-how-to-add-a-preset"} <= anchors((REPO / "docs/architecture.md").read_text())
    assert {"5-metrics", "the-execution-floor", "the-realroute-ceiling", "training-curves"} <= anchors(
        (REPO / "docs/protocol.md").read_text())


def test_every_citation_resolves_to_an_existing_section():
    texts = text_files()
    assert sum(len(citations(p, t)) for p, t in texts.items()) > 30  # the scan sees the citations
    assert broken_citations(texts) == []


def test_nothing_refers_outside_the_repository_or_to_sections_that_never_existed():
    bad = [f"{path.relative_to(REPO)}:{number}: {line.strip()}"
           for path, text in text_files().items()
           for number, line in enumerate(text.splitlines(), 1)
           if OUTSIDE.search(line) or OLD_FORMS.search(line)]
    assert bad == []


def test_the_readme_links_the_documents():
    readme = (REPO / "README.md").read_text()
    for page in DOCS:
        assert f"]({page})" in readme, page


@pytest.mark.parametrize(("text", "problem"), [
    ("see docs/" + "protocol.md#no-such-section", "has no section #no-such-section"),
    ("see docs/" + "nowhere.md", "does not exist"),
])
def test_a_broken_citation_is_reported(tmp_path, text, problem):
    problems = broken_citations({REPO / "mopjepa" / "example.py": text})
    assert len(problems) == 1 and problem in problems[0]


def test_the_checker_catches_outside_and_old_references():
    assert OUTSIDE.search("see ../" + "shared/PROTO" + "COL.md")
    assert OLD_FORMS.search("as in PROTO" + "COL 5")
    assert OLD_FORMS.search("(ARCHI" + "TECTURE rule 1)")
    assert OLD_FORMS.search("See the issue " + "notes for the analysis")
    assert not OLD_FORMS.search("PROTOCOL_METRICS = set(headline.PROTOCOL_METRICS)")


def test_slugs_follow_github():
    assert slug("5. Metrics") == "5-metrics"
    assert slug("Rule 4: arms through a registry") == "rule-4-arms-through-a-registry"
    assert anchors("# A\n```\n# not a heading\n```\n## A\n") == {"a", "a-1"}


def layout_paths(markdown: str, heading: str) -> list[str]:
    """The paths of the code block under `heading`: 'name/' entries nest by two-space indentation;
    deeper-indented lines continue the description of the entry above."""
    block = markdown.split(heading, 1)[1].split("```", 2)[1]
    parents: list[str] = []
    paths = []
    for line in block.splitlines()[1:]:
        indent = len(line) - len(line.lstrip(" "))
        token = line.split()[0] if line.strip() else ""
        if indent % 2 or indent > 4 or not re.search(r"[./]", token):
            continue
        level = indent // 2
        parents = parents[:level]
        path = "".join(parents) + token
        paths.append(path)
        if token.endswith("/"):
            parents.append(token)
    return paths


@pytest.mark.parametrize(("page", "heading"), [("README.md", "## Layout"), ("docs/architecture.md", "## 2. Layout")])
def test_the_layout_matches_the_tree(page, heading):
    paths = layout_paths((REPO / page).read_text(), heading)
    assert [p for p in paths if not (REPO / p).exists()] == []
    tracked = {path.relative_to(REPO) for path in repository_files()}
    directories = {p.parts[0] + "/" for p in tracked if len(p.parts) > 1 and not p.parts[0].startswith(".")}
    packages = {f"mopjepa/{p.parts[1]}/" for p in tracked if p.parts[0] == "mopjepa" and len(p.parts) > 2}
    assert (directories | packages) - set(paths) == set()
