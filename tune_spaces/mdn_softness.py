"""`mdn_softness`: how soft must an MDN be before it "covers but routes through non-existent edges"?

A learned sigma shrinks until the MDN's responsibilities are near one-hot (its gate gradient is then
MoP's router cross-entropy), so the default MDN is a near-hard mixture. This study holds sigma fixed at
0.03, 0.1 and 0.3 beside the learned one, with MoP alongside, on pointmaze-medium-stitch-v0 and
pointmaze-teleport-navigate-v0, seeds 0-2, the default budget. Every MDN trial records mdn_sigma and
mdn_resp_max; the report draws precision and realroute against mdn_resp_max. Trials follow the
paper preset's execution rule, so they merge with its identical trials.
"""

from tune_spaces.paper import COVERAGE_SEEDS, TELEPORT, _trial

TASKS = ("pointmaze-medium-stitch-v0", TELEPORT)
SIGMAS = (0.03, 0.1, 0.3)


def trials(tasks=TASKS, seeds=COVERAGE_SEEDS) -> list[dict]:
    out = []
    for task in tasks:
        for seed in seeds:
            out.append(_trial(task, "mdn", seed, "mdn_softness"))
            out += [_trial(task, "mdn", seed, "mdn_softness", sigma_fixed=sigma) for sigma in SIGMAS]
            out.append(_trial(task, "mop", seed, "mdn_softness"))
    return out
