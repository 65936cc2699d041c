"""The paper's claims, one verdict each, computed from an experiment's results under a stated rule.

Every number here is read from the same summaries the tables print (mopjepa.analysis.stats over the
trials of each study); nothing is typed by hand. A verdict follows its claim's rule, printed beside
it: `reproduced`, `not reproduced`, or `not yet run` (naming the trials that would settle it). While a
planned trial the rule reads is not complete, a verdict reached on the others is `provisionally ...`
and names the trials it waits for: more seeds may move it. Where a verdict depends on a condition
the evidence shows (training budget, softness), the evidence line says so; the rule itself never
bends toward the paper's number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mopjepa.analysis.claims.execution_cells import task_outcome_evidence
from mopjepa.analysis.evidence import TELEPORT_KEY, Evidence
from mopjepa.analysis.load import MissingTrial
from mopjepa.analysis.paper import PAPER_TASKS, arm_label, task_label
from mopjepa.analysis.stats import Summary, paired_bootstrap
from mopjepa.config.components import ExecuteConfig
from mopjepa.data.names import LARGE, MEDIUM, TELEPORT

COLLAPSE_MAX = 0.10
"""(a), (f): a single-output arm has collapsed when its plan_all is at most this on a maze (the paper: 0.02-0.09)."""
IMPRECISE_MAX = 0.30
"""(d): MDN's edges are imprecise when its highest maze mean precision is at most this (the paper: 0.14-0.21)."""
CODEBOOK_RAW_MIN = 0.9
"""(e): the codebook covers the teleport exits raw when its raw cov_r is at least this (the paper: 1.00)."""
SHUFFLE_FLAT = (0.8, 1.25)
"""(e): the codebook ignores the context when its shuffle ratio lies in this range (the paper: 1.0)."""
PRECISION_SPREAD_MAX = 0.10
"""(h): MoP's precision is insensitive to the gate when it varies by at most this over the sweep ..."""
PRECISION_MIN = 0.80
"""(h): ... and stays at least this (the paper: ~0.92)."""
UNREAL_LEAD_MIN = 0.05
"""(i): MDN's raw routes without a real counterpart exceed MoP's by more than this on every maze."""
THRESHOLDS = (1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4)


@dataclass
class Verdict:
    claim: str
    paper: str
    rule: str
    ours: list[str] = field(default_factory=list)
    verdict: str = "not yet run"
    evidence: list[str] = field(default_factory=list)
    settles: str = ""
    """The trials that would settle a claim not yet run."""
    under: list[tuple[str, str, str]] = field(default_factory=list)
    """(reading, our numbers, verdict) under every reading that applies (mopjepa.analysis.claims.readings)."""

    @property
    def holds_under(self) -> list[str]:
        """The readings under which the claim is reproduced ('(provisionally)': a trial it reads is still to run)."""
        held = []
        for name, _, verdict in self.under:
            head = verdict.split(" (")[0]  # the verdict less what settles it
            if head.endswith("reproduced") and not head.endswith("not reproduced"):
                held.append(name + (" (provisionally)" if head.startswith("provisionally") else ""))
        return held


@dataclass(frozen=True)
class Needs:
    """The planned trials a claim's rule reads: while any of them is not complete, its verdict is provisional."""

    study: str
    arms: tuple[str, ...]
    reads: tuple[str, ...]
    """The metrics its rule reads (a reading that changes none of them leaves the claim as it is)."""
    tasks: tuple[str, ...] = PAPER_TASKS
    executing: bool = False
    """Only the trials that execute plans (episodes_per_task > 0)."""

    def describe(self) -> str:
        """The trials that settle the claim, e.g. 'study main: MDN, MoP-JEPA on medium-stitch, teleport-navigate'."""
        trials = f"study {self.study}: {', '.join(arm_label(a) for a in self.arms)} on "
        trials += ", ".join(task_label(t) for t in self.tasks)
        return trials + (" (the trials that execute)" if self.executing else "")

    def wants(self, trial: MissingTrial) -> bool:
        return self.study in trial.studies and trial.flat.get("arm") in self.arms and self.tasks_want(trial)

    def tasks_want(self, trial: MissingTrial) -> bool:
        """Whether the trial is on one of the tasks read (and executes, where only executing trials are read)."""
        episodes = int(trial.flat.get("episodes_per_task", ExecuteConfig.episodes_per_task))
        return trial.flat.get("task") in self.tasks and (episodes > 0 or not self.executing)


