"""A trial's episodes on a pool of Ray actors: one environment per actor, whole episodes per call.

The library runs episodes through an injected `map_episodes(fn, jobs)`; this module provides one
that runs on Ray (the only executor code that imports ray):

    with EpisodeActorPool(num_workers=4) as pool:        # actors live as long as the pool
        episodes = run_episodes(env_name, geometry, graph, cfg, seed, map_episodes=pool)

    run_episodes(..., map_episodes=ray_map_episodes(4))  # a pool per call, closed after it

Each actor reserves one CPU, runs with single-threaded numerics and keeps one environment per env
name (the library's per-process cache), so a call is whole episodes (tens of milliseconds each), never
a step: a few consecutive episodes per call when there are many, and two calls queued per actor so
it never waits for the round trip. Results come back in job order. An actor that dies (its process
exits, it is killed) is replaced and its episodes rerun, up to `max_attempts` tries per call; an
exception raised by an episode itself is not retried but raised here, since rerunning a
deterministic episode repeats it.
A plain list of actors with `ray.wait` is used rather than `ray.util.ActorPool` (a DeveloperAPI).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import ray
from ray.exceptions import RayActorError

SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@ray.remote(num_cpus=1)
class EpisodeWorker:
    """One process, one environment per env name (mopjepa.execute.cached_env), episodes on demand."""

    def __init__(self):
        # The runtime env sets these before the process starts (so BLAS reads them when numpy loads);
        # repeated here for anything the worker itself launches.
        os.environ.update(SINGLE_THREADED)

    def run(self, fn: Callable[[Any], Any], job: Any) -> Any:
        return fn(job)

    def run_many(self, fn: Callable[[Any], Any], jobs: list[Any]) -> list[Any]:
        return [fn(job) for job in jobs]

    def describe(self) -> dict[str, Any]:
        """The worker's pid and thread settings (for tests and diagnostics)."""
        return {"pid": os.getpid(), **{name: os.environ.get(name) for name in SINGLE_THREADED}}


class EpisodeActorPool:
    """A `map_episodes` callable backed by `num_workers` actors (0: one per CPU Ray has available)."""

    def __init__(self, num_workers: int = 0, max_attempts: int = 3, queue_depth: int = 2, max_chunk: int = 8):
        if not ray.is_initialized():
            raise RuntimeError("EpisodeActorPool needs a running Ray (call ray.init first)")
        if num_workers < 0 or max_attempts < 1 or queue_depth < 1 or max_chunk < 1:
            raise ValueError(
                f"num_workers >= 0, max_attempts >= 1, queue_depth >= 1, max_chunk >= 1 needed: got {num_workers}, "
                f"{max_attempts}, {queue_depth}, {max_chunk}"
            )
        if num_workers == 0:
            num_workers = max(1, int(ray.available_resources().get("CPU", 1)))
        self.max_attempts = max_attempts
        self.queue_depth = queue_depth
        """Jobs in flight per actor: with 2, an actor's next episode is already queued on it when one
        finishes, so it never idles for the round trip to this process."""
        self.max_chunk = max_chunk
        """Most consecutive jobs sent in one call (Ray costs ~1 ms of CPU per call, an episode 1-80 ms)."""
        self.replaced = 0
        """Actors that died and were replaced over the pool's life."""
        self.actors = [self._spawn() for _ in range(num_workers)]
        self.generations = [0] * num_workers  # bumped when a slot's actor is replaced

    @staticmethod
    def _spawn():
        return EpisodeWorker.options(runtime_env={"env_vars": SINGLE_THREADED}).remote()

    def _replace(self, slot: int) -> None:
        ray.kill(self.actors[slot], no_restart=True)  # no-op for a dead actor; stops an unreachable one
        self.actors[slot] = self._spawn()
        self.generations[slot] += 1
        self.replaced += 1

    def __call__(self, fn: Callable[[Any], Any], jobs: Sequence[Any]) -> list[Any]:
        """[fn(job) for job in jobs], computed on the actors, in job order."""
        if not self.actors:
            raise RuntimeError("the pool is closed")
        jobs = list(jobs)
        results: list[Any] = [None] * len(jobs)
        fn_ref = ray.put(fn)
        chunks = self._chunks(len(jobs))  # [(first job, end)]
        attempts = [0] * len(chunks)
        waiting = deque(range(len(chunks)))
        # A free place in an actor's queue; slots interleaved so the first chunks spread over the actors.
        free = deque(slot for _ in range(self.queue_depth) for slot in range(len(self.actors)))
        running: dict[ray.ObjectRef, tuple[int, int, int]] = {}  # ref -> (actor slot, generation, chunk)
        while waiting or running:
            while waiting and free:
                slot, chunk = free.popleft(), waiting.popleft()
                attempts[chunk] += 1
                first, end = chunks[chunk]
                ref = self.actors[slot].run_many.remote(fn_ref, jobs[first:end])
                running[ref] = (slot, self.generations[slot], chunk)
            (ref,), _ = ray.wait(list(running), num_returns=1)
            slot, generation, chunk = running.pop(ref)
            first, end = chunks[chunk]
            try:
                results[first:end] = ray.get(ref)
            except RayActorError as error:
                if attempts[chunk] >= self.max_attempts:
                    raise RuntimeError(
                        f"job {first} lost its actor {attempts[chunk]} times (max_attempts={self.max_attempts})"
                    ) from error
                if generation == self.generations[slot]:  # the other calls queued on it come back here too
                    self._replace(slot)
                waiting.appendleft(chunk)
            free.append(slot)
        return results

    def _chunks(self, count: int) -> list[tuple[int, int]]:
        """Consecutive job ranges: about six calls per actor (so the last ones balance the actors' loads),
        at most max_chunk jobs each."""
        size = min(self.max_chunk, max(1, count // (6 * len(self.actors))))
        return [(first, min(first + size, count)) for first in range(0, count, size)]

    def describe(self) -> list[dict[str, Any]]:
        return ray.get([actor.describe.remote() for actor in self.actors])

    def close(self) -> None:
        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        self.actors = []

    def __enter__(self) -> EpisodeActorPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def ray_map_episodes(num_workers: int = 0, max_attempts: int = 3) -> Callable[[Callable, Sequence], list]:
    """A `map_episodes` that starts a pool for each call (at most one actor per job) and closes it after."""

    def map_episodes(fn: Callable[[Any], Any], jobs: Sequence[Any]) -> list[Any]:
        jobs = list(jobs)
        if not jobs:
            return []
        workers = num_workers or max(1, int(ray.available_resources().get("CPU", 1)))
        with EpisodeActorPool(min(workers, len(jobs)), max_attempts) as pool:
            return pool(fn, jobs)

    return map_episodes
