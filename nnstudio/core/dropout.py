"""Inverted dropout (Srivastava et al. 2014): during training each unit is kept with
probability ``1 - rate`` and the kept ones are scaled by ``1 / (1 - rate)``, so the expected
input of the next layer is unchanged and nothing needs rescaling at evaluation, where dropout
is simply off (``Network.predict``, ``Network.evaluate`` never drop anything).

A mask is a float array of ``0`` and ``1 / (1 - rate)``; the forward pass multiplies a layer's
output by it and the backward pass multiplies the delta arriving at that layer by the same mask.
:func:`masked_loss` and :func:`masked_gradients` are the textbook versions, for checks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The largest dropout rate accepted (a rate of 1 would drop everything).
MAX_RATE = 0.9


def draw_mask(rng: np.random.Generator, rate: float, out: np.ndarray) -> np.ndarray:
    """Fill float ``out`` with a fresh inverted-dropout mask: 0 with probability ``rate``, else ``1 / (1 - rate)``."""
    keep = 1.0 - rate
    dtype = out.dtype.type
    rng.random(out=out, dtype=dtype)
    out += dtype(keep)  # u + keep >= 1 exactly when u >= rate: kept with probability keep
    np.floor(out, out=out)
    out *= dtype(1 / keep)
    return out


def masks_for(rng: np.random.Generator, sizes: Sequence[int], n: int, rate: float, input_rate: float,
              dtype=np.float32) -> list[np.ndarray | None]:
    """One mask per layer input of a network of layer ``sizes`` for a batch of ``n``: the input's
    (``input_rate``), then each hidden layer's (``rate``); ``None`` where that rate is 0."""
    rates = [input_rate] + [rate] * (len(sizes) - 2)
    return [draw_mask(rng, r, np.empty((n, s), dtype)) if r else None for r, s in zip(rates, sizes[:-1])]


def masked_loss(network, x: np.ndarray, labels: np.ndarray, masks: Sequence[np.ndarray | None]) -> float:
    """Mean cross-entropy of a batch with the given dropout masks applied (the textbook forward pass)."""
    return _forward(network, x, labels, masks)[0]


def masked_gradients(network, x: np.ndarray, labels: np.ndarray, masks: Sequence[np.ndarray | None]):
    """``(loss, weight_grads, bias_grads)`` of a batch with fixed dropout masks (textbook backprop)."""
    loss, outputs, probabilities = _forward(network, x, labels, masks)
    n = len(labels)
    delta = probabilities
    delta[np.arange(n), labels] -= 1
    delta /= n
    weight_grads, bias_grads = [None] * len(network.weights), [None] * len(network.weights)
    for i in range(len(network.weights) - 1, -1, -1):
        weight_grads[i] = outputs[i].T @ delta
        bias_grads[i] = delta.sum(axis=0)
        if i > 0:
            delta = delta @ network.weights[i].T
            if masks[i] is not None:
                delta = delta * masks[i]
            h = outputs[i] if masks[i] is None else np.where(masks[i] > 0, outputs[i] / np.where(masks[i] > 0, masks[i], 1), 0)
            if network.activation == "relu":
                delta = delta * (h > 0)
            elif network.activation == "tanh":
                delta = delta * (1 - h * h)
            else:
                delta = delta * h * (1 - h)
    return loss, weight_grads, bias_grads


def _forward(network, x, labels, masks):
    outputs = [x * masks[0] if masks[0] is not None else x]
    last = len(network.weights) - 1
    for i, (w, b) in enumerate(zip(network.weights, network.biases)):
        z = outputs[-1] @ w + b
        if i < last:
            network._activate(z)
            if masks[i + 1] is not None:
                z = z * masks[i + 1]
        outputs.append(z)
    z = outputs[-1] - outputs[-1].max(axis=1, keepdims=True)
    exp = np.exp(z)
    total = exp.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(total[:, 0]) - z[np.arange(len(labels)), labels]))
    return loss, outputs, exp / total
