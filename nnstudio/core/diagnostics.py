"""What training does to each layer, measured once per epoch on small fixed batches.

Per layer (the weights into it): the update-to-weight ratio ``‖lr·g‖ / ‖W‖`` of a plain
gradient step on a fixed training batch (the rule of thumb: about 1e-3; far above, the
learning rate is too high, far below, too low), the gradient's norm, the share of dead
ReLU units (never active on a fixed validation batch) and a histogram of the weights in
fixed bins beside the histogram of the weights the run started from.

A :class:`DiagnosticsProbe` is made when training starts (it keeps the initial
histograms) and measures a network in a few milliseconds: a forward and backward pass of
a few hundred images, no pass over the data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from nnstudio.core.layer_math import backward, cross_entropy_delta, forward

#: The rule of thumb for a healthy update-to-weight ratio.
HEALTHY_UPDATE_RATIO = 1e-3
BINS = 41
PROBE_BATCH = 256
PROBE_VALIDATION = 1000
#: First-layer units whose weights each epoch's diagnostics carry (as float16, for the weight tiles).
TILE_UNITS = 400
MAX_SHARE = 0.05


@dataclass(frozen=True, eq=False)
class LayerDiagnostics:
    """The weights into layer ``layer`` (1-based: 1 is the first hidden layer)."""

    layer: int
    update_ratio: float  # ‖lr·g‖ / ‖W‖ for a plain gradient step on the probe batch
    gradient_norm: float  # ‖g‖, the mean loss's gradient with respect to W on the probe batch
    weight_norm: float
    dead_units: int | None  # units never active on the validation probe; None unless a ReLU hidden layer
    units: int
    histogram: np.ndarray  # weight counts per bin (weights beyond the edges count in the end bins)
    initial_histogram: np.ndarray  # the same bins for the weights training started from
    edges: np.ndarray  # BINS + 1 fixed bin edges

    @property
    def dead_share(self) -> float | None:
        return None if self.dead_units is None else self.dead_units / self.units


@dataclass(frozen=True, eq=False)
class Diagnostics:
    """One epoch's diagnostics, every layer; plain data that crosses threads."""

    layers: tuple[LayerDiagnostics, ...]
    learning_rate: float
    probe_images: int
    validation_images: int
    seconds: float  # what measuring cost
    # The first layer's weights now, columns of its first TILE_UNITS units, float16 (a copy to keep).
    first_layer: np.ndarray | None = None

    @property
    def update_ratios(self) -> np.ndarray:
        return np.array([d.update_ratio for d in self.layers])

    @property
    def gradient_norms(self) -> np.ndarray:
        return np.array([d.gradient_norm for d in self.layers])


class DiagnosticsProbe:
    """Measures :class:`Diagnostics` of a network on fixed batches.

    ``x`` / ``labels`` are the training batch the gradient is taken on, ``x_val`` the
    validation rows dead units are looked for on (uint8 pixels or floats in [0, 1]).
    The histogram bins are fixed here from ``network``'s weights as they are now, which
    become the "initial" histograms.
    """

    def __init__(self, network, x: np.ndarray, labels: np.ndarray, x_val: np.ndarray, *, bins: int = BINS) -> None:
        #: At most this share of the training time goes to measuring (None: measure every epoch).
        self.max_share: float | None = MAX_SHARE
        self._budget = 0.0
        self._cost: float | None = None
        self.x = _rows(x, network.dtype)
        self.labels = np.asarray(labels, dtype=np.intp)
        self.x_val = _rows(x_val, network.dtype)
        self.sizes = tuple(network.sizes)
        self.edges: list[np.ndarray] = []
        self.initial: list[np.ndarray] = []
        for w in network.weights:
            reach = 2 * float(np.abs(w).max()) if w.size else 1.0
            reach = reach if reach > 0 and np.isfinite(reach) else 1.0
            edges = np.linspace(-reach, reach, bins + 1)
            self.edges.append(edges)
            self.initial.append(_histogram(w, edges))

    @classmethod
    def from_split(cls, network, data, *, batch: int = PROBE_BATCH, validation: int = PROBE_VALIDATION,
                   bins: int = BINS) -> "DiagnosticsProbe":
        """A probe on rows spread evenly over ``data``'s training and validation sets (no random draw)."""
        train = _spread(len(data.x_train), batch)
        val = _spread(len(data.x_val), validation)
        return cls(network, data.x_train[train], data.y_train[train], data.x_val[val], bins=bins)

    def at_epoch_end(self, network, learning_rate: float, weight_decay: float, epoch_seconds: float
                     ) -> Diagnostics | None:
        """:meth:`measure`, unless that would take more than ``max_share`` of the training time so
        far: each epoch adds its share to a budget, a measurement spends what it cost. On full MNIST
        every epoch is measured; on a tiny data set, whose epochs take milliseconds, only some are."""
        if self.max_share is not None:
            self._budget += self.max_share * epoch_seconds
            if self._cost is not None:
                self._budget = min(self._budget, 10 * self._cost)  # no saving up for a burst
                if self._budget < self._cost:
                    return None
        d = self.measure(network, learning_rate, weight_decay)
        self._cost = d.seconds
        self._budget -= d.seconds
        return d

    def measure(self, network, learning_rate: float, weight_decay: float = 0.0) -> Diagnostics:
        """The diagnostics of ``network`` now; ``weight_decay`` is added to the gradient as the trainer does."""
        if tuple(network.sizes) != self.sizes:
            raise ValueError(f"this probe was made for a network of sizes {self.sizes}, not {network.sizes}")
        started = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            grads = [np.zeros_like(w) for w in network.weights]
            if len(self.x):
                run = forward(network, self.x)
                grads, _ = backward(network, run, cross_entropy_delta(run.logits, self.labels))
            dead: list[int | None] = [None] * len(network.weights)
            if network.activation == "relu" and len(self.x_val):
                outputs = forward(network, self.x_val).outputs
                for i in range(len(network.weights) - 1):
                    dead[i] = int(np.count_nonzero(~(outputs[i + 1] > 0).any(axis=0)))
            layers = []
            for i, (w, g) in enumerate(zip(network.weights, grads)):
                if weight_decay:
                    g = g + weight_decay * w
                gradient_norm = float(np.linalg.norm(g))
                weight_norm = float(np.linalg.norm(w))
                ratio = learning_rate * gradient_norm / weight_norm if weight_norm > 0 else float("inf")
                layers.append(LayerDiagnostics(
                    layer=i + 1, update_ratio=ratio, gradient_norm=gradient_norm, weight_norm=weight_norm,
                    dead_units=dead[i], units=w.shape[1], histogram=_histogram(w, self.edges[i]),
                    initial_histogram=self.initial[i], edges=self.edges[i]))
        first_layer = network.weights[0][:, :TILE_UNITS].astype(np.float16)
        return Diagnostics(tuple(layers), float(learning_rate), len(self.x), len(self.x_val),
                           time.perf_counter() - started, first_layer)


