"""The multilayer perceptron: layers of weights, a forward pass and backpropagation.

Weights are stored as ``(fan_in, fan_out)`` matrices so a batch of row vectors goes
through a layer as ``x @ W + b``. The output layer is linear; softmax and
cross-entropy are fused in :meth:`Network.backprop` for numerical stability.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ACTIVATIONS = ("relu", "tanh", "sigmoid")


class Network:
    """An MLP with ReLU (or tanh, sigmoid) hidden layers and a softmax output.

    ``sizes`` lists every layer's width, input first: ``(784, 128, 64, 10)``.
    Weights start from He initialisation (variance 2/fan_in) for ReLU and from
    LeCun initialisation (variance 1/fan_in) for tanh and sigmoid; biases start at zero.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        *,
        seed: int | np.random.Generator = 0,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or any(s < 1 for s in sizes):
            raise ValueError(f"layer sizes must be two or more positive integers, got {sizes}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        self.sizes = sizes
        self.activation = activation
        self.dtype = np.dtype(dtype)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        gain = 2.0 if activation == "relu" else 1.0
        self.weights = [
            (rng.standard_normal((fan_in, fan_out)) * np.sqrt(gain / fan_in)).astype(self.dtype)
            for fan_in, fan_out in zip(sizes[:-1], sizes[1:])
        ]
        self.biases = [np.zeros(fan_out, dtype=self.dtype) for fan_out in sizes[1:]]
        self.packed_layers()

    # -- the algorithm's steps -------------------------------------------------------------

    def feedforward(self, x: np.ndarray) -> list[np.ndarray]:
        """Return every layer's output for the batch ``x``: ``[x, h1, ..., logits]``."""
        outputs = [x]
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = outputs[-1] @ w
            z += b
            if i < last:
                self._activate(z)
            outputs.append(z)
        return outputs

    def backprop(self, outputs: list[np.ndarray], labels: np.ndarray) -> tuple[float, int, list[np.ndarray], list[np.ndarray]]:
        """Backpropagate the mean softmax cross-entropy of a batch.

        Returns ``(loss, correct, weight_grads, bias_grads)``, where ``loss`` is the batch's
        mean cross-entropy and ``correct`` how many rows the logits classify right. The
        logits in ``outputs`` are overwritten (they become the loss's gradient).
        """
        logits = outputs[-1]
        n = logits.shape[0]
        rows = np.arange(n)
        correct = int(np.count_nonzero(logits.argmax(axis=1) == labels))
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        total = exp.sum(axis=1, keepdims=True)
        loss = float(np.log(total).sum() - logits[rows, labels].sum()) / n
        delta = exp
        delta /= total
        delta[rows, labels] -= 1.0
        delta /= n
        weight_grads: list[np.ndarray] = [None] * len(self.weights)  # type: ignore[list-item]
        bias_grads: list[np.ndarray] = [None] * len(self.weights)  # type: ignore[list-item]
        for i in range(len(self.weights) - 1, -1, -1):
            weight_grads[i] = outputs[i].T @ delta
            bias_grads[i] = delta.sum(axis=0)
            if i > 0:
                delta = delta @ self.weights[i].T
                self._scale_by_derivative(delta, outputs[i])
        return loss, correct, weight_grads, bias_grads

    # -- inference ---------------------------------------------------------------------------

    def logits(self, x: np.ndarray) -> np.ndarray:
        """The output layer before softmax, for a batch of rows ``(n, inputs)`` or images ``(n, h, w)``;
        uint8 pixels are scaled to [0, 1] as in training."""
        return self.feedforward(as_inputs(x, self.dtype))[-1]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, shape ``(n, classes)``; a single vector gives ``(1, classes)``."""
        z = self.logits(np.atleast_2d(x))
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The most probable class of each row."""
        return self.logits(np.atleast_2d(x)).argmax(axis=1)

    def evaluate(self, x: np.ndarray, labels: np.ndarray, *, chunk: int = 2000,
                 scratch: dict | None = None) -> tuple[float, float]:
        """Mean cross-entropy and accuracy over a data set; ``x`` may be uint8 pixels (scaled by 1/255).

        Each chunk's inputs and layer outputs are written into arrays made once per call, or kept
        in ``scratch`` (a dict the caller owns, one per thread) from call to call: a fresh
        megabyte-sized array costs its page faults again each time (a third of a validation pass)."""
        scratch = {} if scratch is None else scratch
        total_loss = 0.0
        correct = 0
        for start in range(0, len(x), chunk):
            rows = x[start : start + chunk]
            xb = as_inputs(rows, self.dtype, out=_scratch(scratch, "inputs", (len(rows), self.sizes[0]), self.dtype))
            yb = labels[start : start + chunk]
            z = self._feedforward_into(xb, scratch)
            correct += int(np.count_nonzero(z.argmax(axis=1) == yb))
            z -= z.max(axis=1, keepdims=True)
            log_total = np.log(np.exp(z).sum(axis=1))
            total_loss += float(log_total.sum() - z[np.arange(len(yb)), yb].sum())
        n = max(len(x), 1)
        return total_loss / n, correct / n

    def _feedforward_into(self, x: np.ndarray, scratch: dict) -> np.ndarray:
        """The logits of :meth:`feedforward`, to the bit, each layer written into ``scratch``'s arrays."""
        z, last = x, len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = np.matmul(z, w, out=_scratch(scratch, ("layer", i), (len(x), w.shape[1]), self.dtype))
            z += b
            if i < last:
                self._activate(z)
        return z

    def loss(self, x: np.ndarray, labels: np.ndarray) -> float:
        """Mean cross-entropy of a batch of float inputs (used by the gradient check)."""
        z = self.logits(x)
        z = z - z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(labels)), labels]))

    # -- parameters --------------------------------------------------------------------------

    def parameters(self) -> list[np.ndarray]:
        """Weights and biases interleaved: ``[W1, b1, W2, b2, ...]`` (the arrays themselves)."""
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    def copy_parameters(self) -> list[np.ndarray]:
        return [p.copy() for p in self.parameters()]

    def set_parameters(self, params: Sequence[np.ndarray]) -> None:
        """Copy ``params`` (as from :meth:`copy_parameters`) into this network's arrays."""
        mine = self.parameters()
        if len(params) != len(mine) or any(p.shape != m.shape for p, m in zip(params, mine)):
            raise ValueError("parameters do not match this network's layer sizes")
        for m, p in zip(mine, params):
            m[...] = p

    def copy(self) -> "Network":
        twin = Network.__new__(Network)
        twin.sizes, twin.activation, twin.dtype = self.sizes, self.activation, self.dtype
        twin.weights = [w.copy() for w in self.weights]
        twin.biases = [b.copy() for b in self.biases]
        return twin

    def packed_layers(self) -> list[np.ndarray]:
        """Each layer as one array ``(fan_in + 1, fan_out)``: its weights, and its biases as the last row.

        ``weights[i]`` and ``biases[i]`` are views of these arrays, so a batch with a column of
        ones appended goes through a layer in one product, ``[x, 1] @ packed = x @ W + b``, and one
        update of a packed array updates both. A network whose arrays were replaced (a model
        file's loader builds it so) is packed again here, its values kept.
        """
        packed = getattr(self, "_packed", None)
        if packed is None or len(packed) != len(self.weights) or any(
                w.base is not p or b.base is not p for p, w, b in zip(packed, self.weights, self.biases)):
            packed = [np.concatenate([w, b[None, :]]).astype(self.dtype, copy=False)
                      for w, b in zip(self.weights, self.biases)]
            self.weights = [p[:-1] for p in packed]
            self.biases = [p[-1] for p in packed]
            self._packed = packed
        return packed

    @property
    def parameter_count(self) -> int:
        return sum(p.size for p in self.parameters())

    # -- activations (in place) --------------------------------------------------------------

    def _activate(self, z: np.ndarray) -> None:
        if self.activation == "relu":  # a row of zeros: NumPy 2.4's maximum does not vectorise a scalar's broadcast
            np.maximum(z, np.zeros(z.shape[-1], z.dtype), out=z)
        elif self.activation == "tanh":
            np.tanh(z, out=z)
        else:  # sigmoid, written so large |z| neither overflows nor warns
            np.negative(z, out=z)
            np.clip(z, -80, 80, out=z)
            np.exp(z, out=z)
            z += 1
            np.reciprocal(z, out=z)

    def _scale_by_derivative(self, delta: np.ndarray, h: np.ndarray) -> None:
        """Multiply ``delta`` by the activation's derivative, written in terms of its output ``h``."""
        if self.activation == "relu":
            np.multiply(delta, h > 0, out=delta)
        elif self.activation == "tanh":
            delta *= 1 - h * h
        else:
            delta *= h * (1 - h)


