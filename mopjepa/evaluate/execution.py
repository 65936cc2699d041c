"""The execution gain: the share of the lift the full real graph offers over the floor that a graph took.

Pure arithmetic on success rates (no executor, no torch), so that a trial (mopjepa.experiment) and the
analysis (the record's ceilings of trials written before trials wrote them) compute it the same way.
"""

from __future__ import annotations


def execution_gains(success: dict[int, float], floor: dict[int, float],
                    truth: dict[int, float]) -> tuple[dict[int, float], float | None]:
    """({task: (success - floor) / (truth - floor)} for the tasks whose truth beats their floor, and the same of
    the overall rates (means over tasks), None when the overall truth does not beat the overall floor).

    The overall gain is not the mean of the task gains: a task whose truth is barely above its floor would
    swamp that mean (one task at floor 0.98 and success 0 gives -49)."""
    per_task = {task: (success[task] - floor[task]) / (truth[task] - floor[task])
                for task in success if truth[task] - floor[task] > 0}
    overall = [sum(rates[task] for task in success) / len(success) for rates in (success, floor, truth)]
    gain = (overall[0] - overall[1]) / (overall[2] - overall[1]) if success and overall[2] > overall[1] else None
    return per_task, gain
