"""Every table and figure of the report, each a function of the evidence, listed once in the report's order.

    planning      Table 2 (plan_all), Table 3 (realroute), Fig. 5, Fig. 6, Fig. 7 (realroute by distance)
    coverage      Fig. 3 (the teleport cells on the maze), Table 5 (teleport coverage), Fig. 8 (raw vs gated),
                  Fig. 9 (the K sweep)
    execution     Table 4 (the predictor family), Table 6 (trade-offs), the execution figure (floor, ceilings)
    studies       every configuration; the MDN softness study (table and figure)
    action_context  the action-conditioned models beside the action-free ones (two tables, the curves figure)
    training      the protocol's metrics during training (one figure per task)
    branch_sweep  Fig. 4 (middle), the gate-threshold sweep, Fig. 2 (two-step beliefs), and their CSV tables

An artefact's `build(evidence, out)` returns what it made: Tables (the report writes them), Figures (already
saved under out/figures) and CsvTables. A study's table appears only where its trials ran.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mopjepa.analysis.artefacts import action_context, branch_sweep, coverage, execution, planning, studies, training
from mopjepa.analysis.artefacts.branch_sweep import CsvTable
from mopjepa.analysis.evidence import Evidence
from mopjepa.analysis.plotting import Figure
from mopjepa.analysis.render import Table

Item = Table | Figure | CsvTable


@dataclass(frozen=True)
class Artefact:
    name: str
    """How the paper (or the report) calls it: 'Table 4', 'Fig. 3', 'MDN softness'."""
    about: str
    """The module it lives in: planning, coverage, execution, studies, action_context, training, branch_sweep."""
    build: Callable[[Evidence, Path], list[Item]]


def table(builder: Callable[[Evidence], Table], study: bool = False) -> Callable[[Evidence, Path], list[Item]]:
    """A table builder as an artefact's build; a study's table only when it has rows."""
    def build(evidence: Evidence, out: Path) -> list[Item]:
        made = builder(evidence)
        return [made] if made.rows or not study else []
    return build


def figure(builder: Callable[[Evidence, Path], Figure | list[Figure]]) -> Callable[[Evidence, Path], list[Item]]:
    """A figure builder (one figure or several) as an artefact's build; figures go to out/figures."""
    def build(evidence: Evidence, out: Path) -> list[Item]:
        made = builder(evidence, out / "figures")
        return made if isinstance(made, list) else [made]
    return build


ARTEFACTS: tuple[Artefact, ...] = (
    Artefact("Fig. 3", "coverage", figure(coverage.fig3)),
    Artefact("Table 2", "planning", table(planning.table2)),
    Artefact("Table 3", "planning", table(planning.table3)),
    Artefact("Fig. 5", "planning", figure(planning.fig5)),
    Artefact("Fig. 6", "planning", figure(planning.fig6)),
    Artefact("Fig. 7", "planning", figure(planning.fig7)),
    Artefact("Table 4", "execution", table(execution.table4)),
    Artefact("Table 5", "coverage", table(coverage.table5)),
    Artefact("Table 6", "execution", table(execution.table6)),
    Artefact("Fig. 8", "coverage", figure(coverage.fig8)),
    Artefact("Fig. 9", "coverage", figure(coverage.fig9)),
    Artefact("Execution", "execution", figure(execution.fig_execution)),
    Artefact("Configurations", "studies", table(studies.configurations_table)),
    Artefact("MDN softness", "studies", table(studies.softness_table, study=True)),
    Artefact("MDN softness figure", "studies", figure(studies.fig_softness)),
    Artefact("Action context", "action_context", table(action_context.action_context_table, study=True)),
    Artefact("Action context pairs", "action_context", table(action_context.action_context_pairs, study=True)),
    Artefact("Action context curves", "action_context", figure(action_context.fig_action_context_curves)),
    Artefact("Training curves", "training", figure(training.fig_curves)),
    Artefact("Branch sweep, gate sweep, Fig. 2", "branch_sweep", branch_sweep.artefacts),
)
"""The report's order (tables and figures each keep it): the paper's artefacts first, then the studies'."""
