"""The readings of the record (docs/protocol.md#10-readings): each claim judged under every protocol choice
the paper leaves open, by the same rule.

A reading is the evidence with one choice changed: the metrics a graph reading re-reads from the record
(another graph, gate or training step), or the configuration that stands for an arm (a softer MDN, Var
with fewer samples, a larger codebook, the action-conditioned models). A reading applies to a claim
when it changes a metric the claim's rule reads or an arm it reads; where its trials have not run, the
claim is `not yet run` under it, naming the study that settles it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from mopjepa.analysis.claims import rules
from mopjepa.analysis.claims.rules import Verdict, judge
from mopjepa.analysis.evidence import TELEPORT_KEY, Evidence
from mopjepa.analysis.executions import EXPLORE, GATED, REPAIR, ran_otherwise
from mopjepa.analysis.load import MissingTrial
from mopjepa.analysis.paper import task_label
from mopjepa.analysis.selection import ConfigGroup
from mopjepa.audit.actions import COMPASS
from mopjepa.config import GraphConfig
from mopjepa.evaluate.regate import RecordedOutputs, gated_outputs, planning_metrics

GATES = (1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4)
"""gate@t: the paper's threshold sweep."""
RAW_FLOOR = 1e-3
"""raw_floor: the raw graph without outputs of weight below this."""
STEPS = (2000, 4000, 10000)
"""step@N: the training budgets read from the curves (the final step is the default reading)."""
SIGMAS = (0.5, 0.7, 1.0)
"""sigma=s: the MDN softness levels soft enough to route through non-existent edges (at 0.3 two equal
components still give a largest responsibility of 0.9995; the softness study's table shows 0.03-0.3)."""
GRID_BEST = "MDN best of grid"
"""The MDN read as the paper's: per maze, its fairness grid's configuration with the highest mean realroute."""
SAMPLES = (2, 4)
CODES = (16, 32)
CONTEXTS = ("step", "to_exit")
CONTEXT_ARMS = ("dense", "mdn", "mop", "codebook")
"""The arms of the action_context study: a context reading stands for each of them."""
ROUTE_METRICS = ("plan_all", "precision", "realroute")
WEIGHTED_ARMS = ("mop", "mdn", "codebook")
"""The arms whose output weights are learned (a router, mixture weights, code usage): the ones a gate at t or a
weight floor reads. Var's samples (1/S each) and single-output arms carry no weight to threshold: at t >= 1/S
a gate would empty Var's graph for no reason the model gave, so these readings leave them as recorded."""
EXECUTION_METRICS = ("exec_success", "exec_floor", "exec_lift", "exec_gain")
EXECUTION_ROWS = (*EXECUTION_METRICS, "exec_ceiling", "exec_truth")
"""Every per-trial execution metric a reading of the execution replaces (or, where it has none, removes)."""
PAPER_GRAPHS = {"plan_all": "plan_all_raw", "precision": "precision_raw"}
"""paper_graphs: the metric -> the recorded metric it is read from."""


@dataclass(frozen=True)
class Reading:
    name: str
    what: str
    """One line: what the reading changes."""
    metrics: tuple[str, ...] = ()
    """The metrics it re-reads (a graph reading)."""
    arms: tuple[str, ...] = ()
    """The arms it changes: their standing configuration (a configuration reading), or, for a graph reading
    that reads only some arms, those arms."""
    apply: Callable[[Evidence], Evidence | str] = lambda evidence: evidence
    """The evidence under this reading, or a line naming the trials it needs (not run)."""
    replaces: bool = False
    """It replaces its arms' standing configuration (a configuration reading): other trials, with their own
    planned trials still to run."""

    def applies_to(self, reads: tuple[str, ...], arms: tuple[str, ...]) -> bool:
        """Whether it changes what a claim's rule reads (its metrics of its arms)."""
        if self.name == "default":
            return True
        touches_arms = not self.arms or bool(set(self.arms) & set(arms))
        return touches_arms and (not self.metrics or bool(set(self.metrics) & set(reads)))


