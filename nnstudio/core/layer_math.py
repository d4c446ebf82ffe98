"""A network's layers one by one, for looking inside: every pre-activation and output kept,
gradients to the weights and to the input.

Independent of :class:`~nnstudio.core.network.Network`'s fast training path (which works in
place): it reads only ``weights``, ``biases`` and ``activation``, allocates fresh arrays, and
can run in float64 for gradient checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def activate(z: np.ndarray, activation: str) -> np.ndarray:
    """A hidden layer's activation function, on a fresh array."""
    if activation == "relu":
        return np.maximum(z, 0)
    if activation == "tanh":
        return np.tanh(z)
    return 1 / (1 + np.exp(-np.clip(z, -80, 80)))


def derivative(h: np.ndarray, activation: str) -> np.ndarray:
    """The activation's derivative, written in terms of its output ``h``."""
    if activation == "relu":
        return (h > 0).astype(h.dtype)
    if activation == "tanh":
        return 1 - h * h
    return h * (1 - h)


@dataclass(frozen=True)
class Pass:
    """A forward pass of a batch: ``sums[l]`` is layer ``l+1``'s weighted sum plus bias,
    ``outputs[0]`` the input and ``outputs[l]`` layer ``l``'s output (the last: the logits)."""

    sums: tuple[np.ndarray, ...]
    outputs: tuple[np.ndarray, ...]

    @property
    def logits(self) -> np.ndarray:
        return self.outputs[-1]


def forward(network, x: np.ndarray, dtype: np.dtype | type | None = None) -> Pass:
    """Run float rows ``x`` ``(n, inputs)`` through ``network`` keeping every layer;
    ``dtype`` (default: the network's) sets the arithmetic's precision."""
    dtype = np.dtype(dtype or network.dtype)
    h = np.asarray(x, dtype=dtype)
    sums, outputs = [], [h]
    last = len(network.weights) - 1
    for i, (w, b) in enumerate(zip(network.weights, network.biases)):
        z = h @ w.astype(dtype, copy=False) + b.astype(dtype, copy=False)
        sums.append(z)
        h = activate(z, network.activation) if i < last else z
        outputs.append(h)
    return Pass(tuple(sums), tuple(outputs))


def backward(network, run: Pass, delta: np.ndarray, *, to_input: bool = False,
             weights: bool = True) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Backpropagate ``delta`` (the gradient with respect to the logits, ``(n, classes)``).

    Returns the gradient with respect to every weight matrix (``[]`` when ``weights`` is
    False) and, when ``to_input``, with respect to the input rows.
    """
    grads: list[np.ndarray] = [None] * len(network.weights)  # type: ignore[list-item]
    dtype = delta.dtype
    for i in range(len(network.weights) - 1, -1, -1):
        if weights:
            grads[i] = run.outputs[i].T @ delta
        if i > 0 or to_input:
            delta = delta @ network.weights[i].T.astype(dtype, copy=False)
            if i > 0:
                delta *= derivative(run.outputs[i], network.activation)
    return (grads if weights else []), (delta if to_input else None)


def cross_entropy_delta(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The gradient of the batch's mean softmax cross-entropy with respect to the logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1
    p /= len(labels)
    return p
