"""`mechanism`: the controlled branch sweep (Fig. 4 middle) on the generated task, not a maze.

Every registered arm x M in {1, 2, 3, 4, 6, 8} successor modes x 3 seeds: 126 trials of task
'mechanism' (config.BRANCH_SWEEP_TASK), each ~10-20 s on one core. Multi-output arms get K = 8 >= M.
Like every trial they run through mopjepa.experiment.run, which gives them (kind BranchTask) to
mopjepa.mechanism.run_branch_sweep; they have no maze keys (config.MAZE_KEYS).
"""

from mopjepa.config import BRANCH_SWEEP_TASK, TrialConfig
from mopjepa.results.studies import STUDIES_KEY

ARMS = ("dense", "m3", "var", "mdn", "mop", "codebook", "ensemble")
MODES = (1, 2, 3, 4, 6, 8)
SEEDS = (0, 1, 2)
K = 8
BUDGET = {"steps": 2000, "batch_size": 256, "latent_dim": 16, "encoder_hidden": 64, "hidden_dim": 64,
          "log_every": 250}


def trial(arm: str, num_modes: int, seed: int, **overrides) -> dict:
    """One trial's flat config; overrides apply where the arm has the key (K only to arms with K)."""
    flat = {"task": BRANCH_SWEEP_TASK, "arm": arm, "seed": seed, "num_modes": num_modes, **BUDGET,
            "studies": ["branch_sweep"]}
    allowed = set(TrialConfig.allowed_keys(arm, BRANCH_SWEEP_TASK)) | {STUDIES_KEY}
    if "K" in allowed and arm != "m3":
        flat["K"] = K
    flat.update({key: value for key, value in overrides.items() if key in allowed})
    return flat


def trials(arms=ARMS, modes=MODES, seeds=SEEDS, **overrides) -> list[dict]:
    return [trial(arm, m, seed, **overrides) for arm in arms for m in modes for seed in seeds]