def renamed(evidence: Evidence, mapping: dict[str, str]) -> pd.DataFrame:
    """Rows [trial_id, metric, key, value] that give metric m the recorded values of mapping[m]."""
    rows = evidence.metrics[evidence.metrics["metric"].isin(list(mapping.values()))]
    inverse = {source: target for target, source in mapping.items()}
    return rows.assign(metric=rows["metric"].map(inverse))[["trial_id", "metric", "key", "value"]]


def regated(evidence: Evidence) -> pd.DataFrame:
    """[trial_id, reading, metric, value]: plan_all, precision and realroute of every trial with recorded
    outputs, re-gated at each gate@t and at raw_floor (mopjepa.evaluate.regate)."""
    if evidence.experiment is None:
        return pd.DataFrame(columns=["trial_id", "reading", "metric", "value"])
    ids = sorted({t for group in evidence.selection.groups for t in group.trial_ids})
    outputs = evidence.experiment.table("outputs", ids)
    edges = evidence.experiment.table("edges", ids)
    outputs = outputs[outputs["arm"].isin(WEIGHTED_ARMS)]
    rows = []
    for trial, mine in outputs.groupby("trial_id"):
        config = evidence.metrics.loc[evidence.metrics["trial_id"] == trial].iloc[0]
        queries = len(COMPASS.get(config.get("query_actions") or "none", [None]))  # A queries per cell
        recorded = RecordedOutputs.from_tables(mine, edges[edges["trial_id"] == trial], queries)
        keeps = {f"gate@{t:g}": gated_outputs(recorded, GraphConfig(gate_threshold=t)) for t in GATES}
        keeps["raw_floor"] = recorded.weights >= RAW_FLOOR
        for name, keep in keeps.items():
            rows += [{"trial_id": trial, "reading": name, "metric": metric, "value": value}
                     for metric, value in planning_metrics(recorded, keep).items()]
    return pd.DataFrame(rows, columns=["trial_id", "reading", "metric", "value"])


def at_step(evidence: Evidence, step: int) -> Evidence | str:
    curves = evidence.curves
    if curves is None or curves.empty or step not in set(curves["step"]):
        return f"curves at step {step} (eval_every)"
    rows = curves.loc[curves["step"] == step, ["trial_id", "metric", "key", "value"]]
    return evidence.with_metrics(rows)


def executed_as(evidence: Evidence, reading: str) -> Evidence | str:
    """Every executing trial of the main configurations read as executed under an execution reading (each
    executed again from its recorded edges, pipelines/record_executions.py); all of them, or none (no mixed
    reading). A trial's ceiling, truth and gain rows go where the reading has none (another fallback)."""
    rows = evidence.executed_in(reading)
    metrics = evidence.metrics
    executing = metrics[metrics["metric"] == "exec_success"]
    executing = executing[ran_otherwise(executing, reading)]
    main = {t for group in evidence.selection.main.values() for t in group.trial_ids}
    lacking = (main & set(executing["trial_id"])) - set(rows["trial_id"])
    if lacking:
        return f"pipelines/record_executions.py --reading {reading} for {len(lacking)} trial(s)"
    read = evidence.with_metrics(rows)
    stale = read.metrics["trial_id"].isin(set(rows["trial_id"])) & read.metrics["metric"].isin(
        set(EXECUTION_ROWS) - set(rows["metric"]))
    return dataclasses.replace(read, metrics=read.metrics[~stale])


def standing(evidence: Evidence, arm: str, study: str, key: str, value) -> Evidence | str:
    """The evidence with `arm`'s main configuration replaced by its configuration of `study` with key = value."""
    groups = [g for g in evidence.selection.study(study, arm) if g.value(key) == value]
    if not groups:
        return f"study {study}: {arm} with {key} = {value}"
    return with_main(evidence, {arm: groups[0]})


def contexts(evidence: Evidence, mode: str) -> Evidence | str:
    """Every arm of the action_context study in its `mode` in place of its action-free main configuration."""
    replaced: dict[str, ConfigGroup] = {g.arm: g for g in evidence.selection.study("action_context")
                                        if g.value("context_action") == mode}
    if not replaced:
        return f"study action_context: context_action = {mode}"
    return with_main(evidence, replaced)