@dataclass(frozen=True, eq=False)
class BatchDiagnostics:
    """The cheap per-layer figures of one training step, taken every N batches from what the step
    already has (the weights before and after it): no extra pass, no probe batch."""

    epoch: int  # 1-based
    batch: int  # 1-based: the step measured is this epoch's batch number ``batch``
    batches: int  # batches per epoch
    update_ratios: tuple[float, ...]  # ‖ΔW‖/‖W‖ of the step taken, W the weights before it, per layer
    # ‖ΔW‖/lr: the gradient's norm (weight decay included) for plain SGD without momentum; else None
    gradient_norms: tuple[float, ...] | None
    seconds: float  # what measuring cost (copying and comparing the weights; not the step)

    @property
    def position(self) -> float:
        """Where the step lies, in epochs (the batch plot's x)."""
        return self.epoch - 1 + self.batch / max(self.batches, 1)


class StepMeter:
    """Measures every ``every``-th step of an epoch (0: none): :meth:`before` copies the weights,
    :meth:`after` compares them with the weights the step left."""

    def __init__(self, every: int = 0) -> None:
        self.every = max(0, int(every))
        self._before: list[np.ndarray] = []  # the weights before a measured step, buffers kept
        self._norms: list[float] = []
        self._copy_seconds = 0.0
        self._taken: list[BatchDiagnostics] = []  # measured since the last take()

    def due(self, batch_index: int) -> bool:
        """Whether 0-based batch ``batch_index`` of an epoch is measured."""
        return self.every > 0 and (batch_index + 1) % self.every == 0

    def before(self, network) -> None:
        began = time.perf_counter()
        if [b.shape for b in self._before] != [w.shape for w in network.weights]:
            self._before = [np.empty_like(w) for w in network.weights]
        for buffer, w in zip(self._before, network.weights):
            np.copyto(buffer, w)
        self._norms = [float(np.linalg.norm(w)) for w in self._before]
        self._copy_seconds = time.perf_counter() - began  # the step itself is not counted

    def after(self, network, epoch: int, batch: int, batches: int, learning_rate: float,
              plain_sgd: bool) -> None:
        """Measure the step taken since :meth:`before`; :meth:`take` hands the measurements over."""
        began = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            steps, ratios = [], []
            for w, old, norm in zip(network.weights, self._before, self._norms):
                step = float(np.linalg.norm(np.subtract(w, old, out=old)))  # the step, in place of the copy
                steps.append(step)
                ratios.append(step / norm if norm > 0 else float("inf"))
            gradients = tuple(s / learning_rate for s in steps) if plain_sgd and learning_rate > 0 else None
        self._taken.append(BatchDiagnostics(epoch, batch, batches, tuple(ratios), gradients,
                                            self._copy_seconds + time.perf_counter() - began))

    def take(self) -> tuple:
        """The measurements since the last call, handed over once."""
        if not self._taken:
            return ()
        taken, self._taken = tuple(self._taken), []
        return taken


def _spread(n: int, k: int) -> np.ndarray:
    """``min(n, k)`` indices spread evenly over ``range(n)``."""
    return np.unique(np.linspace(0, n - 1, min(n, k)).astype(np.intp)) if n else np.zeros(0, np.intp)


def _rows(x: np.ndarray, dtype) -> np.ndarray:
    x = np.asarray(x)
    rows = x.reshape(len(x), -1)
    if rows.dtype == np.uint8:
        return rows.astype(dtype) * np.dtype(dtype).type(1 / 255)
    return rows.astype(dtype)


def _histogram(w: np.ndarray, edges: np.ndarray) -> np.ndarray:
    reach = edges[-1]
    counts, _ = np.histogram(np.clip(w, -reach, reach), bins=len(edges) - 1, range=(-reach, reach))
    return counts
