"""Softmax with a temperature: how sure the network's scores make it.

``softmax(z, T) = exp(z / T) / sum(exp(z / T))``. At T = 1 these are the network's own
probabilities; a higher temperature flattens them towards equal odds, a lower one sharpens
them towards all-or-nothing. The ranking of the classes never changes.
"""

from __future__ import annotations

import numpy as np

MIN_TEMPERATURE = 0.05
MAX_TEMPERATURE = 20.0


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Probabilities from logits along the last axis, numerically stable for any scale."""
    if not temperature > 0:
        raise ValueError(f"the temperature must be above 0, got {temperature}")
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def explain_temperature(temperature: float) -> str:
    """One line for the user on what this temperature does to the bars."""
    if abs(temperature - 1) < 1e-9:
        return "Temperature 1: the network's own probabilities."
    if temperature > 1:
        return (f"Temperature {temperature:.2g}: scores divided by {temperature:.2g} before softmax, "
                "so the bars even out (less sure); the ranking stays.")
    return (f"Temperature {temperature:.2g}: scores multiplied by {1 / temperature:.2g} before softmax, "
            "so the top bar takes more (surer); the ranking stays.")
