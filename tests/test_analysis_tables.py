"""Aggregation of a small hand-made experiment: exact means, stds, seed counts, CIs and table lines."""

import math

import numpy as np
import pandas as pd
import pytest

from mopjepa.analysis.artefacts.coverage import table5
from mopjepa.analysis.artefacts.execution import table4, table6
from mopjepa.analysis.artefacts.planning import table2, table3
from mopjepa.analysis.evidence import Evidence
from mopjepa.analysis.load import load_experiment
from mopjepa.analysis.paper import PaperTables, task_label
from mopjepa.analysis.render import Table, latex_escape
from mopjepa.analysis.selection import select
from mopjepa.analysis.stats import paired_bootstrap, per_seed, summarize
from tests.analysis_handmade import LARGE, MED, TEL, missing_trial_id, write_handmade, write_trials


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    return load_experiment(write_handmade(tmp_path_factory.mktemp("handmade")))


@pytest.fixture(scope="module")
def inputs(experiment):
    return Evidence(experiment.metrics, select(experiment.trials()), PaperTables.load())


def line_of(table: Table, first_cell: str) -> str:
    lines = [line for line in table.markdown().splitlines() if line.startswith(f"| {first_cell} |")]
    assert len(lines) == 1, table.markdown()
    return lines[0]


def test_summary_is_the_mean_and_sample_std_over_seeds(inputs):
    summary = inputs.main("mop", MED, "plan_all")
    assert summary.n == 3
    assert summary.mean == pytest.approx(np.mean([0.4, 0.5, 0.6]))
    assert summary.std == pytest.approx(np.std([0.4, 0.5, 0.6], ddof=1))
    assert summary.cell() == "0.500 ± 0.100 (n=3)"
    assert inputs.main("dense", MED, "plan_all").cell() == "0.200 ± 0.100 (n=3)"


def test_non_finite_seeds_are_counted_not_averaged(inputs):
    shuffle = inputs.main("mop", TEL, "shuffle", "teleport")
    assert (shuffle.n, shuffle.nonfinite, shuffle.mean) == (1, 1, 2.0)
    assert shuffle.cell() == "2.000 (n=1; 1 non-finite)"


def test_table2_lines_are_exact(inputs):
    table = table2(inputs)
    assert table.columns[:3] == ["arm", "medium-stitch (ours)", "medium-stitch (paper)"]
    assert line_of(table, "MoP-JEPA") == (
        "| MoP-JEPA | 0.500 ± 0.100 (n=3) | 0.851 ± 0.08 | — | 0.748 ± 0.09 | — | 0.386 ± 0.45 |"
    )
    # Never measured: marked, not invented; the paper's numbers stay beside.
    assert line_of(table, "M3-JEPA") == "| M3-JEPA | — | 0.075 ± 0.02 | — | 0.036 ± 0.01 | — | 0.031 ± 0.01 |"
    assert "0.900" not in table.markdown()  # the K=2 variant stays out of the main table


