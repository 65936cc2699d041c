"""The top-level API: a newcomer imports from `mopjepa` alone; names load on first use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import mopjepa

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "numpy", "pandas", "ray", "mlflow", "mopjepa.model", "mopjepa.train")


def loaded_after(statement: str) -> list[str]:
    code = f"import sys; {statement}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return eval(done.stdout.strip())


def test_every_public_name_resolves_to_the_library_object():
    from mopjepa.analysis.report import build_report
    from mopjepa.audit import audit
    from mopjepa.config import Arm, ConfigError, TrialConfig, register_arm
    from mopjepa.data import load_task_data
    from mopjepa.experiment import run_trial, summary_tables

    expected = {"TrialConfig": TrialConfig, "ConfigError": ConfigError, "load_task": load_task_data,
                "run_trial": run_trial, "summary_tables": summary_tables, "audit_model": audit,
                "build_report": build_report, "Arm": Arm, "register_arm": register_arm}
    assert sorted(mopjepa.__all__) == sorted(expected)
    assert all(getattr(mopjepa, name) is value for name, value in expected.items())
    assert set(mopjepa.__all__) <= set(dir(mopjepa))


def test_an_unknown_name_says_what_the_api_is():
    with pytest.raises(AttributeError, match="has no attribute 'nope'; its API is"):
        mopjepa.nope  # noqa: B018


def test_import_mopjepa_is_light_and_the_analysis_path_needs_no_torch():
    assert loaded_after("import mopjepa") == []
    assert "torch" not in loaded_after("import mopjepa; mopjepa.build_report; mopjepa.TrialConfig")
    assert "torch" in loaded_after("import mopjepa; mopjepa.run_trial")
