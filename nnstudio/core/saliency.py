"""Saliency: which input pixels push a digit's score up or down.

The map of a class is the gradient of its logit (the output before softmax) with respect
to each input pixel: a positive value means more ink there would raise that digit's score.
Shown for the predicted digit and the runner-up, side by side, it tells which pixels made
the network say 7 rather than 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnstudio.core.layer_math import Pass, backward, forward
from nnstudio.core.shared_pass import shared_forward
from nnstudio.core.softmax import softmax


@dataclass(frozen=True, eq=False)
class Saliency:
    """The saliency of one input for its two most probable classes."""

    predicted: int
    runner_up: int
    probabilities: np.ndarray  # (classes,)
    predicted_map: np.ndarray  # d logit[predicted] / d input, shaped like the image
    runner_up_map: np.ndarray

    @property
    def difference_map(self) -> np.ndarray:
        """d (logit[predicted] - logit[runner_up]) / d input: what separates the two."""
        return self.predicted_map - self.runner_up_map


def logit_gradients(network, x: np.ndarray, classes, dtype=None, *, run: Pass | None = None) -> np.ndarray:
    """The gradient of each of ``classes``' logits with respect to the input row ``x`` (float,
    ``inputs`` values): shape ``(len(classes), inputs)``, in ``dtype`` (default: the network's).
    ``run``: the forward pass of ``x`` in that precision, if already computed."""
    classes = np.atleast_1d(np.asarray(classes, dtype=np.intp))
    if run is None:
        run = forward(network, np.asarray(x).reshape(1, -1), dtype)
    # One backward pass for all the classes, a one-hot delta each (the one input's
    # activation derivatives broadcast over them).
    delta = np.zeros((len(classes), network.sizes[-1]), dtype=run.logits.dtype)
    delta[np.arange(len(classes)), classes] = 1
    _, grad = backward(network, run, delta, to_input=True, weights=False)
    return grad


def saliency(network, image: np.ndarray, dtype=None) -> Saliency:
    """The saliency of one image (floats in [0, 1], any shape of ``inputs`` values) for
    its predicted digit and runner-up; maps come back in the image's shape.

    In the network's own precision (``dtype`` None) the forward pass is the one shared by every
    view of the sketch (:func:`~nnstudio.core.shared_pass.shared_forward`); one backward pass
    then gives both maps."""
    image = np.asarray(image)
    shape = image.shape if image.size == network.sizes[0] and image.ndim > 1 else (network.sizes[0],)
    same = dtype is None or np.dtype(dtype) == np.dtype(network.dtype)
    run = shared_forward(network, image) if same else forward(network, image.reshape(1, -1), dtype)
    logits = run.logits[0]
    order = np.argsort(logits)[::-1]
    predicted, runner_up = int(order[0]), int(order[1] if len(order) > 1 else order[0])
    grads = logit_gradients(network, image, [predicted, runner_up], dtype, run=run)
    return Saliency(predicted, runner_up, softmax(logits), grads[0].reshape(shape), grads[1].reshape(shape))
