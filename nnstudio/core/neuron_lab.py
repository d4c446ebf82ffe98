"""Neuron lab: edit one neuron of a network and see what it was worth.

Every edit is a pure function: it returns a new network and leaves the one given alone.
Layers are numbered as in ``network.sizes`` (1: the first hidden layer, the last: the
output layer); a unit's incoming weights are column ``unit`` of ``weights[layer - 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EDITS = ("off", "scale", "shift")


@dataclass(frozen=True)
class NeuronEdit:
    """``off``: the unit is removed (output 0 and no effect downstream); ``scale``: its
    incoming weights times ``value``; ``shift``: ``value`` added to its bias."""

    kind: str
    layer: int
    unit: int
    value: float = 0.0

    def describe(self) -> str:
        where = f"unit {self.unit} of layer {self.layer}"
        if self.kind == "off":
            return f"{where} switched off"
        if self.kind == "scale":
            return f"{where}: incoming weights × {self.value:g}"
        return f"{where}: bias {self.value:+g}"


def _check(network, layer: int, unit: int) -> None:
    if not 1 <= layer < len(network.sizes) or not 0 <= unit < network.sizes[layer]:
        raise ValueError(f"no unit {unit} in layer {layer} of a network of sizes {tuple(network.sizes)}")


def switch_off(network, layer: int, unit: int):
    """A copy of ``network`` with the unit silenced: its incoming weights and bias are zero (so a
    ReLU or tanh unit outputs 0) and its outgoing weights are zero (so it has no effect downstream,
    whatever the activation)."""
    _check(network, layer, unit)
    twin = network.copy()
    twin.weights[layer - 1][:, unit] = 0
    twin.biases[layer - 1][unit] = 0
    if layer < len(twin.weights):
        twin.weights[layer][unit, :] = 0
    return twin


def scale_incoming(network, layer: int, unit: int, factor: float):
    """A copy of ``network`` with the unit's incoming weights multiplied by ``factor``."""
    _check(network, layer, unit)
    if not np.isfinite(factor):
        raise ValueError(f"the scale factor must be a finite number, got {factor}")
    twin = network.copy()
    twin.weights[layer - 1][:, unit] *= factor
    return twin


def shift_bias(network, layer: int, unit: int, amount: float):
    """A copy of ``network`` with ``amount`` added to the unit's bias."""
    _check(network, layer, unit)
    if not np.isfinite(amount):
        raise ValueError(f"the bias shift must be a finite number, got {amount}")
    twin = network.copy()
    twin.biases[layer - 1][unit] += amount
    return twin


def apply_edit(network, edit: NeuronEdit):
    if edit.kind == "off":
        return switch_off(network, edit.layer, edit.unit)
    if edit.kind == "scale":
        return scale_incoming(network, edit.layer, edit.unit, edit.value)
    if edit.kind == "shift":
        return shift_bias(network, edit.layer, edit.unit, edit.value)
    raise ValueError(f"an edit is one of {', '.join(EDITS)}, not {edit.kind!r}")


def apply_edits(network, edits) -> object:
    """``network`` with ``edits`` applied in order (a copy even when there are none)."""
    edited = network.copy()
    for edit in edits:
        edited = apply_edit(edited, edit)
    return edited


def accuracy(network, x: np.ndarray, labels: np.ndarray, *, chunk: int = 2500) -> float:
    """The share of rows of ``x`` (uint8 pixels or floats in [0, 1]) that ``network`` classifies
    as ``labels`` say: the forward pass only, in chunks, in the network's precision."""
    n = len(x)
    if n == 0:
        return float("nan")
    dtype = network.dtype
    last = len(network.weights) - 1
    correct = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, n, chunk):
            rows = np.asarray(x[start:start + chunk]).reshape(-1, network.sizes[0])
            h = rows.astype(dtype)
            if rows.dtype == np.uint8:
                h *= dtype.type(1 / 255)
            for i, (w, b) in enumerate(zip(network.weights, network.biases)):
                h = h @ w
                h += b
                if i < last:
                    _activate(h, network.activation)
            correct += int(np.count_nonzero(h.argmax(axis=1) == labels[start:start + chunk]))
    return correct / n


def _activate(z: np.ndarray, activation: str) -> None:
    if activation == "relu":
        np.maximum(z, 0, out=z)
    elif activation == "tanh":
        np.tanh(z, out=z)
    else:
        np.negative(z, out=z)
        np.clip(z, -80, 80, out=z)
        np.exp(z, out=z)
        z += 1
        np.reciprocal(z, out=z)
