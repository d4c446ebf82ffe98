"""Optimisers: how a gradient becomes a step, with one protocol for all of them.

Each optimiser takes ``step(pairs, learning_rate)``: ``pairs`` is a sequence of
``(parameter, gradient)`` arrays, always in the same order, and the parameters are updated
in place (a gradient may be used as scratch). Weight decay applies to matrices (weights),
never to vectors (biases). ``reset()`` forgets the accumulated state (velocities, moments),
``state()`` returns it as plain arrays for a checkpoint and ``load_state()`` restores it.

- :class:`SGD`: gradient descent with optional momentum, classic or Nesterov, and L2 decay —
  exactly the trainer's update of version 0.1.
- :class:`Adam` (Kingma & Ba 2015), with L2 decay added to the gradient.
- :class:`AdamW` (Loshchilov & Hutter 2019): Adam with decoupled weight decay.
- :class:`RMSprop` (Hinton's lecture 6e), with optional momentum.

The learning rate is an argument of every step, so it stays live-editable; so are the
attributes (``momentum``, ``beta1``...) between steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
Pairs = Sequence[tuple[np.ndarray, np.ndarray]]


class Optimizer(Protocol):
    name: str

    def step(self, pairs: Pairs, learning_rate: float) -> None: ...

    def reset(self) -> None: ...

    def state(self) -> dict[str, np.ndarray]: ...

    def load_state(self, state: dict[str, np.ndarray]) -> None: ...


class _Stateful:
    """Slots of state arrays, one list per kind, created on the first step."""

    kinds: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._slots: dict[str, list[np.ndarray]] = {}
        self.steps = 0  # updates taken since the last reset

    def _arrays(self, kind: str, pairs: Pairs) -> list[np.ndarray]:
        arrays = self._slots.get(kind)
        if arrays is None or len(arrays) != len(pairs) or any(a.shape != p.shape for a, (p, _) in zip(arrays, pairs)):
            arrays = self._slots[kind] = [np.zeros_like(p) for p, _ in pairs]
        return arrays

    def _scratch(self, pairs: Pairs) -> list[np.ndarray]:
        return self._arrays("_scratch", pairs)

    def reset(self) -> None:
        for kind, arrays in self._slots.items():
            for a in arrays:
                a.fill(0)
        self.steps = 0

    def state(self) -> dict[str, np.ndarray]:
        out = {"steps": np.array(self.steps)}
        for kind in self.kinds:
            for k, a in enumerate(self._slots.get(kind, ())):
                out[f"{kind}{k}"] = a.copy()
        return out

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.steps = int(state.get("steps", 0))
        for kind in self.kinds:
            arrays = []
            while f"{kind}{len(arrays)}" in state:
                arrays.append(np.array(state[f"{kind}{len(arrays)}"]))
            if arrays:
                self._slots[kind] = arrays


class SGD(_Stateful):
    """``g += decay * w; g *= lr; v = momentum * v - g; w += v`` (Nesterov: ``w += momentum * v - g``)."""

    name = "sgd"
    kinds = ("velocity",)

    def __init__(self, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__()
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay

    def step(self, pairs: Pairs, learning_rate: float) -> None:
        decay, momentum = self.weight_decay, self.momentum
        velocities = self._arrays("velocity", pairs) if momentum else None
        for k, (param, grad) in enumerate(pairs):
            if decay and param.ndim > 1:  # weights decay, biases do not
                grad += decay * param
            grad *= learning_rate
            if momentum:
                velocity = velocities[k]
                velocity *= momentum
                velocity -= grad
                if self.nesterov:
                    param += momentum * velocity
                    param -= grad
                else:
                    param += velocity
            else:
                param -= grad
        self.steps += 1


class Adam(_Stateful):
    """``m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²; w -= lr · m̂ / (√v̂ + eps)`` with the bias
    corrections ``m̂ = m / (1 - b1^t)``, ``v̂ = v / (1 - b2^t)``; L2 decay is added to ``g``."""

    name = "adam"
    kinds = ("m", "v")
    decoupled = False

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__()
        self.beta1, self.beta2, self.eps, self.weight_decay = beta1, beta2, eps, weight_decay

    def step(self, pairs: Pairs, learning_rate: float) -> None:
        b1, b2, decay = self.beta1, self.beta2, self.weight_decay
        self.steps += 1
        t = self.steps
        step_size = learning_rate / (1 - b1 ** t)
        root_correction = 1 / np.sqrt(1 - b2 ** t)
        moments, squares, scratch = self._arrays("m", pairs), self._arrays("v", pairs), self._scratch(pairs)
        for (param, grad), m, v, tmp in zip(pairs, moments, squares, scratch):
            dtype = param.dtype.type
            if decay and param.ndim > 1:
                if self.decoupled:
                    param *= dtype(1 - learning_rate * decay)
                else:
                    np.multiply(param, dtype(decay), out=tmp)
                    grad += tmp
            m *= dtype(b1)
            np.multiply(grad, dtype(1 - b1), out=tmp)
            m += tmp
            v *= dtype(b2)
            np.multiply(grad, grad, out=tmp)
            tmp *= dtype(1 - b2)
            v += tmp
            np.sqrt(v, out=tmp)
            tmp *= dtype(root_correction)
            tmp += dtype(self.eps)
            np.divide(m, tmp, out=tmp)
            tmp *= dtype(step_size)
            param -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay: ``w -= lr · decay · w`` beside the Adam step, not in ``g``."""

    name = "adamw"
    decoupled = True


class RMSprop(_Stateful):
    """``v = rho v + (1-rho) g²; w -= lr · g / (√v + eps)``; with momentum, the step is averaged
    as ``b = momentum · b + g / (√v + eps); w -= lr · b``. L2 decay is added to ``g``."""

    name = "rmsprop"
    kinds = ("v", "buffer")

    def __init__(self, rho: float = 0.99, eps: float = 1e-8, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__()
        self.rho, self.eps, self.momentum, self.weight_decay = rho, eps, momentum, weight_decay

    def step(self, pairs: Pairs, learning_rate: float) -> None:
        rho, decay, momentum = self.rho, self.weight_decay, self.momentum
        squares, scratch = self._arrays("v", pairs), self._scratch(pairs)
        buffers = self._arrays("buffer", pairs) if momentum else None
        for k, ((param, grad), v, tmp) in enumerate(zip(pairs, squares, scratch)):
            dtype = param.dtype.type
            if decay and param.ndim > 1:
                np.multiply(param, dtype(decay), out=tmp)
                grad += tmp
            v *= dtype(rho)
            np.multiply(grad, grad, out=tmp)
            tmp *= dtype(1 - rho)
            v += tmp
            np.sqrt(v, out=tmp)
            tmp += dtype(self.eps)
            np.divide(grad, tmp, out=tmp)
            if momentum:
                b = buffers[k]
                b *= dtype(momentum)
                b += tmp
                np.multiply(b, dtype(learning_rate), out=tmp)
            else:
                tmp *= dtype(learning_rate)
            param -= tmp
        self.steps += 1


def make_optimizer(config) -> Optimizer:
    """The optimiser a :class:`~nnstudio.core.config.TrainingConfig` names, with its settings."""
    name = config.optimizer
    if name == "sgd":
        return SGD(config.momentum, config.nesterov, config.weight_decay)
    if name == "adam":
        return Adam(config.beta1, config.beta2, config.eps, config.weight_decay)
    if name == "adamw":
        return AdamW(config.beta1, config.beta2, config.eps, config.weight_decay)
    if name == "rmsprop":
        return RMSprop(config.beta2, config.eps, config.momentum, config.weight_decay)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")
