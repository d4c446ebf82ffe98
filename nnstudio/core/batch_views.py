"""A :class:`~nnstudio.core.train_step.TrainStep`'s buffers cut to one batch size, made once.

The step's plain path (no dropout, SGD) runs a batch as a fixed list of NumPy calls on these
views and BLAS calls on them (:mod:`nnstudio.core.blas`), so a batch slices nothing and converts
no argument: at the seed's small sizes such overheads are a tenth of the epoch.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.blas import plan_a_b, plan_at_b

#: What raw pixels are multiplied by: uint8 values 0..255 to floats in [0, 1].
PIXEL_SCALE = 1 / 255


def scale_pixels(pixels: np.ndarray, inputs: np.ndarray) -> None:
    """Write ``pixels / 255`` into ``inputs[:, :-1]``, whose last column stays ones."""
    np.copyto(inputs[:, :-1], pixels)
    np.multiply(inputs, inputs.dtype.type(1 / 255), out=inputs)
    inputs[:, -1].fill(1)


class BatchViews:
    """A :class:`TrainStep`'s buffers cut to a batch of ``n`` rows, and the BLAS calls on them: made
    once per batch size, so a batch on the hot path slices nothing."""

    def __init__(self, step, n: int) -> None:
        self.n = n
        layers = step.layers
        self.relu = step.network.activation == "relu"
        self.inputs = [a[:n] for a in step._a]  # each layer's input, with its column of ones
        outputs = [a[:n, :-1] for a in step._a[1:]]  # each hidden layer's output
        self.hidden = list(zip(self.inputs[:-1], layers[:-1], outputs, self.inputs[1:]))
        self.last_input_t = self.inputs[-1].T
        self.logits_t = step._logits_t[:, :n]  # (classes, n)
        self.flat, self.stride = step._logits_t.reshape(-1), step._logits_t.shape[1]
        self.columns = np.arange(n)
        self.top = step._top[:n]
        self.below = [d[:n] for d in step._below]  # each hidden layer's delta, a last column of zeros
        self.masks = [m[:n] for m in step._below_mask]
        self.zeros = [z[:n] for z in step._zeros]  # what ReLU compares each hidden layer's rows with
        self.deltas = [b[:, :-1] for b in self.below] + [self.logits_t.T]  # each layer's, for its update
        self.argmax, self.hit = step._argmax[:n], step._hit[:n]
        self.index = np.empty(n, np.intp)
        self.picked = np.empty(n, step.network.dtype)
        self.log_sum = np.empty(n, step.network.dtype)
        self.no_drop = [False] * len(layers)
        self.flat_layers = [p.reshape(-1) for p in layers]
        # The first layer's product on raw pixel values (0..255, a column of 255s for the bias) that
        # scales by 1/255 as it multiplies; None where BLAS does not suit or no layer is hidden.
        first = plan_a_b(self.inputs[0], layers[0], outputs[0]) if len(layers) > 1 else None
        self.first_scaled = first.fixed(PIXEL_SCALE, 0.0) if first is not None else None
        self._updates: dict[tuple[float, bool], list] = {}  # (momentum, raw pixels) -> each layer's BLAS call
        self._plans: dict[bool, list] = {}  # into velocity -> each layer's plan (None: not BLAS's)

    def can_update(self, step, into_velocity: bool) -> bool:
        """Whether BLAS can add every layer's step into its weights (or velocities) here."""
        plans = self._plans.get(into_velocity)
        if plans is None:
            targets = step.velocities if into_velocity else step.layers
            plans = self._plans[into_velocity] = [
                plan_at_b(a, d, t) for a, d, t in zip(self.inputs, self.deltas, targets)]
        return all(plan is not None for plan in plans)

    def updates(self, step, momentum: float, raw: bool) -> list:
        """Each layer's update, a BLAS call; on ``raw`` pixels the first layer's also scales by 1/255."""
        calls = self._updates.get((momentum, raw))
        if calls is None:
            if len(self._updates) > 8:  # momentum edited live, value after value
                self._updates.clear()
            plans, beta = self._plans[bool(momentum)], momentum if momentum else 1.0
            calls = self._updates[momentum, raw] = [plan.fixed(-PIXEL_SCALE if raw and i == 0 else -1.0, beta)
                                                    for i, plan in enumerate(plans)]
        return calls