def fmt(summary: Summary) -> str:
    return summary.cell()


def means(evidence: Evidence, arm: str, metric: str, key: str = "", tasks=PAPER_TASKS) -> dict[str, Summary]:
    """task -> the arm's main-configuration summary, for the tasks that have it."""
    out = {task: evidence.main(arm, task, metric, key) for task in tasks}
    return {task: summary for task, summary in out.items() if summary.n}


def listing(summaries: dict[str, Summary]) -> str:
    return "; ".join(f"{task_label(task)} {fmt(s)}" for task, s in summaries.items()) or "—"


def collapse(evidence: Evidence) -> Verdict:
    v = Verdict("(a) dense, M3-JEPA and Var-JEPA collapse (Props. 1-2)", "plan_all 0.02-0.09",
                f"reproduced when every measured plan_all of the three arms is <= {COLLAPSE_MAX} on all three mazes")
    measured = {arm: means(evidence, arm, "plan_all") for arm in ("dense", "m3", "var")}
    v.ours = [f"{arm_label(arm)}: {listing(s)}" for arm, s in measured.items()]
    complete = all(len(s) == 3 for s in measured.values())
    if any(measured.values()):
        worst, arm, task = max((s.mean, arm, task) for arm, m in measured.items() for task, s in m.items())
        v.verdict = ("reproduced" if worst <= COLLAPSE_MAX else "not reproduced") if complete else v.verdict
        v.evidence.append(f"largest plan_all of the three arms: {worst:.3f} ({arm_label(arm)}, {task_label(task)})")
        norms = means(evidence, "dense", "realroute_norm")
        if norms:
            v.evidence.append(f"dense realroute over its ceiling: {listing(norms)}")
    return v


def mop_plan_all(evidence: Evidence) -> Verdict:
    paper = evidence.paper.get("2", "plan_all", MEDIUM, "mop")
    target = paper.mean - paper.std
    v = Verdict("(b) MoP-JEPA's gated graph is searchable", "plan_all up to 0.851 ± 0.08 (medium-stitch)",
                f"reproduced when MoP's best maze mean plan_all is >= {target:.3f} (the paper's mean - 1 std)")
    measured = means(evidence, "mop", "plan_all")
    v.ours = [f"MoP-JEPA: {listing(measured)}"]
    if measured:
        best = max(s.mean for s in measured.values())
        v.verdict = ("reproduced" if best >= target else "not reproduced") if len(measured) == 3 else v.verdict
        precision = means(evidence, "mop", "precision")
        ceiling = means(evidence, "mop", "realroute_ceiling")
        v.evidence.append(f"MoP precision {listing(precision)}: a precise graph reaches few pairs through edges that "
                          f"do not exist; realroute's ceiling (no held-out edge proposed) {listing(ceiling)}")
        v.evidence.append("plan_all - realroute (pairs the gated graph connects only through edges that do not "
                          "exist), ours vs the paper's: " + unreal_pairs(evidence, "mop"))
        v.evidence.append(f"ungated (raw graph) plan_all_raw {listing(means(evidence, 'mop', 'plan_all_raw'))}, "
                          f"precision_raw {listing(means(evidence, 'mop', 'precision_raw'))}")
        peak = curve_peak(evidence, "mop", "plan_all")
        if peak:
            v.evidence.append("during training (curves, mean over seeds): " + peak)
    return v


