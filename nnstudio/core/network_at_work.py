"""The network at work on one input: what each layer does with it, ready to draw.

For a diagram input → hidden layers → outputs: every layer's activations; for wide layers
only the most active units (the rest counted, "+N more"); between consecutive layers the
connections that contribute most to the next layer's weighted sums (weight × the source's
activation, signed). And, for one neuron, the detail an inspector shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnstudio.core.shared_pass import shared_forward
from nnstudio.core.softmax import softmax

MAX_UNITS = 16  # units drawn per layer; wider layers show their most active ones
MAX_CONNECTIONS = 24  # connections drawn between two layers
STRONGEST_INPUTS = 8


@dataclass(frozen=True, eq=False)
class LayerActivity:
    """Layer ``index`` (0: the input, last: the output's logits)."""

    index: int
    values: np.ndarray  # every unit's output (the logits for the output layer)
    shown: np.ndarray  # the units drawn, in index order: all, or the most active ones

    @property
    def size(self) -> int:
        return len(self.values)

    @property
    def more(self) -> int:
        """How many units are not drawn ("+N more")."""
        return self.size - len(self.shown)


@dataclass(frozen=True, eq=False)
class Connections:
    """The strongest connections from layer ``layer`` to layer ``layer + 1``, strongest first."""

    layer: int
    sources: np.ndarray  # unit indices in layer ``layer`` (each among its shown units)
    targets: np.ndarray  # unit indices in layer ``layer + 1`` (each among its shown units)
    contributions: np.ndarray  # weight × source activation: its share of the target's weighted sum


@dataclass(frozen=True, eq=False)
class NetworkActivity:
    layers: tuple[LayerActivity, ...]
    connections: tuple[Connections, ...]
    probabilities: np.ndarray

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))


def most_active(values: np.ndarray, k: int, activation: str = "relu") -> np.ndarray:
    """The indices of the ``k`` most active units, in index order (all of them if ``k`` covers them).

    Activity is the output itself for ReLU and sigmoid, its magnitude for tanh (and logits)."""
    if len(values) <= k:
        return np.arange(len(values))
    score = np.abs(values) if activation == "tanh" else values
    return np.sort(np.argpartition(-score, k - 1)[:k])


def network_activity(network, x: np.ndarray, *, max_units: int = MAX_UNITS,
                     max_connections: int = MAX_CONNECTIONS, temperature: float = 1.0) -> NetworkActivity:
    """What ``network`` does with the input ``x`` (floats in [0, 1], ``inputs`` values in any shape)."""
    run = shared_forward(network, x)
    outputs = [h[0] for h in run.outputs]
    last = len(outputs) - 1
    layers = []
    for i, h in enumerate(outputs):
        kind = "relu" if i == 0 else ("tanh" if i == last else network.activation)
        layers.append(LayerActivity(i, h, most_active(h, max_units, kind)))
    links = []
    for i, w in enumerate(network.weights):
        src, tgt = layers[i].shown, layers[i + 1].shown
        c = outputs[i][src, None] * w[np.ix_(src, tgt)]
        flat = c.ravel()
        k = min(max_connections, flat.size)
        top = np.argpartition(-np.abs(flat), k - 1)[:k] if k < flat.size else np.arange(flat.size)
        top = top[np.argsort(-np.abs(flat[top]), kind="stable")]
        top = top[flat[top] != 0]  # a silent source contributes nothing worth a line
        s, t = np.unravel_index(top, c.shape)
        links.append(Connections(i, src[s], tgt[t], flat[top].astype(np.float64)))
    return NetworkActivity(tuple(layers), tuple(links), softmax(outputs[-1], temperature))


@dataclass(frozen=True, eq=False)
class NeuronDetail:
    """One neuron at work: ``output = activation(weighted_sum + bias)``."""

    layer: int  # 1-based (1: the first hidden layer)
    unit: int
    weighted_sum: float  # the inputs times the incoming weights, bias excluded
    bias: float
    output: float
    incoming: np.ndarray  # the incoming weights, (fan_in,)
    contributions: np.ndarray  # each input's share of the weighted sum: weight × input
    strongest: np.ndarray  # the inputs with the largest |contribution|, largest first

    def as_image(self, values: np.ndarray, shape: tuple[int, int] = (28, 28)) -> np.ndarray | None:
        """``incoming`` or ``contributions`` as an image, for the first hidden layer."""
        return values.reshape(shape) if self.layer == 1 and values.size == shape[0] * shape[1] else None


def neuron_detail(network, x: np.ndarray, layer: int, unit: int, *, strongest: int = STRONGEST_INPUTS) -> NeuronDetail:
    """The detail of unit ``unit`` of layer ``layer`` (1-based, up to the output layer) for input ``x``."""
    if not 1 <= layer < len(network.sizes) or not 0 <= unit < network.sizes[layer]:
        raise ValueError(f"no unit {unit} in layer {layer} of a network of sizes {network.sizes}")
    run = shared_forward(network, x)
    source = run.outputs[layer - 1][0]
    incoming = network.weights[layer - 1][:, unit].astype(np.float64)
    contributions = source * incoming
    bias = float(network.biases[layer - 1][unit])
    k = min(strongest, len(contributions))
    top = np.argpartition(-np.abs(contributions), k - 1)[:k] if k < len(contributions) else np.arange(k)
    top = top[np.argsort(-np.abs(contributions[top]), kind="stable")]
    return NeuronDetail(layer, unit, float(contributions.sum()), bias,
                        float(run.outputs[layer][0, unit]), incoming, contributions, top)