def best_of_grid(evidence: Evidence) -> Evidence | str:
    """The MDN standing, on each maze, as the configuration of its fairness grid with the highest mean realroute
    there (as Table 4 chooses it): the paper's MDN, "best of a K x lambda grid"."""
    chosen = evidence.grid_best()
    ids = tuple(sorted(i for task, group in chosen.items() for i in group.trial_ids
                       if evidence.selection.trial_tasks.get(i) == task))
    if not ids:
        return "study mdn_grid"
    best = ConfigGroup("mdn", (), (), ids, tuple(chosen), frozenset({"mdn_grid"}))
    return with_main(evidence, {"mdn": best})


def with_main(evidence: Evidence, standing: dict[str, ConfigGroup]) -> Evidence:
    """The evidence with these arms' main configurations replaced (arm -> the configuration standing for it)."""
    return dataclasses.replace(evidence, selection=dataclasses.replace(
        evidence.selection, main={**evidence.selection.main, **standing}))


def readings(evidence: Evidence) -> list[tuple[Reading, Evidence | str]]:
    """Every reading with the evidence under it (or what it needs)."""
    gated = regated(evidence)

    def regate_as(name: str) -> Callable[[Evidence], Evidence | str]:
        rows = gated[gated["reading"] == name].assign(key="")[["trial_id", "metric", "key", "value"]]
        return lambda e: e.with_metrics(rows) if not rows.empty else "the outputs and edges tables"

    steps_metrics = tuple(sorted(set(evidence.curves["metric"]))) if evidence.curves is not None else ()
    found = [
        Reading("default", "the protocol as written (docs/protocol.md §4-§6)"),
        Reading("paper_graphs", "plan_all and precision on the raw graph, realroute on the gated one",
                ("plan_all", "precision"),
                apply=lambda e: e.with_metrics(renamed(e, PAPER_GRAPHS))),
        *[Reading(f"gate@{t:g}", f"every planning metric on the graph gated at t = {t:g}", ROUTE_METRICS,
                  WEIGHTED_ARMS, apply=regate_as(f"gate@{t:g}")) for t in GATES],
        Reading("raw_floor", f"the raw graph without outputs of weight < {RAW_FLOOR:g}", ROUTE_METRICS,
                WEIGHTED_ARMS, apply=regate_as("raw_floor")),
        *[Reading(f"step@{n}", f"every metric at training step {n}", steps_metrics,
                  apply=lambda e, n=n: at_step(e, n)) for n in STEPS],
        Reading(GATED, "execution planned in the gated graph (each trial executed again from its recorded edges)",
                EXECUTION_METRICS, apply=lambda e: executed_as(e, GATED)),
        Reading(EXPLORE, "the executor's fallback explores where the graph has no path (each trial executed again "
                "from its recorded edges)", EXECUTION_METRICS, apply=lambda e: executed_as(e, EXPLORE)),
        Reading(REPAIR, "the executor adds the transitions the agent experiences to its working graph, as the "
                "paper's does (each trial executed again from its recorded edges)", EXECUTION_METRICS,
                apply=lambda e: executed_as(e, REPAIR)),
        Reading("cov_p", "claim (h)'s precision read as COV-P of the teleport exits", ("threshold_precision",),
                apply=lambda e: e.with_metrics(cov_p_rows(e))),
        *[Reading(f"sigma={s:g}", f"the MDN with a fixed sigma {s:g}", arms=("mdn",), replaces=True,
                  apply=lambda e, s=s: standing(e, "mdn", "mdn_softness", "sigma_fixed", s)) for s in SIGMAS],
        Reading(GRID_BEST, "the MDN as the paper's (its best K x lam_bal grid configuration per maze)",
                arms=("mdn",), replaces=True, apply=best_of_grid),
        *[Reading(f"S={n}", f"Var-JEPA with {n} samples", arms=("var",), replaces=True,
                  apply=lambda e, n=n: standing(e, "var", "var_samples", "num_samples", n)) for n in SAMPLES],
        *[Reading(f"codebook K={k}", f"the codebook with {k} codes", arms=("codebook",), replaces=True,
                  apply=lambda e, k=k: standing(e, "codebook", "codebook_size", "K", k)) for k in CODES],
        *[Reading(f"context={mode}", f"the action-conditioned models ({mode}, compass8)", arms=CONTEXT_ARMS,
                  replaces=True, apply=lambda e, mode=mode: contexts(e, mode)) for mode in CONTEXTS],
        # the action-conditioned models' execution in their gated graphs: what a held-out transition they
        # propose is worth to the executor, without the raw graph's low-weight outputs of every action
        *[Reading(f"context={mode} + {GATED}", f"the action-conditioned models ({mode}, compass8) executed in their "
                  "gated graphs", EXECUTION_METRICS, CONTEXT_ARMS, replaces=True,
                  apply=lambda e, mode=mode: then(contexts(e, mode), lambda c: executed_as(c, GATED)))
          for mode in CONTEXTS],
    ]
    return [(reading, reading.apply(evidence)) for reading in found]