def unreal_pairs(evidence: Evidence, arm: str) -> str:
    """'medium-stitch 0.149 vs 0.604; ...': mean plan_all - mean realroute per maze, ours then the paper's."""
    plan, real = means(evidence, arm, "plan_all"), means(evidence, arm, "realroute")
    parts = []
    for task in (t for t in plan if t in real):
        theirs = [evidence.paper.get(table, metric, task, arm) for table, metric in (("2", "plan_all"),
                                                                                    ("3", "realroute"))]
        paper = f"{theirs[0].mean - theirs[1].mean:.3f}" if all(theirs) else "—"
        parts.append(f"{task_label(task)} {plan[task].mean - real[task].mean:.3f} vs {paper}")
    return "; ".join(parts) or "—"


def paper_beside(evidence: Evidence, arm: str, table: str, metric: str) -> str:
    """'MoP-JEPA: medium-stitch 0.203 vs 0.247, ...': the arm's mean per maze, then the paper's ('' if none)."""
    ours = means(evidence, arm, metric)
    parts = []
    for task, summary in ours.items():
        theirs = evidence.paper.get(table, metric, task, arm)
        parts.append(f"{task_label(task)} {summary.mean:.3f} vs {f'{theirs.mean:.3f}' if theirs else '—'}")
    return f"{arm_label(arm)}: {', '.join(parts)}" if parts else ""


def curve_peak(evidence: Evidence, arm: str, metric: str, key: str = "") -> str:
    """'medium-stitch: peak 0.64 at step 2000, final 0.18; ...' from the arm's main-configuration curves."""
    group = evidence.selection.main.get(arm)
    curves = evidence.curves
    if group is None or curves is None or curves.empty:
        return ""
    rows = curves[curves["trial_id"].isin(group.trial_ids) & (curves["metric"] == metric) & (curves["key"] == key)]
    parts = []
    for task, frame in rows.groupby("task"):
        by_step = frame.groupby("step")["value"].mean().sort_index()
        if len(by_step):
            parts.append(f"{task_label(str(task))}: peak {by_step.max():.3f} at step {int(by_step.idxmax())}, "
                         f"final {by_step.iloc[-1]:.3f}")
    return "; ".join(parts)


def realroute_lead(evidence: Evidence) -> Verdict:
    v = Verdict("(c) MoP-JEPA's realroute exceeds MDN's", "2-5x; paired 95% CI excludes 0 on medium-stitch and "
                "teleport-navigate", "reproduced when the paired MoP - MDN realroute CI lies above 0 on both "
                "medium-stitch and teleport-navigate; not reproduced when either CI includes or lies below 0")
    settled = []
    for task in (MEDIUM, TELEPORT, LARGE):
        for metric in ("realroute", "realroute_norm"):
            difference = paired_bootstrap(evidence.seeds("mop", task, metric), evidence.seeds("mdn", task, metric))
            mop, mdn = evidence.main("mop", task, metric), evidence.main("mdn", task, metric)
            if not difference.n:
                continue
            ratio = mop.mean / mdn.mean if mdn.mean else math.inf
            v.ours.append(f"{task_label(task)} {metric}: MoP {fmt(mop)}, MDN {fmt(mdn)}, ratio {ratio:.2f}, "
                          f"MoP - MDN {difference.cell()}")
            if metric == "realroute" and task in (MEDIUM, TELEPORT):
                settled.append(difference)
    if len(settled) == 2 and all(d.n >= 2 for d in settled):
        v.verdict = "reproduced" if all(d.low > 0 for d in settled) else "not reproduced"
    against = [paper_beside(evidence, arm, "3", "realroute") for arm in ("mop", "mdn")]
    if all(against):
        v.evidence.append("realroute ours vs the paper's (which of the two arms disagrees): " + "; ".join(against))
    v.evidence.append("realroute_norm = realroute / its ceiling (every trained transition, no held-out one): above "
                      "1 only by proposing held-out transitions that exist, which the action-conditioned models "
                      "(study action_context) can and the action-free ones cannot")
    sharpness = means(evidence, "mdn", "mdn_resp_max")
    if sharpness:
        v.evidence.append(f"the main MDN's mean largest responsibility: {listing(sharpness)} (1 = hard assignment, "
                          "as MoP's): our learned-sigma MDN is a near-hard mixture; see the softness study")
    return v


