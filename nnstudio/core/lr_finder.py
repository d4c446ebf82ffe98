"""The learning-rate range test (Leslie Smith, 2015; fastai's ``lr_find``), as a generator.

From the current weights of a *copy* of the network, one short pass of mini-batch SGD with the
learning rate rising exponentially from ``start`` to ``end``; the loss is smoothed by a debiased
exponential moving average (beta 0.98) and the test stops once the smoothed loss exceeds four
times its minimum (the run has diverged). The network given is never modified.

A single range test's suggestion jumps from run to run (fastai #3295, pytorch-lr-finder #68, #106):
:func:`find_learning_rate` runs it three times on different batches and reports the band the
three suggestions span, with their median as the suggestion.

The suggestion is the "valley": the middle of the longest falling stretch of the smoothed curve
(see :func:`valley` for how it differs from fastai's).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import Split
from nnstudio.core.network import Network, as_inputs
from nnstudio.core.optim import SGD, Optimizer, make_optimizer
from nnstudio.core.training_set import training_set_for

START_LR = 1e-6
END_LR = 10.0
STEPS = 200
BETA = 0.98
DIVERGE_FACTOR = 4.0
RUNS = 3


@dataclass(frozen=True)
class LrCurve:
    """One range test: the learning rate, raw and smoothed loss of each batch, and its suggestion."""

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    diverged: bool  # stopped because the smoothed loss exceeded 4x its minimum (or blew up)
    suggestion: float
    falls_from: float  # where the longest falling stretch begins: below it, learning is too slow

    @property
    def steps(self) -> int:
        return len(self.learning_rates)

    @property
    def minimum_lr(self) -> float:
        """The learning rate at the smoothed loss's minimum."""
        if not len(self.smoothed):
            return START_LR
        return float(self.learning_rates[int(np.argmin(self.smoothed))])


@dataclass(frozen=True)
class LrProgress:
    """Sent while a test runs: which run, how many of its batches are done, and the learning rate reached."""

    run: int
    runs: int
    step: int
    steps: int
    learning_rate: float
    smoothed_loss: float


@dataclass(frozen=True)
class LrFinderResult:
    """Three range tests on different batches: their curves, the suggestion (their median) and band."""

    curves: tuple[LrCurve, ...]
    suggestion: float
    low: float
    high: float

    @property
    def band_text(self) -> str:
        return (f"suggested learning rate: {self.suggestion:.3g} (three runs on different batches gave "
                f"{self.low:.3g} to {self.high:.3g})")

    def zones(self) -> tuple[float, float]:
        """Where "learns" begins and where "diverges" begins on the learning-rate axis (medians over
        the runs): the loss starts falling steadily at the first, and climbs past its minimum at the second."""
        falls = float(np.median([c.falls_from for c in self.curves]))
        minimum = float(np.median([c.minimum_lr for c in self.curves]))
        return min(falls, self.low), max(minimum, self.high)


def valley(learning_rates: np.ndarray, smoothed: np.ndarray) -> float:
    """The suggested learning rate: the middle of :func:`falling_stretch`."""
    return falling_stretch(learning_rates, smoothed)[1]


