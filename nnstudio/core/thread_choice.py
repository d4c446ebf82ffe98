"""How many threads a run trains on: measured on the run's own network, not guessed.

More threads help a wide network and hurt a small one (their hand-offs cost more than they
save), and every core in use hurts a window that must keep painting. So
:func:`choose_threads` trains a few dozen batches of a throwaway copy of the run's network at
1, 2, 4, ... threads, up to a cap, and keeps the fastest; headless the cap is the core count,
in the app the core count minus one, which leaves the window a core.

``nnstudio.core`` is NumPy and the standard library only, so the caller passes ``limit``,
a function that holds BLAS to ``n`` threads for a ``with`` block (e.g.
``lambda n: threadpoolctl.threadpool_limits(limits=n)``).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import numpy as np

from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import Split
from nnstudio.core.network import Network
from nnstudio.core.train_step import TrainStep

# More threads must be at least this much faster per batch to be chosen: a tie keeps the cores free.
MARGIN = 0.05
# A batch of more multiply-adds than this (about a second on one core) is not measured.
HEAVY_BATCH = 2e10


@dataclass(frozen=True)
class ThreadChoice:
    """The thread count chosen and why: ``seconds`` holds the median seconds per batch measured
    at each count tried (empty when nothing was measured)."""

    threads: int
    reason: str  # "measured", "one core", "set", "large products: ..."
    seconds: dict[int, float] = field(default_factory=dict)

    def describe(self) -> str:
        if self.reason == "set":
            return f"{self.threads} thread{'s' if self.threads != 1 else ''} (as set)"
        if self.reason == "one core":
            return f"{self.threads} thread (only one allowed here)"
        if not self.seconds:
            return f"{self.threads} thread{'s' if self.threads != 1 else ''} ({self.reason})"
        trials = ", ".join(f"{n}: {s * 1000:.2f} ms" for n, s in sorted(self.seconds.items()))
        return f"{self.threads} thread{'s' if self.threads != 1 else ''} (fastest per batch of {trials})"


def usable_cores() -> int:
    """The cores this process may run on."""
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counter is not None:
        return max(1, counter() or 1)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def app_cap(cores: int | None = None) -> int:
    """The most threads a run in the app may use: all cores but one, for the window."""
    return max(1, (usable_cores() if cores is None else cores) - 1)


def candidate_counts(cap: int) -> list[int]:
    """1, 2, 4, ... below ``cap``, and ``cap`` itself."""
    counts, n = [], 1
    while n < cap:
        counts.append(n)
        n *= 2
    counts.append(max(1, cap))
    return counts


def choose_threads(config: TrainingConfig, data: Split, limit: Callable[[int], AbstractContextManager], *,
                   cap: int | None = None, batches: int = 24, rounds: int = 3) -> ThreadChoice:
    """The fastest thread count up to ``cap`` (default: every core) for ``config`` on ``data``.

    Each count trains ``batches`` batches of a throwaway network (the run's own network,
    weights and random draws are not touched), in ``rounds`` interleaved rounds so a busy
    moment of the machine hits every count alike; the median round decides.
    """
    cap = usable_cores() if cap is None else max(1, int(cap))
    counts = candidate_counts(cap)
    if len(counts) == 1:
        return ThreadChoice(counts[0], "one core")
    sizes = (data.inputs, *config.hidden, data.classes)
    size = min(config.batch_size, len(data.x_train))
    multiply_adds = 3 * size * sum(a * b for a, b in zip(sizes, sizes[1:]))  # a batch, forward and back
    if multiply_adds > HEAVY_BATCH:  # products this large scale with threads; measuring would cost minutes
        return ThreadChoice(cap, "large products: every thread allowed")
    per_round = max(1, batches // rounds)
    x = (data.x_train[:size].reshape(size, -1) * np.float32(1 / 255)).astype(np.float32)
    y = data.y_train[:size]
    steps = {n: TrainStep(Network(sizes, config.activation, seed=0), size, threads=n) for n in counts}
    timings: dict[int, list[float]] = {n: [] for n in counts}
    try:
        for r in range(rounds + 1):  # round 0 warms up: first calls, BLAS threads starting
            for n, step in steps.items():
                with limit(n), np.errstate(all="ignore"):
                    started = time.perf_counter()
                    for _ in range(1 if r == 0 else per_round):
                        step.forward(x, y)
                        step.backward(config.learning_rate, config.momentum, config.nesterov, config.weight_decay)
                    if r:
                        timings[n].append((time.perf_counter() - started) / per_round)
    finally:
        for step in steps.values():
            step.close()
    seconds = {n: statistics.median(t) for n, t in timings.items()}
    best = counts[0]
    for n in counts[1:]:  # more threads only when clearly faster
        if seconds[n] < seconds[best] * (1 - MARGIN):
            best = n
    return ThreadChoice(best, "measured", seconds)