def precision_gap(evidence: Evidence) -> Verdict:
    v = Verdict("(d) MDN proposes imprecise edges, MoP-JEPA precise ones", "precision MDN 0.14-0.21, MoP 0.42-0.56",
                f"reproduced when MDN's highest maze mean precision is <= {IMPRECISE_MAX} and below MoP's lowest")
    mdn, mop = means(evidence, "mdn", "precision"), means(evidence, "mop", "precision")
    v.ours = [f"MDN: {listing(mdn)}", f"MoP-JEPA: {listing(mop)}"]
    if len(mdn) == 3 and len(mop) == 3:
        worst_mdn, best = max(s.mean for s in mdn.values()), min(s.mean for s in mop.values())
        v.verdict = "reproduced" if worst_mdn <= IMPRECISE_MAX and worst_mdn < best else "not reproduced"
    raw = {arm: means(evidence, arm, "precision_raw") for arm in ("mdn", "mop")}
    if all(raw.values()):
        v.evidence.append(f"ungated (raw graph) precision: MDN {listing(raw['mdn'])}; MoP-JEPA {listing(raw['mop'])}")
    v.evidence += softness_evidence(evidence)
    return v


def softness_evidence(evidence: Evidence) -> list[str]:
    lines = []
    for group in sorted(evidence.selection.study("mdn_softness", "mdn"), key=lambda g: g.value("sigma_fixed") or 9.0):
        sigma = group.value("sigma_fixed")
        label = f"sigma = {sigma:g} (fixed)" if sigma else "sigma learned"
        for task in group.tasks:
            cells = [f"{name} {evidence.summary(group, task, name).cell()}"
                     for name in ("mdn_resp_max", "precision", "realroute")]
            lines.append(f"MDN softness, {task_label(task)}, {label}: " + ", ".join(cells))
    return lines


def teleport_coverage(evidence: Evidence) -> Verdict:
    v = Verdict("(e) MoP-JEPA has the highest gated coverage of the teleport exits; the codebook covers them raw "
                "without context", "gated cov_r MoP 0.632; codebook raw 1.00, shuffle 1.0",
                f"reproduced when MoP's gated cov_r is the highest of the arms, the codebook's raw cov_r >= "
                f"{CODEBOOK_RAW_MIN} and its shuffle within [{SHUFFLE_FLAT[0]}, {SHUFFLE_FLAT[1]}]")
    gated = {arm: evidence.main(arm, TELEPORT, "cov_r", TELEPORT_KEY) for arm in ("dense", "m3", "var", "mdn", "mop")}
    gated = {arm: s for arm, s in gated.items() if s.n}
    raw = evidence.main("codebook", TELEPORT, "cov_r_raw", TELEPORT_KEY)
    shuffle = evidence.main("codebook", TELEPORT, "shuffle", TELEPORT_KEY)
    v.ours = ["gated cov_r: " + ("; ".join(f"{arm_label(a)} {fmt(s)}" for a, s in gated.items()) or "—"),
              f"codebook raw cov_r {fmt(raw)}, shuffle {fmt(shuffle)}"]
    by_seed = evidence.seeds("codebook", TELEPORT, "cov_r_raw", TELEPORT_KEY)
    codes = evidence.main("codebook", TELEPORT, "active_outputs")
    if len(by_seed) and codes.n:
        v.evidence.append(f"codebook raw cov_r by seed: {', '.join(f'{x:.3f}' for x in by_seed)}; it proposes the same "
                          f"{codes.mean:g} successors (active_outputs) from every cell, so it covers an exit only "
                          "where one of its codes sits on it; its shuffle ratio is undefined (0 / 0) where it "
                          "covers none")
    if "mop" not in gated or len(gated) < 5 or not raw.n:
        return v
    best = max(gated, key=lambda arm: gated[arm].mean)
    parts = {"MoP's gated cov_r is the highest": gated[best].mean == gated["mop"].mean,
             f"the codebook's raw cov_r >= {CODEBOOK_RAW_MIN}": raw.mean >= CODEBOOK_RAW_MIN,
             f"its shuffle within [{SHUFFLE_FLAT[0]}, {SHUFFLE_FLAT[1]}]":
                 SHUFFLE_FLAT[0] <= shuffle.mean <= SHUFFLE_FLAT[1]}
    v.evidence.append("which parts of the rule hold: " + "; ".join(f"{part}: {'yes' if held else 'no'}"
                                                                   for part, held in parts.items()))
    v.verdict = "reproduced" if all(parts.values()) else "not reproduced"
    return v


