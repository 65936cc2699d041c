"""Write tests/pins/pinned_numbers.json: every number tests/test_pinned_numbers.py pins, from the code as it is.

    python -m tests.pins.regenerate [--only GROUP ...] [--out PATH]

GROUP is one of training, default_size, metrics, episodes, trials (default: all of them); the other
groups are kept as they are in the file.

When it is legitimate to run: ONLY when a change is meant to move results (a new loss term, a fixed
bug in a metric, a new default), never to make a failing pin pass after a change that should not have
moved anything (a speed-up, a refactor, a new option left off): that failure is the pin doing its job.
Run it on the commit that makes the change, with nothing else in it, and say in that commit's message
which numbers moved and why (the script prints every moved key with its old and new value). A pin
that moved by float noise only (another CPU's kernels) is not a reason either: the tolerances in
tests/test_pinned_numbers.py exist for that.

It needs the small regenerated datasets the tests use (made offline here in a temporary directory,
~1 min) and the MuJoCo environments; nothing is downloaded. Takes ~2-4 min on one core.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

from tests.conftest import make_small_datasets, small_cell_data
from tests.pins import compute

PINS = Path(__file__).with_name("pinned_numbers.json")
ABOUT = ("Written by tests/pins/regenerate.py (read its docstring before running it); compared by "
         "tests/test_pinned_numbers.py. Do not edit by hand.")


GROUPS = {
    "training": lambda data_dir: {name: compute.train_pins(name) for name in sorted(compute.ARMS)},
    "default_size": lambda data_dir: compute.default_size_pins(),
    "metrics": lambda data_dir: compute.metric_pins(small_cell_data(data_dir)),
    "episodes": lambda data_dir: {env: [list(r) for r in compute.executor_records(env)]
                                  for env in compute.EXECUTOR_ENVS},
    "trials": lambda data_dir: {name: compute.trial_numbers(data_dir, flat)
                                for name, flat in sorted(compute.TRIALS.items())},
}
"""Pin group -> how it is computed (tests/pins/compute.py), given the small datasets' directory."""


def regenerate(groups=tuple(GROUPS)) -> dict:
    """The pin groups `groups`, computed from the code as it is."""
    with tempfile.TemporaryDirectory(prefix="mopjepa-pins-") as tmp:
        data_dir = make_small_datasets(Path(tmp)) if {"metrics", "trials"} & set(groups) else None
        return {name: GROUPS[name](data_dir) for name in groups}


def moved(old, new, path: str = "") -> list[str]:
    """Human-readable list of the values that differ between two pin trees."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            if key not in new:
                out.append(f"{path}{key}: removed")
            elif key not in old:
                out.append(f"{path}{key}: new")
            else:
                out += moved(old[key], new[key], f"{path}{key}/")
        return out
    same = old == new or (isinstance(old, float) and isinstance(new, float) and math.isnan(old) and math.isnan(new))
    return [] if same else [f"{path.rstrip('/')}: {old!r} -> {new!r}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(GROUPS), default=list(GROUPS), help="groups to recompute")
    parser.add_argument("--out", type=Path, default=PINS, help=f"where to write (default {PINS})")
    args = parser.parse_args(argv)
    old = json.loads(args.out.read_text()) if args.out.exists() else {}
    pins = {**old, "about": ABOUT, **regenerate(args.only)}
    changes = moved(old, pins)
    args.out.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}; {len(changes)} value(s) moved" + (":" if changes else ""))
    for line in changes:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
