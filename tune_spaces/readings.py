"""Trials that read a claim under another choice the paper leaves open (docs/protocol.md, readings).

    var_samples     Var-JEPA with S = 2 and 4 samples (the default is 8): claim (a) holds at S = 2 at one
                    seed and fails at S = 8; its rule reads every maze, so Var runs on all three
    codebook_size   the codebook control with K = 16 and 32 codes (the default is 8): whether codes settle
                    on the teleport exits, as the paper's codebook COV-P of 0.417 suggests (teleport only)

Seeds 0-2, the default budget, the paper preset's rule (execution on medium- and large-stitch). Teleport
first (the 12 trials of the first plan), then Var on medium- and large-stitch (12 more, added 2026-12-07:
without them claim (a) cannot be read at S = 2 or 4). Measured cost (2-core machine): var ~290 s and
codebook ~200 s per trial, ~60 s more with execution, so the 24 trials take about 2 CPU-hours.
"""

from tune_spaces.rules import COVERAGE_SEEDS, LARGE, MEDIUM, TELEPORT, trial

SAMPLES = (2, 4)
CODES = (16, 32)


def trials(seeds=COVERAGE_SEEDS) -> list[dict]:
    out = [trial(TELEPORT, "var", seed, "var_samples", num_samples=s) for seed in seeds for s in SAMPLES]
    out += [trial(TELEPORT, "codebook", seed, "codebook_size", K=k) for seed in seeds for k in CODES]
    return out + [trial(task, "var", seed, "var_samples", num_samples=s)
                  for seed in seeds for task in (MEDIUM, LARGE) for s in SAMPLES]