def ensemble_collapse(evidence: Evidence) -> Verdict:
    v = Verdict("(f) the independent ensemble collapses (no assignment, no enumeration)", "collapses like dense",
                f"reproduced when the ensemble's plan_all is <= {COLLAPSE_MAX} on every maze it ran")
    groups = evidence.selection.study("ablation_ensemble", "ensemble")
    rows = {task: evidence.summary(group, task, "plan_all") for group in groups for task in group.tasks}
    v.ours = [f"ensemble plan_all: {listing(rows)}"]
    if rows:
        v.verdict = "reproduced" if max(s.mean for s in rows.values()) <= COLLAPSE_MAX else "not reproduced"
        heads = {task: evidence.summary(group, task, "active_outputs") for group in groups for task in group.tasks}
        v.evidence.append(f"gated outputs per cell: {listing(heads)}")
    return v


def execution(evidence: Evidence) -> Verdict:
    v = Verdict("(g) executing MoP-JEPA's plans beats dense's", "success MoP 0.67 / 0.33 vs dense 0.27 / 0.13 "
                "(medium / large)", "read as lift over the empty-graph floor: reproduced when MoP's mean lift "
                "exceeds dense's on both medium- and large-stitch")
    lifts = {}
    for arm in ("dense", "mdn", "mop"):
        for task in (MEDIUM, LARGE):
            success, floor, lift = (evidence.main(arm, task, m) for m in ("exec_success", "exec_floor", "exec_lift"))
            if lift.n:
                lifts[(arm, task)] = lift
                v.ours.append(f"{arm_label(arm)} {task_label(task)}: success {fmt(success)}, floor {fmt(floor)}, "
                              f"lift {fmt(lift)}")
    if not all((arm, task) in lifts for arm in ("dense", "mop") for task in (MEDIUM, LARGE)):
        return v
    wins = [lifts[("mop", t)].mean > lifts[("dense", t)].mean for t in (MEDIUM, LARGE)]
    v.verdict = "reproduced" if all(wins) else "not reproduced"
    episodes = evidence.episodes
    v.evidence += task_outcome_evidence(evidence, pd.DataFrame() if episodes is None else episodes)
    return v


def threshold_insensitivity(evidence: Evidence) -> Verdict:
    v = Verdict("(h) MoP-JEPA's gate is insensitive to its threshold", "gated cov_r 0.74 -> 0.40, precision ~0.92 "
                "over t in [1/64, 1/4] (teleport-navigate)", f"reproduced when MoP's precision varies by <= "
                f"{PRECISION_SPREAD_MAX} over the sweep and stays >= {PRECISION_MIN}")
    coverage = [evidence.main("mop", TELEPORT, "threshold_cov_r", f"teleport@{t:g}") for t in THRESHOLDS]
    precision = [evidence.main("mop", TELEPORT, "threshold_precision", f"{t:g}") for t in THRESHOLDS]
    if not all(s.n for s in precision):
        return v
    v.ours = [f"gated cov_r over t = 1/64 .. 1/4: {' -> '.join(f'{s.mean:.3f}' for s in coverage)} (n={coverage[0].n})",
              f"precision: {' -> '.join(f'{s.mean:.3f}' for s in precision)}"]
    values = np.array([s.mean for s in precision])
    held = values.max() - values.min() <= PRECISION_SPREAD_MAX and values.min() >= PRECISION_MIN
    v.verdict = "reproduced" if held else "not reproduced"
    return v


