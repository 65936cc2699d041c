"""`smoke`: every arm and every table/figure path on tiny budgets; minutes on 2 cores (CI runs it)."""

TASKS = ("pointmaze-medium-stitch-v0", "pointmaze-teleport-navigate-v0")
BUDGET = {"steps": 150, "batch_size": 64, "episodes_per_task": 1, "log_every": 50,
          "latent_dim": 16, "encoder_hidden": 64, "hidden_dim": 64}


def trials() -> list[dict]:
    out = []
    for task in TASKS:
        for arm, extra in (("dense", {}), ("mop", {"K": 4}), ("mdn", {"K": 4}), ("codebook", {"K": 4})):
            out.append({"task": task, "arm": arm, "seed": 0, **extra, **BUDGET, "studies": ["main"]})
    for k in (1, 2, 4):  # a K sweep of three points; K = 4 is also the main MoP
        out.append({"task": "pointmaze-teleport-navigate-v0", "arm": "mop", "seed": 0, "K": k, **BUDGET,
                    "studies": ["k_sweep"]})
    return out
