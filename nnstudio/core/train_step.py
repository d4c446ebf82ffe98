"""One step of mini-batch gradient descent, fused and free of allocations: the trainer's hot path.

:meth:`Network.backprop` is the textbook version, kept for reading and for checks;
:class:`TrainStep` computes the same update with as little work outside the matrix
products as we could manage:

- every array of a batch lives in a buffer allocated once; the products write into them;
- each layer is one packed array, its biases a last row under its weights
  (:meth:`Network.packed_layers`), and every layer's input carries a column of ones: the
  forward product adds the biases, the weight-gradient product gives the bias gradient,
  and one update moves both;
- the learning rate and the batch mean's ``1/n`` are folded into the output layer's small
  delta, so each gradient product ``a.T @ delta`` comes out as the step ``lr * dL/dW`` itself
  and the deltas below inherit the scale for free;
- each layer is updated as soon as its step and the delta below it are known: where NumPy's
  OpenBLAS is at hand (:mod:`nnstudio.core.blas`) the gradient product adds itself into the
  weights (plain SGD) or the velocities (momentum) as BLAS's ``beta`` allows; otherwise, and
  for Nesterov and weight decay, the step is written out and taken in one sweep of row chunks
  small enough to stay in cache;
- with more than one thread, large layers' updates are shared out over a thread pool (NumPy
  releases the GIL inside its loops). Elementwise work gives the same bits on any number
  of threads; only BLAS may sum in another order.

BLAS's own threads are the caller's to set (threadpoolctl lives outside ``nnstudio.core``).

Two options leave that fast path (:meth:`backward` says how): an adaptive ``optimizer`` from
:mod:`nnstudio.core.optim` (the products then give the plain gradient, and the optimiser takes
one step over every layer's weights and biases once all are known), and inverted ``dropout``
(:mod:`nnstudio.core.dropout`) on the input and the hidden layers, a fresh mask per batch from
``rng``. SGD without dropout runs exactly as before.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from nnstudio.core.batch_views import PIXEL_SCALE, BatchViews, scale_pixels
from nnstudio.core.dropout import draw_mask
from nnstudio.core.network import Network
from nnstudio.core.step_updates import ElementwiseWork

# Elements per chunk of a multi-pass update: a chunk of weights, step and velocity stays in L2.
CHUNK = 32768
# Below this many elements, elementwise work stays on the calling thread: handing it out costs more.
PARALLEL_MIN = 1 << 16


class TrainStep(ElementwiseWork):
    """Trains ``network`` in place, one batch of up to ``batch_size`` rows at a time.

    Call :meth:`forward` with a batch, then (unless its loss says the run has diverged)
    :meth:`backward` to update the weights. The momentum's velocities live here, one packed
    array per layer like the weights; :meth:`close` ends the thread pool, if any.
    """

    def __init__(self, network: Network, batch_size: int, *, threads: int = 1, chunk: int = CHUNK,
                 parallel_min: int = PARALLEL_MIN, blas: bool = True) -> None:
        self.network = network
        self.layers = network.packed_layers()
        self.threads = max(1, int(threads))
        self.chunk = max(1, int(chunk))
        self.parallel_min = parallel_min
        dtype, sizes = network.dtype, network.sizes
        # Each layer's input (the batch, then each hidden layer's output) and a column of ones.
        self._a = [np.empty((batch_size, s + 1), dtype) for s in sizes[:-1]]
        for a in self._a:
            a[:, -1] = 1
        self._logits = np.empty((batch_size, sizes[-1]), dtype)  # then the softmax's delta
        self._logits_t = np.empty((sizes[-1], batch_size), dtype)  # the same, transposed (the plain path)
        self._delta = [np.empty((batch_size, s), dtype) for s in sizes[1:-1]]
        self._mask = [np.empty((batch_size, s), bool) for s in sizes[1:-1]]
        # The plain path's deltas and ReLU masks, as wide as the layer inputs: whole rows stay contiguous.
        self._below = [np.zeros((batch_size, s + 1), dtype) for s in sizes[1:-1]]
        # ReLU's derivative as 0.0/1.0 floats: a float-by-float product takes half the time of one by booleans.
        self._below_mask = [np.empty((batch_size, s + 1), dtype) for s in sizes[1:-1]]
        # Zeros as wide as the layer inputs: ReLU's maximum against an array of the same shape runs several
        # times faster than against the scalar 0 (a broadcast NumPy 2.4's maximum does not vectorise).
        self._zeros = [np.zeros((batch_size, s + 1), dtype) for s in sizes[1:-1]]
        self.blas = blas
        self._plans: dict[tuple[int, int, bool], object] = {}  # (layer, rows, into velocity) -> BLAS call
        self._step: list[np.ndarray | None] = [None] * len(self.layers)  # lr * gradient, when written out
        self._velocities: list[np.ndarray] | None = None
        self._top = np.empty(batch_size, dtype)
        self._ones = np.ones(sizes[-1], dtype)
        self._rows = np.arange(batch_size)
        self._argmax = np.empty(batch_size, np.intp)
        self._hit = np.empty(batch_size, bool)
        self._scratch = [np.empty(self.chunk, dtype) for _ in range(self.threads)]
        self._pool = ThreadPoolExecutor(self.threads - 1, "nnstudio-step") if self.threads > 1 else None
        self._given: np.ndarray | None = None
        # Whether the input buffer holds raw pixel values (0..255, a column of 255s), which the first
        # layer's products scale by 1/255 as they multiply (:meth:`input_pixels`).
        self._raw = False
        self._n, self._labels = 0, None
        # Adaptive optimiser and dropout, set by the caller between batches (off: the fast path).
        self.optimizer = None
        self.dropout = 0.0  # rate on each hidden layer's output
        self.input_dropout = 0.0  # rate on the input pixels
        self.rng: np.random.Generator | None = None  # draws the dropout masks
        self._drop = [np.empty((batch_size, s), dtype) for s in sizes[:-1]]  # masks, input first
        self._dropped: list[bool] = [False] * (len(sizes) - 1)  # which masks the last forward used
        self._kept: list[np.ndarray | None] = [None] * (len(sizes) - 1)  # tanh/sigmoid outputs before dropout
        self._pairs: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._transposed = [p[:-1].T for p in self.layers]  # each layer's weights, for the delta below
        self._last_t = self.layers[-1].T
        self._views: dict[int, BatchViews] = {}  # the buffers cut to a batch of n rows, by n
        self._plain: BatchViews | None = None  # the last forward's views, when it took the plain path

    def close(self) -> None:
        """End the helper threads (idle between batches); the step still works, on one thread."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    @property
    def velocities(self) -> list[np.ndarray]:
        """The momentum's velocity of each packed layer (zeros until momentum is used)."""
        if self._velocities is None:
            self._velocities = [np.zeros_like(p) for p in self.layers]
        return self._velocities

    def reset_velocities(self) -> None:
        if self._velocities is not None:
            for v in self._velocities:
                v.fill(0)

    def input_rows(self, n: int) -> np.ndarray:
        """A buffer for the next batch's ``n`` input rows: fill it and pass it to :meth:`forward`,
        which then copies nothing."""
        self._set_raw(False)
        self._given = self._a[0][:n, :-1]
        return self._given

    def input_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """The next batch's input from uint8 ``pixels``, to pass to :meth:`forward` (which then copies
        nothing). The pixels are only cast: BLAS scales them by 1/255 inside the first layer's
        products, forward and update, one pass less over the batch. Where it cannot (no BLAS, no
        hidden layer), or the step leaves the plain path, they are scaled here or then, to the same
        floats as ``pixels * float32(1/255)``."""
        n = len(pixels)
        if self._batch_views(n).first_scaled is None:
            rows = self.input_rows(n)
            scale_pixels(pixels, self._a[0][:n])
            return rows
        self._set_raw(True)
        self._given = self._a[0][:n, :-1]
        np.copyto(self._given, pixels)
        return self._given

    def _set_raw(self, raw: bool) -> None:
        if raw != self._raw:
            self._a[0][:, -1] = 255 if raw else 1  # the bias's input: 1, or 255 that the products scale back
            self._raw = raw

    def _scale_raw(self, n: int) -> None:
        """Scale raw pixels in the input buffer by 1/255 in place, for a path that multiplies by NumPy."""
        if self._raw:
            np.multiply(self._a[0][:n], self.network.dtype.type(PIXEL_SCALE), out=self._a[0][:n])
            self._set_raw(False)

    def _batch_views(self, n: int) -> BatchViews:
        v = self._views.get(n)
        if v is None:
            v = self._views[n] = BatchViews(self, n)
        return v

    # -- the two halves of a step ---------------------------------------------------------------

    def forward(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, int]:
        """Feed a batch forward; returns its mean cross-entropy and how many rows it classifies right.

        The layer outputs stay in the step's buffers for :meth:`backward`.
        """
        n = len(x)
        in_buffer = x is self._given  # written into the step's input buffer
        self._given = None
        if not in_buffer:
            self._set_raw(False)
            np.copyto(self._a[0][:n, :-1], x)
        if not (self.dropout or self.input_dropout):
            return self._plain_forward(n, labels)
        self._scale_raw(n)
        self._plain = None
        last = len(self.layers) - 1
        self._dropped[0] = self._drop_out(0, self._a[0][:n, :-1], self.input_dropout)
        for i, p in enumerate(self.layers):
            z = self._logits[:n] if i == last else self._a[i + 1][:n, :-1]
            np.matmul(self._a[i][:n], p, out=z)  # x @ W + b
            if i < last:
                self._share(lambda lo, hi, part, z=z: self.network._activate(z[lo:hi]), n, z.size)
                self._dropped[i + 1] = self._drop_out(i + 1, z, self.dropout)
        logits, top = z, self._top[:n]
        np.argmax(logits, axis=1, out=self._argmax[:n])
        correct = int(np.count_nonzero(np.equal(self._argmax[:n], labels, out=self._hit[:n])))
        np.maximum.reduce(logits, axis=1, out=top)
        logits -= top[:, None]
        picked = logits[self._rows[:n], labels]  # a label beyond the classes fails here, saying so
        np.exp(logits, out=logits)
        np.matmul(logits, self._ones, out=top)  # each row's sum of exponentials
        loss = float(np.log(top).sum() - picked.sum()) / n
        self._n, self._labels = n, labels
        return loss, correct

    def _plain_forward(self, n: int, labels: np.ndarray) -> tuple[float, int]:
        """:meth:`forward` without dropout, every view made once per batch size: the hot path."""
        v = self._batch_views(n)
        self._dropped[:] = v.no_drop
        self._plain = v
        matmul, alone, activate = np.matmul, self._pool is None, self.network._activate
        raw = self._raw
        for (a, p, z, full), zero in zip(v.hidden, v.zeros):
            if raw:  # the first layer, on raw pixels: (x_raw @ W + 255 b) / 255
                v.first_scaled()
                raw = False
            else:
                matmul(a, p, out=z)  # x @ W + b
            if not v.relu:
                self._share(lambda lo, hi, part, z=z: activate(z[lo:hi]), n, z.size)
            elif alone:  # whole contiguous rows, their column of ones too: max(1, 0) = 1
                np.maximum(full, zero, out=full)
            else:
                self._share(lambda lo, hi, part, f=full, zero=zero: np.maximum(f[lo:hi], zero[lo:hi], out=f[lo:hi]),
                            n, full.size)
        # The logits transposed, one row per class: the softmax's sums over classes then run along
        # contiguous rows of the batch rather than across rows of ten.
        logits, top = v.logits_t, v.top
        matmul(self._last_t, v.last_input_t, out=logits)
        logits.argmax(axis=0, out=v.argmax)
        correct = int(np.count_nonzero(np.equal(v.argmax, labels, out=v.hit)))
        np.maximum.reduce(logits, axis=0, out=top)
        np.subtract(logits, top, out=logits)
        np.multiply(labels, v.stride, out=v.index)  # each label's logit by its flat index
        np.add(v.index, v.columns, out=v.index)
        try:
            v.flat.take(v.index, out=v.picked)
        except IndexError:  # a label beyond the classes: say which, as NumPy would of logits[rows, labels]
            bad = int(labels[np.asarray(labels) >= len(logits)][0])
            raise IndexError(f"index {bad} is out of bounds for axis 1 with size {len(logits)}") from None
        np.exp(logits, out=logits)
        np.add.reduce(logits, axis=0, out=top)  # each row's sum of exponentials
        np.log(top, out=v.log_sum)
        np.subtract(v.log_sum, v.picked, out=v.log_sum)
        self._n, self._labels = n, labels
        return float(np.add.reduce(v.log_sum)) / n, correct

    def _plain_backward(self, v: "BatchViews", learning_rate: float, momentum: float) -> None:
        """:meth:`backward` for SGD (optional classic momentum) with BLAS adding each step in place."""
        n = v.n
        scale = learning_rate / n
        delta = self._softmax_delta(n, scale)
        matmul, alone = np.matmul, self._pool is None
        updates = v.updates(self, momentum, self._raw)
        for i in range(len(self.layers) - 1, -1, -1):
            if i:  # the delta below needs this layer's weights before they change
                below, h, mask, zero = v.below[i - 1], v.inputs[i], v.masks[i - 1], v.zeros[i - 1]
                matmul(delta, self._transposed[i], out=v.deltas[i - 1])
                if v.relu and alone:  # whole rows: the last column of the delta below stays 0
                    np.greater(h, zero, out=mask, casting="unsafe")  # 1.0 where the unit was active
                    np.multiply(below, mask, out=below)
                elif v.relu:
                    self._share(lambda lo, hi, part, below=below, h=h, mask=mask, zero=zero: np.multiply(
                        below[lo:hi], np.greater(h[lo:hi], zero[lo:hi], out=mask[lo:hi], casting="unsafe"),
                        out=below[lo:hi]), n, below.size)
                else:
                    self._share(lambda lo, hi, part, below=below[:, :-1], h=h[:, :-1], mask=mask[:, :-1]:
                                self._scale_by_derivative(below[lo:hi], h[lo:hi], mask[lo:hi]), n, below.size)
            updates[i]()  # w -= a.T @ delta (or v = momentum * v - a.T @ delta), inside the product
            if momentum:
                flat, velocity = v.flat_layers[i], self.velocities[i].reshape(-1)
                if not alone:
                    self._share(lambda lo, hi, part: np.add(flat[lo:hi], velocity[lo:hi], out=flat[lo:hi]),
                                flat.size, flat.size)
                else:
                    np.add(flat, velocity, out=flat)
            delta = v.deltas[i - 1] if i else None

    def backward(self, learning_rate: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        """Backpropagate the batch of the last :meth:`forward` and update the network in place.

        The update is gradient descent with optional momentum (classic or Nesterov) and L2
        weight decay on the weights (not the biases), as the textbook writes it:
        ``g += decay * w; v = momentum * v - lr * g; w += v`` (Nesterov: ``w += momentum * v - lr * g``).
        With an :attr:`optimizer` set, that optimiser takes the step instead (with its own
        settings: ``momentum``, ``nesterov`` and ``weight_decay`` here are then unused).
        """
        n = self._n
        optimizer = self.optimizer
        if optimizer is None and not (weight_decay or nesterov) and self.blas:
            v = self._plain
            if v is not None and v.can_update(self, bool(momentum)):
                self._plain_backward(v, learning_rate, momentum)
                return
        self._scale_raw(n)  # the products below multiply the inputs as they are
        scale = (1.0 if optimizer is not None else learning_rate) / n
        delta = self._softmax_delta(n, scale)
        for i in range(len(self.layers) - 1, -1, -1):
            a = self._a[i][:n]
            below = None
            if i > 0:  # the delta below needs this layer's weights before they change
                below = self._delta[i - 1][:n]
                np.matmul(delta, self.layers[i][:-1].T, out=below)
                h, mask = a[:, :-1], self._mask[i - 1]
                if self._dropped[i]:  # through the mask, to the activation's output before dropout
                    below *= self._drop[i][:n]
                    if self._kept[i] is not None:
                        h = self._kept[i][:n]
                self._share(lambda lo, hi, part, below=below, h=h, mask=mask:
                            self._scale_by_derivative(below[lo:hi], h[lo:hi], mask[lo:hi]), n, below.size)
            if optimizer is None:
                self._update(i, a, delta, learning_rate * weight_decay, momentum, nesterov)
            else:
                if self._step[i] is None:
                    self._step[i] = np.empty_like(self.layers[i])
                np.matmul(a.T, delta, out=self._step[i])  # the gradient itself
            delta = below
        if optimizer is not None:
            optimizer.step(self.parameter_pairs(), learning_rate)

    def _softmax_delta(self, n: int, scale: float) -> np.ndarray:
        """The softmax's gradient exp / sum - onehot, already scaled (by lr / n: every product below
        is then a step), written over the logits of the last :meth:`forward`."""
        top, v = self._top[:n], self._plain
        np.divide(scale, top, out=top)
        if v is not None:  # the plain forward's transposed logits
            np.multiply(v.logits_t, top, out=v.logits_t)
            v.flat[v.index] -= scale
            return v.logits_t.T
        delta = self._logits[:n]
        delta *= top[:, None]
        delta[self._rows[:n], self._labels] -= scale
        return delta

    def parameter_pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(parameter, gradient)`` views in the order ``W1, b1, W2, b2, ...`` (an optimiser's protocol),
        the gradients being those of the last :meth:`backward` that had an optimizer."""
        if self._pairs is None:
            for i, p in enumerate(self.layers):
                if self._step[i] is None:
                    self._step[i] = np.empty_like(p)
            self._pairs = [pair for p, g in zip(self.layers, self._step) for pair in ((p[:-1], g[:-1]), (p[-1], g[-1]))]
        return self._pairs

    def _drop_out(self, k: int, values: np.ndarray, rate: float) -> bool:
        """Apply a fresh inverted-dropout mask to layer input ``k`` (0: the pixels) when ``rate`` is on."""
        if not rate:
            return False
        if self.rng is None:
            raise ValueError("dropout needs a random generator: set TrainStep.rng")
        mask = draw_mask(self.rng, rate, self._drop[k][:len(values)])
        if k > 0 and self.network.activation != "relu":  # the derivative needs the output before dropout
            if self._kept[k] is None:
                self._kept[k] = np.empty_like(self._drop[k])
            np.copyto(self._kept[k][:len(values)], values)
        values *= mask
        return True
