"""mopjepa.analysis.artefacts.branch_sweep: tables and figures of the mechanism evidence, from Parquet only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mopjepa.analysis.artefacts import branch_sweep as mechanism
from mopjepa.config import BRANCH_SWEEP_TASK, TrialConfig
from mopjepa.data import load_task_data
from mopjepa.experiment import run_trial, summary_tables
from mopjepa.results import Lineage, trial_id, write_trial_rows, write_trial_tables

TELEPORT = "pointmaze-teleport-navigate-v0"
TINY = {"task": TELEPORT, "steps": 30, "batch_size": 32, "latent_dim": 8, "encoder_hidden": 16, "hidden_dim": 16,
        "episodes_per_task": 0}


@pytest.fixture(scope="module")
def results(small_data_dir, tmp_path_factory) -> Path:
    """Real tiny trials of dense and mop (maze tables) and synthetic branch-sweep rows."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("mechanism-results")
    task = load_task_data(TELEPORT, small_data_dir)
    for flat in ({"arm": "dense"}, {"arm": "mop", "K": 4}):
        cfg = TrialConfig.from_flat({**TINY, **flat})
        summary = run_trial(cfg, task)
        lineage = Lineage(trial_id(cfg), "test", task.data_source, task.data_hash, "abc", ("main",)).columns(cfg)
        write_trial_tables(root, summary_tables(summary), lineage)
    torch.set_num_threads(threads)
    other = TrialConfig.from_flat({**TINY, "arm": "mop", "K": 2})
    lineage = Lineage(trial_id(other), "test", task.data_source, task.data_hash, "abc", ("k_sweep",)).columns(other)
    write_trial_rows(root, "metrics", [{"metric": "threshold_precision", "key": f"{t:g}", "value": 0.5}
                                       for t in (1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4)], lineage)
    rng = np.random.default_rng(0)
    for arm in ("dense", "mop"):
        for num_modes in (1, 2, 4):
            for seed in (0, 1):
                flat = {"task": BRANCH_SWEEP_TASK, "arm": arm, "num_modes": num_modes, "seed": seed}
                cfg = TrialConfig.from_flat(flat)
                lineage = Lineage(trial_id(cfg), "test", "generated", "0" * 64, "abc").columns(cfg)
                coverage = 1.0 if arm == "mop" or num_modes == 1 else 1.0 / num_modes
                rows = [{"metric": "coverage", "key": str(num_modes), "value": coverage},
                        {"metric": "mean_similarity", "key": str(num_modes), "value": rng.uniform(0.6, 1.0)}]
                if arm == "mop":
                    rows.append({"metric": "router_error", "key": str(num_modes), "value": rng.uniform(0, 0.1)})
                write_trial_rows(root, "mechanism", rows, lineage)
    return root


def test_tables_summarize_over_seeds(results):
    tables = mechanism.tables(results)
    sweep = tables["mechanism_sweep"].set_index(["metric", "arm", "M"])
    assert sweep.loc[("coverage", "dense", 4), "mean"] == 0.25 and sweep.loc[("coverage", "mop", 4), "count"] == 2
    threshold = tables["threshold_sweep"]
    assert set(threshold.t) == {1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4}
    assert set(threshold.mode_set) == {"", "branching", "teleport"} and set(threshold.arm) == {"dense", "mop"}
    # a configuration that is not the arm's main one (here a K sweep trial) is not that arm
    assert threshold.loc[threshold.arm == "mop", "count"].max() == 1
    dense = threshold[(threshold.arm == "dense") & (threshold.metric == "threshold_cov_r")]
    assert dense.groupby("mode_set")["mean"].nunique().max() == 1, "one output passes every gate"


def test_every_figure_renders(results, tmp_path):
    paths = mechanism.render(results, tmp_path)
    assert sorted(path.name for path in paths) == sorted(
        ["mechanism_sweep.png", f"threshold_sweep_{TELEPORT}.png", f"beliefs_{TELEPORT}.png"]
    )
    for path in paths:
        assert path.stat().st_size > 10_000 and path.read_bytes()[:4] == b"\x89PNG"


def test_render_of_an_empty_root_makes_nothing(tmp_path):
    assert mechanism.render(tmp_path / "none", tmp_path / "figures") == []


def test_the_analysis_module_imports_no_torch():
    code = "import sys, mopjepa.analysis.artefacts.branch_sweep; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).parents[1])
    assert result.stdout.strip() == "False"


def test_fig2_shows_one_trial_per_panel_the_main_configuration_at_one_seed(results, tmp_path):
    """Copies of the real mop trial's rows as a second seed and as an ablation (lam_route) must not be overlaid."""
    from mopjepa.results import read_table

    base = {**TINY, "arm": "mop", "K": 4}
    main0 = trial_id(TrialConfig.from_flat(base))
    dense0 = trial_id(TrialConfig.from_flat({**TINY, "arm": "dense"}))
    root = tmp_path / "results"
    for table in ("metrics", "beliefs"):
        for flat in ({"arm": "dense"}, base, {**base, "seed": 1}, {**base, "lam_route": 0.5}):
            cfg = TrialConfig.from_flat({**TINY, **flat})
            source = dense0 if cfg.arm == "dense" else main0
            rows = read_table(results, table, ds_field_is(source)).to_dict("records")
            schema = set(table_columns(table))
            studies = () if "lam_route" in flat else ("main",)  # the ablation is no main configuration
            lineage = Lineage(trial_id(cfg), "test", "regenerated", "h", "abc", studies).columns(cfg)
            write_trial_rows(root, table, [{k: v for k, v in row.items() if k in schema} for row in rows], lineage)
    assert mechanism.figure_trials(root) == {TELEPORT: {"dense": dense0, "mop": main0}}
    assert f"beliefs_{TELEPORT}.png" in [path.name for path in mechanism.render(root, tmp_path / "figures")]


def ds_field_is(trial: str):
    import pyarrow.dataset as ds

    return ds.field("trial_id") == trial


def table_columns(table: str) -> list[str]:
    from mopjepa.results.schema import TABLE_COLUMNS

    return list(TABLE_COLUMNS[table])