def falling_stretch(learning_rates: np.ndarray, smoothed: np.ndarray) -> tuple[float, float, float]:
    """``(first, middle, last)`` learning rate of the longest falling stretch. The "valley" suggestion
    is the middle (on the log axis) of the longest stretch over which the smoothed loss falls at
    every batch, its first tenth and last five points left out as fastai does.

    fastai's own ``valley`` takes the longest falling *subsequence* instead; on a noisy flat start
    that subsequence begins decades too early and its middle lands near 0.02 for the seed's network,
    below the 0.1 the seed found good. The contiguous stretch begins where the loss really starts to
    fall, and its middle lands at 0.03-0.09 (measured over five seeds; see the tests)."""
    n_all = len(smoothed)
    if n_all == 0:
        return START_LR, START_LR, START_LR
    skip_start, skip_end = n_all // 10, 5 if n_all > 20 else 0
    lrs = np.asarray(learning_rates[skip_start:n_all - skip_end], dtype=float)
    losses = np.asarray(smoothed[skip_start:n_all - skip_end], dtype=float)
    if len(losses) < 2:
        lowest = float(learning_rates[int(np.argmin(smoothed))])
        return lowest, lowest, lowest
    best_start = best_end = start = 0
    for i in range(1, len(losses)):
        if not losses[i] < losses[i - 1]:
            start = i
        elif i - start > best_end - best_start:
            best_start, best_end = start, i
    return float(lrs[best_start]), float(lrs[(best_start + best_end) // 2]), float(lrs[best_end])


def range_test(network: Network, x: np.ndarray, y: np.ndarray, *, batch_size: int = 64, start: float = START_LR,
               end: float = END_LR, steps: int = STEPS, beta: float = BETA, diverge_factor: float = DIVERGE_FACTOR,
               optimizer: Callable[[], Optimizer] | None = None, seed: int = 0, run: int = 0, runs: int = 1,
               report_every: int = 10) -> Iterator[LrProgress]:
    """One range test on batches of ``(x, y)`` (uint8 or float rows) drawn with ``seed``; yields
    :class:`LrProgress` every ``report_every`` batches and returns the :class:`LrCurve`.
    ``optimizer`` makes a fresh optimiser (default: plain SGD); ``network`` is copied first and left
    untouched."""
    if not 0 < start < end:
        raise ValueError("the range test needs 0 < start < end")
    if steps < 10:
        raise ValueError("the range test needs at least 10 steps")
    if len(x) < 1 or len(x) != len(y):
        raise ValueError("the range test needs training images with as many labels")
    net = network.copy()
    rng = np.random.default_rng(seed)
    factor = (end / start) ** (1 / (steps - 1))
    stepper = optimizer() if optimizer is not None else SGD()
    rates, raw, smooth = [], [], []
    average, best = 0.0, math.inf
    diverged = False
    order = rng.permutation(len(x))
    position = 0
    for step in range(steps):
        lr = start * factor ** step
        if position + batch_size > len(order):
            order, position = rng.permutation(len(x)), 0
        index = order[position:position + batch_size]
        position += batch_size
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            outputs = net.feedforward(as_inputs(x[index], net.dtype))
            loss, _, weight_grads, bias_grads = net.backprop(outputs, y[index])
            if math.isfinite(loss):
                grads = [g for pair in zip(weight_grads, bias_grads) for g in pair]
                stepper.step(list(zip(net.parameters(), grads)), lr)
        if not math.isfinite(loss):
            diverged = True
            break
        average = beta * average + (1 - beta) * loss
        smoothed = average / (1 - beta ** (step + 1))
        rates.append(lr)
        raw.append(loss)
        smooth.append(smoothed)
        best = min(best, smoothed)
        if (step + 1) % report_every == 0:
            yield LrProgress(run, runs, step + 1, steps, lr, smoothed)
        if smoothed > diverge_factor * best:
            diverged = True
            break
    rates_a, smooth_a = np.array(rates), np.array(smooth)
    falls_from, suggestion, _ = falling_stretch(rates_a, smooth_a)
    return LrCurve(rates_a, np.array(raw), smooth_a, diverged, suggestion, falls_from)


def find_learning_rate(network: Network, x: np.ndarray, y: np.ndarray, *, runs: int = RUNS, seed: int = 0,
                       **options) -> Iterator[LrProgress]:
    """``runs`` range tests on different batches (seeds ``seed``, ``seed + 1``, ...); yields progress,
    returns an :class:`LrFinderResult` whose suggestion is the median of the runs' suggestions."""
    curves = []
    for run in range(runs):
        curve = yield from range_test(network, x, y, seed=seed + run, run=run, runs=runs, **options)
        curves.append(curve)
    suggestions = [c.suggestion for c in curves]
    return LrFinderResult(tuple(curves), float(np.median(suggestions)), float(min(suggestions)),
                          float(max(suggestions)))


def finder_network(config: TrainingConfig, data: Split) -> Network:
    """The network a run with ``config`` would start from (the trainer draws it from the same seed)."""
    sizes = (data.inputs, *config.hidden, data.classes)
    return Network(sizes, config.activation, seed=np.random.default_rng(config.seed))


def finder_job(config: TrainingConfig, data: Split, network: Network | None = None):
    """The range test (three runs) for ``config`` on ``data``'s training set: a generator of
    :class:`LrProgress` returning an :class:`LrFinderResult`."""
    network = network if network is not None else finder_network(config, data)
    data = training_set_for(config, data)  # the images (and labels) a run with this config trains on
    return find_learning_rate(network, data.x_train, data.y_train, seed=config.seed, batch_size=config.batch_size,
                              optimizer=lambda: make_optimizer(config))


def run_to_end(generator: Iterator) -> object:
    """Drive a generator to its end and return its return value (for callers without a thread)."""
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value


def curves_csv(result: LrFinderResult) -> str:
    """The tests as CSV text: one row per batch of each run (run, step, learning_rate, loss, smoothed_loss)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["run", "step", "learning_rate", "loss", "smoothed_loss", "suggestion"])
    for run, curve in enumerate(result.curves):
        for step, (lr, loss, smoothed) in enumerate(zip(curve.learning_rates, curve.losses, curve.smoothed)):
            writer.writerow([run + 1, step + 1, f"{lr:.6g}", f"{loss:.6g}", f"{smoothed:.6g}",
                             f"{curve.suggestion:.6g}"])
    return out.getvalue()
