"""The graph is proposed blind (docs/protocol.md#4-the-blind-graph): ground truth cannot reach it, by construction
and in fact."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mopjepa.config import GraphConfig
from mopjepa.evaluate import Truth, as_dict, metric_report
from mopjepa.graph import propose, propose_graph
from tests.stand_ins import one_hot_outputs

GRAPH_PACKAGE = Path(propose.__file__).parent
FORBIDDEN = ("mopjepa.evaluate", "mopjepa.data", "mopjepa.execute", "mopjepa.model", "mopjepa.train")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    return names


def test_graph_package_imports_no_truth_source():
    for path in GRAPH_PACKAGE.glob("*.py"):
        bad = {name for name in imported_modules(path) if name.startswith(FORBIDDEN)}
        assert not bad, f"{path.name} imports {bad}"
    allowed = {"__future__", "dataclasses", "numpy", "mopjepa.config", "mopjepa.graph.types"}
    assert imported_modules(Path(propose.__file__)) <= allowed
    source = Path(propose.__file__).read_text()
    assert "CellData" not in source and "successor_modes" not in source and "heldout" not in source


def test_importing_the_proposer_loads_no_truth_module():
    code = ("import sys, mopjepa.graph.propose; "
            f"print(sorted(m for m in sys.modules if m.startswith({FORBIDDEN!r})))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).parents[1])
    assert result.stdout.strip() == "[]"


def test_proposer_signature_takes_model_outputs_only():
    parameters = list(inspect.signature(propose_graph).parameters)
    assert parameters == ["latents", "weights", "reference", "config", "num_actions"]
    parameters = list(inspect.signature(propose.decode_two_step).parameters)
    assert parameters == ["latents", "first_weights", "second_weights", "reference", "config", "num_actions"]


def snapshot(blind) -> dict[str, np.ndarray]:
    arrays = {}
    for field in dataclasses.fields(blind):
        value = getattr(blind, field.name)
        if dataclasses.is_dataclass(value):
            for inner in dataclasses.fields(value):
                arrays[f"{field.name}.{inner.name}"] = np.array(getattr(value, inner.name))
        else:
            arrays[field.name] = np.array(value)
    return arrays


@pytest.mark.parametrize("num_actions", [1, 2])  # 2: the 4 outputs of a cell are 2 actions' 2 outputs
def test_graph_is_identical_whatever_truth_the_evaluator_receives(num_actions):
    rng = np.random.default_rng(0)
    num_cells = 12
    targets = [rng.choice(num_cells, size=3, replace=False).tolist() for _ in range(num_cells)]
    latents, weights, reference = one_hot_outputs(targets, 4)
    latents = latents + 0.01 * rng.normal(size=latents.shape)  # decoding still unambiguous
    inputs = [latents.copy(), weights.copy(), reference.copy()]

    def truth_of(matrix, modes):
        empty = np.zeros_like(matrix)
        return Truth(truth=matrix, heldout=empty, trained_pairs=matrix.copy(), successor_modes=modes,
                     two_step_modes=modes.copy(), tasks=np.array([[0, 5], [3, 7]]),
                     teleport_in=np.array([1]), teleport_out=np.array([2, 4]))

    real = np.eye(num_cells, k=1, dtype=bool) | np.eye(num_cells, k=-1, dtype=bool)
    corrupted = ~real
    np.fill_diagonal(corrupted, False)
    first = propose_graph(latents, weights, reference, GraphConfig(), num_actions)
    before = snapshot(first)
    honest = as_dict(metric_report(first, truth_of(real, real.copy()), GraphConfig(),
                                   np.random.default_rng(0)))
    lying = as_dict(metric_report(first, truth_of(corrupted, corrupted.copy()), GraphConfig(),
                                  np.random.default_rng(0)))
    assert honest[("precision", "")] != lying[("precision", "")]  # the evaluator did read the truth
    second = propose_graph(latents, weights, reference, GraphConfig(), num_actions)
    assert (second.raw.action is None) == (num_actions == 1)
    for name, array in snapshot(second).items():
        np.testing.assert_array_equal(array, before[name], err_msg=name)
    for name, array in snapshot(first).items():  # evaluating did not modify the proposal
        np.testing.assert_array_equal(array, before[name], err_msg=name)
    for given, kept in zip((latents, weights, reference), inputs, strict=True):
        np.testing.assert_array_equal(given, kept)  # nor its inputs
