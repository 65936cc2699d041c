"""The arm registry: one entry per arm (config type, predictor, label, colour), and the walk-through of
docs/architecture.md#4-how-to-add-an-arm followed once for real with a toy arm registered here only."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from matplotlib.colors import is_color_like, to_hex

from mopjepa.analysis.artefacts.planning import table2
from mopjepa.analysis.evidence import Evidence
from mopjepa.analysis.load import load_experiment
from mopjepa.analysis.paper import PaperTables
from mopjepa.analysis.selection import select
from mopjepa.config import (
    ARM_COLOURS,
    ARM_LABELS,
    ARMS,
    PREDICTOR_CONFIGS,
    Arm,
    ConfigError,
    PredictorConfig,
    TrialConfig,
    register_arm,
    unregister_arm,
)
from mopjepa.config.checks import positive_int
from mopjepa.model import PREDICTORS, Predictor
from mopjepa.model.heads import BatchedMLP
from mopjepa.model.predictors.base import cosine_distance, uniform_weights, unit
from tests.analysis_experiment import generate_experiment

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(ARMS))
def test_every_registered_arm_is_complete(name):
    arm = ARMS[name]
    assert issubclass(arm.config, PredictorConfig) and dataclasses.is_dataclass(arm.config)
    assert PREDICTOR_CONFIGS[name] is arm.config
    predictor = PREDICTORS[name]
    assert issubclass(predictor, Predictor) and predictor.config_type is arm.config
    assert is_color_like(ARM_COLOURS[name]) and ARM_LABELS[name] == arm.label
    assert TrialConfig.from_flat({"arm": name}).predictor == arm.config()


def test_labels_and_colours_are_one_each():
    assert len(set(ARM_LABELS.values())) == len(ARMS)
    assert len({to_hex(c) for c in ARM_COLOURS.values()}) == len(ARMS)


def test_the_analysis_reads_labels_and_colours_from_the_registry():
    from mopjepa.analysis import paper, plotting
    from mopjepa.analysis.artefacts import branch_sweep, execution
    from mopjepa.config import arm_colour

    assert all(paper.arm_label(name) == ARMS[name].label for name in ARMS)
    assert plotting.arm_colour is branch_sweep.arm_colour is execution.arm_colour is arm_colour
    assert all(arm_colour(name) == ARMS[name].colour for name in ARMS)
    assert paper.arm_label("not-an-arm") == "not-an-arm"


def test_reading_the_registry_needs_no_torch():
    code = ("import sys; from mopjepa.config import ARMS, ARM_LABELS; from mopjepa.analysis.paper import arm_label; "
            "assert arm_label('mop') == ARM_LABELS['mop']; "
            "print(sorted(m for m in ('torch', 'mopjepa.model') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "mop"}, "arm 'mop' is already registered"),
        ({"name": "Bad Name"}, "'name' = 'Bad Name' is not allowed"),
        ({"config": dict}, "field 'config' = <class 'dict'> is not allowed"),
        ({"predictor": "no_colon"}, "field 'predictor' = 'no_colon' is not allowed"),
        ({"label": "MoP-JEPA"}, "field 'label' = 'MoP-JEPA' is not allowed: arm 'mop' has it"),
        ({"colour": ""}, "field 'colour' = '' is not allowed"),
    ],
)
def test_a_bad_entry_is_rejected_naming_the_field(change, message):
    fields = {"name": "fresh", "config": ToyConfig, "predictor": "x:Y", "label": "fresh arm", "colour": "#000001"}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        register_arm(Arm(**{**fields, **change}))
    assert "fresh" not in ARMS


def test_unknown_arms_are_rejected_by_config_and_builder():
    with pytest.raises(ConfigError, match="'arm' = 'toy' is not allowed"):
        TrialConfig.from_flat({"arm": "toy"})
    with pytest.raises(KeyError):
        PREDICTORS["toy"]


# -- the walk-through of docs/architecture.md#4-how-to-add-an-arm, with a toy arm ---------------------
# Step 1: its config, a frozen PredictorConfig subclass, one docstring per field, checked in __post_init__.


@dataclass(frozen=True)
class ToyConfig(PredictorConfig):
    """Toy arm: K heads, each trained on the targets it is nearest to (the WTA loss without a router)."""

    K: int = 2
    """Number of heads."""

    def __post_init__(self):
        super().__post_init__()
        positive_int(self, "K")


# Step 2: its predictor, a Predictor subclass answering successors() and loss().


class ToyPredictor(Predictor):
    config_type = ToyConfig

    def __init__(self, cfg: ToyConfig, context_dim: int, latent_dim: int, generator: torch.Generator):
        super().__init__(cfg, context_dim, latent_dim)
        self.num_outputs = cfg.K
        self.heads = BatchedMLP(cfg.K, context_dim, cfg.hidden_dim, latent_dim, cfg.depth, generator)

    def successors(self, c, generator=None):
        self.check_inputs(c)
        u = unit(self.heads(c))  # [B, K, D]
        return u, uniform_weights(c.shape[0], self.cfg.K, u)  # [B, K, D], [B, K]

    def loss(self, c, z_plus, progress):
        self.check_inputs(c, z_plus, progress)
        distances = cosine_distance(unit(self.heads(c)), z_plus)  # [B, K]
        wta = distances.min(dim=1).values.mean()
        return wta, {"wta": wta.detach()}


TOY = Arm("toy", ToyConfig, ToyPredictor, "Toy-JEPA (test arm)", "#17becf")


@pytest.fixture
def toy_arm():
    # Step 3: one registry entry (a module of the library would call register_arm at import, beside
    # its config in mopjepa/config/predictors.py; the test registers it here only, and removes it).
    register_arm(TOY)
    try:
        yield TOY
    finally:
        unregister_arm(TOY.name)


def test_a_toy_arm_walks_through_training_protocol_and_tables(toy_arm, small_data_dir, tmp_path):
    assert PREDICTOR_CONFIGS["toy"] is ToyConfig and PREDICTORS["toy"] is ToyPredictor
    budget = {"steps": 30, "batch_size": 32, "latent_dim": 8, "encoder_hidden": 32, "hidden_dim": 32,
              "log_every": 10, "episodes_per_task": 0}
    trials = [{"task": "pointmaze-medium-stitch-v0", "arm": arm, "seed": 0, "K": 2, **budget, "studies": ["main"]}
              for arm in ("toy", "mop")]
    # Step 4: it trains through the real loop and is proposed and evaluated through the real protocol.
    experiment = generate_experiment(tmp_path, "toy", "custom", trials, small_data_dir)
    results = load_experiment(experiment)
    toy_metrics = results.metrics[results.metrics["arm"] == "toy"]
    assert {"plan_all", "realroute", "precision", "cov_r"} <= set(toy_metrics["metric"])
    assert set(results.table("training").query("arm == 'toy'")["metric"]) >= {"train/loss", "train/wta"}
    # Step 5: it gets a row, under its label, in the analysis tables.
    inputs = Evidence(results.metrics, select(results.trials()), PaperTables.load())
    table = table2(inputs).markdown()
    rows = [line for line in table.splitlines() if line.startswith(f"| {TOY.label} |")]
    plan_all = toy_metrics.query("metric == 'plan_all' and key == ''")["value"].item()
    assert rows == [f"| {TOY.label} | {plan_all:.3f} (n=1) | — | — | — | — | — |"], table
