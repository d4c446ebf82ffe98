"""One step of mini-batch gradient descent, fused and free of allocations: the trainer's hot path.

:meth:`Network.backprop` is the textbook version, kept for reading and for checks;
:class:`TrainStep` computes the same update with as little work outside the matrix
products as we could manage:

- every array of a batch lives in a buffer allocated once; the products write into them;
- the learning rate and the batch mean's ``1/n`` are folded into the output layer's small
  delta, so each weight gradient ``a.T @ delta`` comes out as the step ``lr * dL/dW`` itself
  and the deltas below inherit the scale for free;
- each layer is updated as soon as its gradient and the delta below it are known, in one
  sweep over row chunks small enough to stay in cache (plain SGD reads the gradient once);
- with more than one thread, large layers' chunks are shared out over a thread pool
  (NumPy releases the GIL inside its loops). Elementwise work gives the same bits on any
  number of threads; only BLAS may sum in another order.

BLAS's own threads are the caller's to set (threadpoolctl lives outside ``nnstudio.core``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from nnstudio.core.network import Network

# Elements per chunk of an elementwise sweep: a chunk of weights, gradient and velocity stays in L2.
CHUNK = 32768
# Below this many elements a layer's update stays on the calling thread: handing it out costs more.
PARALLEL_MIN = 1 << 17


class TrainStep:
    """Trains ``network`` in place, one batch of up to ``batch_size`` rows at a time.

    Call :meth:`forward` with a batch, then (unless its loss says the run has diverged)
    :meth:`backward` to update the weights. :meth:`close` ends the thread pool, if any.
    """

    def __init__(self, network: Network, batch_size: int, *, threads: int = 1, chunk: int = CHUNK,
                 parallel_min: int = PARALLEL_MIN) -> None:
        self.network = network
        self.threads = max(1, int(threads))
        self.chunk = max(1, int(chunk))
        self.parallel_min = parallel_min
        dtype, sizes = network.dtype, network.sizes
        self._z = [np.empty((batch_size, s), dtype) for s in sizes[1:]]  # each layer's output
        self._delta = [np.empty((batch_size, s), dtype) for s in sizes[1:-1]]  # deltas of hidden layers
        self._mask = [np.empty((batch_size, s), bool) for s in sizes[1:-1]]
        self._grad_w = [np.empty_like(w) for w in network.weights]
        self._grad_b = [np.empty_like(b) for b in network.biases]
        self._top = np.empty((batch_size, 1), dtype)
        self._argmax = np.empty(batch_size, np.intp)
        self._hit = np.empty(batch_size, bool)
        self._rows = np.arange(batch_size)
        self._scratch = [np.empty(self.chunk, dtype) for _ in range(self.threads)]
        self._pool = ThreadPoolExecutor(self.threads - 1, "nnstudio-step") if self.threads > 1 else None
        self._x: np.ndarray | None = None
        self._labels: np.ndarray | None = None

    def close(self) -> None:
        """End the helper threads (they are idle between batches); the step still works on one thread."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    # -- the two halves of a step ---------------------------------------------------------------

    def forward(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, int]:
        """Feed a batch forward; returns its mean cross-entropy and how many rows it classifies right.

        The layer outputs stay in the step's buffers for :meth:`backward`.
        """
        net = self.network
        n = len(x)
        last = len(net.weights) - 1
        a = x
        for i, (w, b) in enumerate(zip(net.weights, net.biases)):
            z = self._z[i][:n]
            np.matmul(a, w, out=z)
            z += b
            if i < last:
                net._activate(z)
            a = z
        logits, top, rows = a, self._top[:n], self._rows[:n]
        np.argmax(logits, axis=1, out=self._argmax[:n])
        correct = int(np.count_nonzero(np.equal(self._argmax[:n], labels, out=self._hit[:n])))
        np.maximum.reduce(logits, axis=1, keepdims=True, out=top)
        logits -= top
        picked = logits[rows, labels]
        np.exp(logits, out=logits)
        np.add.reduce(logits, axis=1, keepdims=True, out=top)
        loss = float(np.log(top).sum() - picked.sum()) / n
        self._x, self._labels = x, labels
        return loss, correct

    def backward(self, learning_rate: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, velocities: list[np.ndarray] | None = None) -> None:
        """Backpropagate the batch of the last :meth:`forward` and update the network in place.

        The update is gradient descent with optional momentum (classic or Nesterov, velocities
        interleaved as ``[vW1, vb1, vW2, ...]`` like :meth:`Network.parameters`) and L2 weight
        decay on the weights, exactly as the textbook writes it:
        ``g += decay * w; v = momentum * v - lr * g; w += v`` (Nesterov: ``w += momentum * v - lr * g``).
        """
        net = self.network
        x, labels = self._x, self._labels
        n = len(x)
        rows = self._rows[:n]
        # The softmax's gradient, already scaled by lr / n: every product below is a step, not a gradient.
        delta = self._z[-1][:n]
        delta /= self._top[:n]
        delta[rows, labels] -= 1.0
        delta *= learning_rate / n
        decay = learning_rate * weight_decay
        for i in range(len(net.weights) - 1, -1, -1):
            a = x if i == 0 else self._z[i - 1][:n]
            np.matmul(a.T, delta, out=self._grad_w[i])
            np.add.reduce(delta, axis=0, out=self._grad_b[i])
            if i > 0:  # the delta below needs this layer's weights before they change
                below = self._delta[i - 1][:n]
                np.matmul(delta, net.weights[i].T, out=below)
                self._scale_by_derivative(below, a, self._mask[i - 1][:n])
                delta = below
            v_w = v_b = None
            if momentum and velocities is not None:
                v_w, v_b = velocities[2 * i], velocities[2 * i + 1]
            self._update(net.weights[i], self._grad_w[i], v_w, momentum, nesterov, decay)
            self._update(net.biases[i], self._grad_b[i], v_b, momentum, nesterov, 0.0)

    # -- elementwise work -----------------------------------------------------------------------

    def _scale_by_derivative(self, delta: np.ndarray, h: np.ndarray, mask: np.ndarray) -> None:
        if self.network.activation == "relu":
            np.greater(h, 0, out=mask)
            np.multiply(delta, mask, out=delta)
        else:
            self.network._scale_by_derivative(delta, h)

    def _update(self, param: np.ndarray, step: np.ndarray, velocity: np.ndarray | None,
                momentum: float, nesterov: bool, decay: float) -> None:
        """``param`` takes ``step`` (= lr * gradient), over row chunks, on one or more threads."""
        p, s = param.reshape(-1), step.reshape(-1)
        v = velocity.reshape(-1) if velocity is not None else None
        size = p.size
        parts = self.threads if self._pool is not None and size >= self.parallel_min else 1
        if parts == 1:
            self._update_range(p, s, v, momentum, nesterov, decay, 0, size, self._scratch[0])
            return
        bounds = [size * k // parts for k in range(parts + 1)]
        futures = [self._pool.submit(self._update_range, p, s, v, momentum, nesterov, decay,
                                     bounds[k], bounds[k + 1], self._scratch[k]) for k in range(1, parts)]
        self._update_range(p, s, v, momentum, nesterov, decay, bounds[0], bounds[1], self._scratch[0])
        for future in futures:
            future.result()

    def _update_range(self, p: np.ndarray, s: np.ndarray, v: np.ndarray | None, momentum: float,
                      nesterov: bool, decay: float, start: int, stop: int, scratch: np.ndarray) -> None:
        moving = v is not None and momentum
        # One pass (plain SGD) needs no chunks; several passes stay in cache chunk by chunk.
        step = self.chunk if decay or moving else max(stop - start, 1)
        for lo in range(start, stop, step):
            hi = min(lo + step, stop)
            pc, sc = p[lo:hi], s[lo:hi]
            tmp = scratch[:hi - lo]
            if decay:  # the step of the L2 term: lr * decay * w
                np.multiply(pc, decay, out=tmp)
                sc += tmp
            if not moving:
                pc -= sc
                continue
            vc = v[lo:hi]
            vc *= momentum
            vc -= sc
            if nesterov:
                np.multiply(vc, momentum, out=tmp)
                pc += tmp
                pc -= sc
            else:
                pc += vc
