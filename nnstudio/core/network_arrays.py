"""The one way to build a :class:`~nnstudio.core.network.Network` from arrays already in hand
(a model file's, a copy's, a fine-tuned layer's), checking that they chain into an MLP."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnstudio.core.network import ACTIVATIONS, Network


def network_from_arrays(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], activation: str = "relu",
                        *, dtype: np.dtype | type | None = None, copy: bool = True) -> Network:
    """A network whose layer ``i`` maps by ``weights[i]`` (fan_in × fan_out) and ``biases[i]`` (fan_out).

    The arrays are copied unless ``copy`` is False (then they are used as they are when already of
    ``dtype``). Raises ValueError when they do not chain into an MLP or the activation is unknown.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    if not weights or len(weights) != len(biases):
        raise ValueError(f"need one bias per weight matrix and at least one layer, got {len(weights)} and "
                         f"{len(biases)}")
    weights = [np.asarray(w) for w in weights]
    biases = [np.asarray(b) for b in biases]
    sizes = [weights[0].shape[0] if weights[0].ndim == 2 else -1]
    for i, (w, b) in enumerate(zip(weights, biases)):
        if w.ndim != 2 or w.shape[0] != sizes[-1] or b.shape != (w.shape[1],):
            raise ValueError(f"layer {i}: weights {w.shape} and biases {b.shape} do not follow a layer of "
                             f"{sizes[-1]}")
        sizes.append(w.shape[1])
    dtype = np.dtype(dtype if dtype is not None else weights[0].dtype)
    network = Network.__new__(Network)
    network.sizes, network.activation, network.dtype = tuple(int(s) for s in sizes), activation, dtype
    network.weights = [w.astype(dtype, copy=copy) for w in weights]
    network.biases = [b.astype(dtype, copy=copy) for b in biases]
    return network