def test_paired_bootstrap_matches_a_direct_numpy_computation(inputs):
    mop = per_seed(inputs.metrics, inputs.selection.main["mop"].trial_ids, MED, "realroute")
    mdn = per_seed(inputs.metrics, inputs.selection.main["mdn"].trial_ids, MED, "realroute")
    differences = np.array([0.30 - 0.10, 0.25 - 0.12, 0.41 - 0.20])
    rng = np.random.default_rng(0)
    means = differences[rng.integers(0, 3, size=(10_000, 3))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    result = paired_bootstrap(mop, mdn)
    assert result.seeds == (0, 1, 2)
    assert (result.low, result.high) == (pytest.approx(low), pytest.approx(high))
    assert paired_bootstrap(mop, mdn).low == result.low  # deterministic with its seed
    expected = f"+{differences.mean():.3f} [{low:.3f}, {high:.3f}] (n=3)"
    normalized = differences / np.array([0.4, 0.3, 0.5])  # each seed over its own ceiling
    means = normalized[np.random.default_rng(0).integers(0, 3, size=(10_000, 3))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    expected_norm = f"+{normalized.mean():.3f} [{low:.3f}, {high:.3f}] (n=3)"
    line = line_of(table3(inputs), "medium-stitch")
    assert line.endswith(f"| 0.400 ± 0.100 (n=3) | {expected} | [0.06, 0.18] | {expected_norm} |")


def test_bootstrap_pairs_by_seed_and_needs_two():
    a = pd.Series([1.0, 2.0, 3.0], index=[0, 1, 5])
    b = pd.Series([0.5, 1.0], index=[1, 0])
    result = paired_bootstrap(a, b)
    assert result.seeds == (0, 1) and list(result.differences) == [0.0, 1.5]
    single = paired_bootstrap(a, pd.Series([0.0], index=[5]))
    assert single.n == 1 and math.isnan(single.low) and single.cell() == "+3.000 (n=1, no CI)"
    assert paired_bootstrap(a, pd.Series(dtype=float)).cell() == "—"


def test_table3_rows_without_data_are_marked(inputs):
    assert line_of(table3(inputs), "large-stitch") == (
        "| large-stitch | — | 0.016 ± 0.01 | — | — | 0.057 ± 0.03 | — | — | 0.139 ± 0.15 | — | — | — | includes 0 | — |"
    )


def test_table4_takes_the_best_mdn_of_the_grid_and_names_it(inputs):
    row = line_of(table4(inputs), "MDN (best of the K × lam_bal grid: mdn [lam_bal=0.1])")  # no main MDN elsewhere
    assert "grid: mdn [lam_bal=0.1]) | 0.200 ± 0.071 (n=2) | 0.134 ± 0.03 |" in row
    mop = line_of(table4(inputs), "MoP-JEPA")
    assert mop.startswith("| MoP-JEPA | 0.320 ± 0.082 (n=3) | 0.247 ± 0.08 | 0.801 ± 0.045 (n=3) |")
    matched = line_of(table4(inputs), "MoP-JEPA matched capacity [mop [K=16, steps=400]]")
    assert "| — | — | — | 0.250 ± 0.071 (n=2) | 0.208 | — |" in matched
    mdn = line_of(table4(inputs), "MDN matched capacity [mdn [K=16, lam_bal=0.1, steps=400]]")
    assert "| 0.110 ± 0.014 (n=2) | 0.095 |" in mdn
    published = line_of(table4(inputs), "QRL (published OGBench, external)")
    assert published.endswith("| n/a | 0.80 |" + " n/a |" * 7 + " 0.84 |" + " n/a |" * 6)


def test_table4_reads_the_main_mdn_on_a_maze_the_grid_did_not_run(tmp_path):
    trials = [({"task": task, "arm": "mdn", "seed": seed}, ["main", "mdn_grid"] if task == MED else ["main"],
               {"realroute": 0.10 + 0.01 * seed}) for seed in (0, 1) for task in (MED, TEL)]
    trials += [({"task": MED, "arm": "mdn", "seed": seed, "lam_bal": 0.1}, ["mdn_grid"], {"realroute": 0.30})
               for seed in (0, 1)]
    row = line_of(table4(write_trials(tmp_path, trials)),
                  "MDN (best of the K × lam_bal grid: mdn [lam_bal=0.1]; mdn where the grid did not run: "
                  "teleport-navigate)")
    assert "| 0.300 ± 0.000 (n=2) | 0.134 ± 0.03 |" in row and "| 0.105 ± 0.007 (n=2) | 0.039 ± 0.01 |" in row


def test_table4_and_table6_print_success_floor_ceiling_truth_lift_gain_and_fallback(inputs):
    large = task_label(LARGE)
    expected = [f"{name} {large} (ours)" for name in ("floor", "ceiling", "truth", "lift", "gain", "fallback")]
    cells = ("| 0.500 ± 0.141 (n=2) | 0.13 | 0.400 ± 0.000 (n=2) | 0.500 (n=1) | 1.000 (n=1) | 0.100 ± 0.141 (n=2) "
             "| 0.333 (n=1) | 0.500 ± 0.000 (n=2) |")
    for table in (table4(inputs), table6(inputs)):
        assert table.columns[-6:] == expected
        assert line_of(table, "dense (JEPA)").endswith(cells)
        assert any(note.startswith("ceiling, truth, gain of the 2 executing main-configuration trials: 1 from their "
                                   "own metrics; 1 without (—") for note in table.notes), table.notes


def test_table5_maps_gated_coverage_to_the_papers_name(inputs):
    row = line_of(table5(inputs), "teleport-navigate | MoP-JEPA")
    assert row == ("| teleport-navigate | MoP-JEPA | 1.000 ± 0.000 (n=2) | 0.997 ± 0.00 | 0.600 ± 0.141 (n=2) "
                   "| 0.632 ± 0.22 | — | 0.924 | 2.000 (n=1; 1 non-finite) | 2.4 |")


def test_table6_counts_leads_and_precision_range(inputs):
    table = table6(inputs)
    assert "| 1/1 | 3/3 |" in line_of(table, "MoP-JEPA")
    assert "| 0/1 | 0/3 |" in line_of(table, "MDN")
    assert "| 0.50–0.50 (1 maze) | 0.42–0.56 |" in line_of(table, "MoP-JEPA")


def test_duplicate_seeds_of_one_configuration_fail_loudly():
    frame = pd.DataFrame({"trial_id": ["a", "b"], "task": [MED, MED], "metric": ["realroute"] * 2, "key": [""] * 2,
                          "seed": [0, 0], "value": [0.1, 0.2]})
    with pytest.raises(ValueError, match="share a seed"):
        summarize(frame, ["a", "b"], MED, "realroute")


def test_partial_experiment_lists_its_missing_trials(experiment):
    assert [trial.trial_id for trial in experiment.missing] == [missing_trial_id()]
    assert experiment.missing[0].describe().startswith(f"{missing_trial_id()}: var on {MED}, seed 0")
    assert len(experiment.trial_ids) == 20


def test_renderings_escape_and_check_their_shape():
    table = Table("t", "Title_1", ["a", "b"], [["x_1 ± 0.1", "—"]], ["50% note"])
    assert table.csv() == "a,b\nx_1 ± 0.1,—\n"
    assert r"x\_1 $\pm$ 0.1 & --- \\" in table.latex() and r"50\% note" in table.latex()
    assert latex_escape("a&b") == r"a\&b"
    with pytest.raises(ValueError, match="cells for 2 columns"):
        table.add(["only one"])


def test_paper_lookups_keep_the_printed_digits():
    paper = PaperTables.load()
    assert paper.cell("4", "exec_success", "pointmaze-medium-stitch-v0", "dense") == "0.27"
    assert paper.cell("5", "cov_r", TEL, "mdn") == "0.292 ± 0.01"
    assert paper.cell("5", "cov_r", TEL, "codebook") == "—"
    assert paper.cell("6", "realroute_leads", "", "mop") == "3/3"
    assert task_label("antmaze-teleport-navigate-v0") == "antmaze-teleport-navigate"