def then(read: Evidence | str, step: Callable[[Evidence], Evidence | str]) -> Evidence | str:
    """Two readings' changes one after the other (what the first needs, if it cannot be read)."""
    return read if isinstance(read, str) else step(read)


def cov_p_rows(evidence: Evidence) -> pd.DataFrame:
    """threshold_precision[t] given the value of threshold_cov_p[teleport@t] (the paper's Table 5 column)."""
    rows = evidence.metrics[(evidence.metrics["metric"] == "threshold_cov_p")
                            & evidence.metrics["key"].str.startswith(f"{TELEPORT_KEY}@")]
    keys = rows["key"].str.removeprefix(f"{TELEPORT_KEY}@")
    return pd.DataFrame({"trial_id": rows["trial_id"], "metric": "threshold_precision", "key": keys,
                         "value": rows["value"].to_numpy(dtype=float)})



def in_group(trial: MissingTrial, group: ConfigGroup) -> bool:
    """Whether a planned trial not complete is one of `group`'s configuration: its arm, one of its studies, and
    every key the configuration deviates by at the same value."""
    flat = trial.flat
    return (flat.get("arm") == group.arm and bool(set(trial.studies) & group.studies)
            and all(flat.get(key, value) == value for key, value in group.deviations))


def judge_all(evidence: Evidence) -> list[Verdict]:
    """Every claim's verdict (the default reading), with its verdict under each reading that applies to it
    (`Verdict.under`) and the readings it holds under."""
    under = readings(evidence)
    found = []
    for claim, needs in rules.CLAIMS:  # read at call time: a claim added to the list is judged too
        verdict = judge(claim, needs, evidence)
        for reading, read in under:
            if not reading.applies_to(needs.reads, needs.arms):
                continue
            if reading.name == "default":
                other = verdict
            elif isinstance(read, str):
                other = Verdict(verdict.claim, verdict.paper, verdict.rule, settles=f"needs {read}")
            elif reading.replaces and (lacking := sorted(
                    a for a in set(needs.arms) & set(reading.arms)
                    if read.selection.main.get(a) is evidence.selection.main.get(a))):
                # a configuration reading that stands for only some of the claim's arms would mix readings
                other = Verdict(verdict.claim, verdict.paper, verdict.rule,
                                settles=f"needs {reading.what} for {', '.join(lacking)}")
            elif not reading.replaces:  # the same trials read otherwise: provisional with the default reading
                other = judge(claim, needs, read)
            else:
                standing = [read.selection.main[a] for a in set(needs.arms) & set(reading.arms)]
                other = judge(claim, needs, read, waiting=[t for t in evidence.missing if needs.tasks_want(t)
                                                           and any(in_group(t, g) for g in standing)])
                if other.verdict == "not yet run":
                    other.settles = f"needs {reading.what} on {', '.join(task_label(t) for t in needs.tasks)}"
            settled = other.verdict == "not yet run" or other.verdict.startswith("provisionally")
            verdict.under.append((reading.name, "; ".join(other.ours) or "—",
                                  other.verdict + (f" ({other.settles})" if settled else "")))
        found.append(verdict)
    return found
