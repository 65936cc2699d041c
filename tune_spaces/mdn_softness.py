"""`mdn_softness`: how soft must an MDN be before it "covers but routes through non-existent edges"?

A learned sigma shrinks until the MDN's responsibilities are near one-hot (its gate gradient is then
MoP's router cross-entropy), so the default MDN is a near-hard mixture. This study holds sigma fixed at
0.03, 0.1, 0.3, 0.5, 0.7 and 1.0 beside the learned one (on these latents two successor modes of a cell
sit at cosine 0.1-0.4, so two equal components stay near one-hot up to sigma 0.3: a soft MDN needs
0.5-1.0), with MoP alongside, on pointmaze-medium-stitch-v0 and
pointmaze-teleport-navigate-v0, seeds 0-2, the default budget. Every MDN trial records mdn_sigma and
mdn_resp_max; the report draws precision and realroute against mdn_resp_max. Trials follow the
paper preset's execution rule, so they merge with its identical trials. The soft sigmas also run on
pointmaze-large-stitch-v0 (`soft_on_large`): claims (d) and (i) read every maze.
"""

from tune_spaces.rules import COVERAGE_SEEDS, LARGE, MEDIUM, TELEPORT, trial

TASKS = (MEDIUM, TELEPORT)
SIGMAS = (0.03, 0.1, 0.3, 0.5, 0.7, 1.0)
SOFT = (0.7, 1.0, 0.5)
"""The sigmas soft enough to route through edges that do not exist (measured largest responsibility 0.79 at
0.7 on medium-stitch; two equal components 0.65-0.97 at 0.5-1.0), in order of priority."""


def trials(tasks=TASKS, seeds=COVERAGE_SEEDS, sigmas=SIGMAS) -> list[dict]:
    """The learned MDN and MoP of each (task, seed), then each fixed sigma in `sigmas`' order."""
    out = [trial(task, arm, seed, "mdn_softness") for task in tasks for seed in seeds for arm in ("mdn", "mop")]
    for sigma in sigmas:
        out += [trial(task, "mdn", seed, "mdn_softness", sigma_fixed=sigma) for task in tasks for seed in seeds]
    return out


def soft_on_large(seeds=COVERAGE_SEEDS) -> list[dict]:
    """The soft sigmas on pointmaze-large-stitch-v0 (executing, by the preset's rule)."""
    return [trial(LARGE, "mdn", seed, "mdn_softness", sigma_fixed=sigma) for sigma in SOFT for seed in seeds]


def study() -> list[dict]:
    """The whole study: every sigma on medium- and teleport, the soft ones on large-stitch."""
    return trials() + soft_on_large()
