"""Trials that read a claim under another choice the paper leaves open (docs/protocol.md, readings).

    var_samples     Var-JEPA with S = 2 and 4 samples (the default is 8): claim (a) holds at S = 2 at one
                    seed and fails at S = 8
    codebook_size   the codebook control with K = 16 and 32 codes (the default is 8): whether codes settle
                    on the teleport exits, as the paper's codebook COV-P of 0.417 suggests

Both on pointmaze-teleport-navigate-v0, seeds 0-2, the default budget (no execution on that maze).
Measured cost (medium and large, 2-core machine): var ~290 s and codebook ~200 s per trial, so the 12
trials take about 0.8 CPU-hours.
"""

from tune_spaces.rules import COVERAGE_SEEDS, TELEPORT, trial


def trials(seeds=COVERAGE_SEEDS) -> list[dict]:
    out = [trial(TELEPORT, "var", seed, "var_samples", num_samples=s) for seed in seeds for s in (2, 4)]
    return out + [trial(TELEPORT, "codebook", seed, "codebook_size", K=k) for seed in seeds for k in (16, 32)]