def hallucinated_routes(evidence: Evidence) -> Verdict:
    v = Verdict("(i) MDN's raw planning advantage is routes through non-existent edges", "MDN covers but routes "
                "through non-existent edges", "reproduced when, on every maze, the fraction of MDN's raw-graph "
                "routes without a real counterpart (plan_all_raw - realroute_raw) exceeds MoP's by > "
                f"{UNREAL_LEAD_MIN}")
    gaps = {}
    for arm in ("mdn", "mop"):
        plan, real = means(evidence, arm, "plan_all_raw"), means(evidence, arm, "realroute_raw")
        gaps[arm] = {task: plan[task].mean - real[task].mean for task in plan if task in real}
        v.ours.append(f"{arm_label(arm)} plan_all_raw - realroute_raw: "
                      + ("; ".join(f"{task_label(t)} {g:.3f}" for t, g in gaps[arm].items()) or "—"))
    if len(gaps["mdn"]) < 3 or len(gaps["mop"]) < 3:
        return v
    lead = all(gaps["mdn"][t] - gaps["mop"][t] > UNREAL_LEAD_MIN for t in PAPER_TASKS)
    v.verdict = "reproduced" if lead else "not reproduced"
    return v


CLAIMS: tuple[tuple[Callable[[Evidence], Verdict], Needs], ...] = (
    (collapse, Needs("main", ("dense", "m3", "var"), ("plan_all",))),
    (mop_plan_all, Needs("main", ("mop",), ("plan_all",))),
    (realroute_lead, Needs("main", ("mdn", "mop"), ("realroute",), (MEDIUM, TELEPORT))),
    (precision_gap, Needs("main", ("mdn", "mop"), ("precision",))),
    (teleport_coverage, Needs("main", ("dense", "m3", "var", "mdn", "mop", "codebook"),
                              ("cov_r", "cov_r_raw", "shuffle"), (TELEPORT,))),
    (ensemble_collapse, Needs("ablation_ensemble", ("ensemble",), ("plan_all",))),
    (execution, Needs("main", ("dense", "mop"), ("exec_lift",), (MEDIUM, LARGE), executing=True)),
    (threshold_insensitivity, Needs("main", ("mop",), ("threshold_precision",), (TELEPORT,))),
    (hallucinated_routes, Needs("main", ("mdn", "mop"), ("plan_all_raw", "realroute_raw"))),
)


def verdicts(evidence: Evidence) -> list[Verdict]:
    """Every claim's verdict, provisional while a planned trial its rule reads is not complete."""
    return [judge(claim, needs, evidence) for claim, needs in CLAIMS]


def judge(claim: Callable[[Evidence], Verdict], needs: Needs, evidence: Evidence,
          waiting: Sequence[MissingTrial] | None = None) -> Verdict:
    """One claim's verdict: its rule on the evidence; provisional while a trial it reads is planned and not
    complete (`waiting`, by default the evidence's missing trials that `needs` wants); 'not yet run' naming
    the trials that settle it."""
    v = claim(evidence)
    if waiting is None:
        waiting = [trial for trial in evidence.missing if needs.wants(trial)]
    if v.verdict == "not yet run":
        v.settles = needs.describe()
    elif waiting:
        v.verdict = f"provisionally {v.verdict}"
        v.settles = f"{len(waiting)} planned trials not complete: {waiting_listing(waiting)}"
    return v


def waiting_listing(trials: Sequence[MissingTrial]) -> str:
    """'MDN medium-stitch seeds 3, 4; MoP-JEPA medium-stitch seeds 3, 4' (the manifest's order)."""
    seeds: dict[tuple[str, str], list[str]] = {}
    for trial in trials:
        key = (arm_label(str(trial.flat.get("arm"))), task_label(str(trial.flat.get("task"))))
        seeds.setdefault(key, []).append(str(trial.flat.get("seed", 0)))
    return "; ".join(f"{arm} {task} seed{'s' if len(s) > 1 else ''} {', '.join(s)}" for (arm, task), s in seeds.items())
