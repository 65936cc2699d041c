"""A table of text cells and its three renderings: Markdown, CSV and LaTeX (booktabs)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
    "—": "---",
    "–": "--",
    "−": "$-$",
    "×": r"$\times$",
    "≥": r"$\geq$",
    "π": r"$\pi$",
    "‡": r"$\ddagger$",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(char, char) for char in text)


@dataclass
class Table:
    name: str
    """File stem, e.g. 'table2_plan_all'."""
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        for row in self.rows:
            self._check(row)

    def _check(self, row: list[str]) -> None:
        if len(row) != len(self.columns):
            raise ValueError(f"{self.name}: a row has {len(row)} cells for {len(self.columns)} columns: {row}")

    def add(self, row: list[str]) -> None:
        self._check(row)
        self.rows.append(row)

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return buffer.getvalue()

    def latex(self) -> str:
        spec = "l" + "c" * (len(self.columns) - 1)
        lines = [
            r"\begin{table}[t]",
            r"\centering",
            r"\small",
            rf"\begin{{tabular}}{{{spec}}}",
            r"\toprule",
            " & ".join(latex_escape(c) for c in self.columns) + r" \\",
            r"\midrule",
        ]
        lines += [" & ".join(latex_escape(c) for c in row) + r" \\" for row in self.rows]
        lines += [r"\bottomrule", r"\end{tabular}"]
        caption = " ".join([self.title, *self.notes])
        lines += [rf"\caption{{{latex_escape(caption)}}}", rf"\label{{tab:{self.name}}}", r"\end{table}"]
        return "\n".join(lines) + "\n"

    def write(self, directory: Path) -> list[Path]:
        """Write <name>.md, <name>.csv and <name>.tex into `directory`; return their paths."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for suffix, text in ((".md", self.markdown()), (".csv", self.csv()), (".tex", self.latex())):
            path = directory / f"{self.name}{suffix}"
            path.write_text(text)
            paths.append(path)
        return paths