def as_inputs(pixels: np.ndarray, dtype: np.dtype | type = np.float32, *, out: np.ndarray | None = None) -> np.ndarray:
    """Rows for the network: images ``(n, h, w)`` are flattened, a 1-D vector is one row, 2-D
    input is taken as rows already; uint8 pixels are scaled to [0, 1] (into ``out`` when given),
    floats pass through."""
    pixels = np.asarray(pixels)
    rows = pixels.reshape(len(pixels), -1) if pixels.ndim > 1 else pixels.reshape(1, -1)
    if rows.dtype == np.uint8:
        # A cast, then a product in place: the same floats as one mixed-type multiply, in under
        # half its time (NumPy runs a uint8-by-float product through a buffered cast).
        out = np.empty(rows.shape, dtype) if out is None else out
        np.copyto(out, rows)
        np.multiply(out, out.dtype.type(1 / 255), out=out)
        return out
    return rows.astype(dtype, copy=False)


def _scratch(scratch: dict, key, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """``scratch[key]`` cut to ``shape``, made (again) when missing or too small."""
    buffer = scratch.get(key)
    if buffer is None or len(buffer) < shape[0] or buffer.shape[1:] != shape[1:] or buffer.dtype != dtype:
        buffer = scratch[key] = np.empty(shape, dtype)
    return buffer[:shape[0]]
