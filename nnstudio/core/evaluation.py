"""What a network gets right and wrong on a labelled set: predictions, confusion, per-digit figures,
the most confident mistakes and the coverage a confidence threshold buys.

:func:`evaluate` runs the network once over the images; every figure after that is computed from
the stored predictions, so a view can ask for a filtered gallery or another threshold for free.
The figures every view asks for are computed once and kept (:meth:`Evaluation.prepare` computes
them on the evaluating thread, so the window only reads them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from nnstudio.core.network import Network, as_inputs

TOP = 3  # alternatives kept per image (the gallery's hover shows them)


@dataclass(frozen=True, eq=False)
class Evaluation:
    """One network's answers on one labelled set (read-only arrays: safe to share across threads).

    ``top_classes[i]`` and ``top_probabilities[i]`` hold image ``i``'s three most probable
    digits, most probable first; ``top_classes[:, 0]`` is the prediction.
    """

    labels: np.ndarray  # (n,) true digit
    top_classes: np.ndarray  # (n, 3)
    top_probabilities: np.ndarray  # (n, 3)
    loss: float  # mean cross-entropy
    classes: int = 10

    # -- per image ----------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return len(self.labels)

    @property
    def predictions(self) -> np.ndarray:
        return self.top_classes[:, 0]

    @property
    def confidence(self) -> np.ndarray:
        """The probability the network gives its own answer."""
        return self.top_probabilities[:, 0]

    @cached_property
    def correct(self) -> np.ndarray:
        correct = self.predictions == self.labels
        correct.flags.writeable = False
        return correct

    def prepare(self) -> "Evaluation":
        """Compute and keep what the views read (confusion, per-digit figures, the mistakes' order, the
        coverage curve), so that the thread that evaluated pays for it, not the window; returns self."""
        self.per_digit()
        self.mistakes()
        self.coverage_curve()
        return self

    @property
    def accuracy(self) -> float:
        return float(np.count_nonzero(self.correct)) / self.count if self.count else 0.0

    # -- per digit ----------------------------------------------------------------------------

    @cached_property
    def confusion(self) -> np.ndarray:
        """``confusion[t, p]``: how many images of true digit ``t`` were read as ``p`` (read-only)."""
        flat = self.labels.astype(np.intp) * self.classes + self.predictions
        counts = np.bincount(flat, minlength=self.classes * self.classes).reshape(self.classes, self.classes)
        counts.flags.writeable = False
        return counts

    def per_digit(self) -> "PerDigit":
        return self._per_digit

    @cached_property
    def _per_digit(self) -> "PerDigit":
        return PerDigit.from_confusion(self.confusion)

    # -- mistakes -----------------------------------------------------------------------------

    def mistakes(self, true: int | None = None, predicted: int | None = None) -> np.ndarray:
        """Indices of the misclassified images, most confident mistake first; optionally only those
        of one true digit and/or one predicted digit (``true == predicted`` gives nothing)."""
        index = self._mistakes_ranked
        if true is not None:
            index = index[self.labels[index] == true]
        if predicted is not None:
            index = index[self.predictions[index] == predicted]
        return index.copy() if index is self._mistakes_ranked else index

    @cached_property
    def _mistakes_ranked(self) -> np.ndarray:
        """Every mistake, most confident first (ties: lower index first); a filter keeps this order."""
        index = np.flatnonzero(~self.correct)
        return index[np.argsort(-self.confidence[index], kind="stable")]

    def images_in_cell(self, true: int, predicted: int) -> np.ndarray:
        """Indices of the images of one confusion cell, most confident first (the diagonal too)."""
        index = np.flatnonzero((self.labels == true) & (self.predictions == predicted))
        return index[np.argsort(-self.confidence[index], kind="stable")]

    # -- confidence threshold -----------------------------------------------------------------

    def coverage_curve(self, points: int = 101) -> "CoverageCurve":
        """Coverage and accuracy of the answered images for ``points`` thresholds from 0 to 1."""
        if points == 101:
            return self._coverage_curve
        thresholds = np.linspace(0.0, 1.0, points)
        return CoverageCurve(thresholds, *self._answered(thresholds))

    @cached_property
    def _coverage_curve(self) -> "CoverageCurve":
        thresholds = np.linspace(0.0, 1.0, 101)
        return CoverageCurve(thresholds, *self._answered(thresholds))

    def at_threshold(self, threshold: float) -> tuple[float, float]:
        """``(coverage, accuracy)`` when only answers with confidence >= ``threshold`` are given;
        the accuracy of no answers at all is 1.0 (nothing answered, nothing wrong)."""
        coverage, accuracy = self._answered(np.array([float(threshold)]))
        return float(coverage[0]), float(accuracy[0])

    @cached_property
    def _ranked_confidence(self) -> tuple[np.ndarray, np.ndarray]:
        """The confidences in ascending order, and how many of the images from each on are right."""
        order = np.argsort(self.confidence, kind="stable")
        right_from = np.concatenate([np.cumsum(self.correct[order][::-1])[::-1], [0]])
        return self.confidence[order], right_from

    def _answered(self, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        confidence, right_from = self._ranked_confidence
        first = np.searchsorted(confidence, thresholds, side="left")  # first answered image
        answered = self.count - first
        right = right_from[first]
        coverage = answered / max(self.count, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            accuracy = np.where(answered > 0, right / np.maximum(answered, 1), 1.0)
        return coverage, accuracy


@dataclass(frozen=True, eq=False)
class PerDigit:
    """Precision, recall and F1 of each digit; a digit never predicted (or never present) scores 0."""

    support: np.ndarray  # images of each true digit
    predicted: np.ndarray  # images predicted as each digit
    correct: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray

    @classmethod
    def from_confusion(cls, confusion: np.ndarray) -> "PerDigit":
        correct = np.diag(confusion).astype(np.int64)
        support = confusion.sum(axis=1)
        predicted = confusion.sum(axis=0)
        precision = _ratio(correct, predicted)
        recall = _ratio(correct, support)
        f1 = _ratio(2 * precision * recall, precision + recall)
        return cls(support, predicted, correct, precision, recall, f1)


@dataclass(frozen=True, eq=False)
class CoverageCurve:
    thresholds: np.ndarray
    coverage: np.ndarray  # share of images answered
    accuracy: np.ndarray  # share of the answered that are right


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.zeros_like(a)
    np.divide(a, b, out=out, where=b > 0)
    return out


def evaluate(network: Network, images: np.ndarray, labels: np.ndarray, *, chunk: int = 1000) -> Evaluation:
    """Run ``network`` over ``images`` (uint8 pixels, rows or ``(n, h, w)``, or floats in [0, 1])."""
    steps = evaluation_steps(network, images, labels, chunk=chunk)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def evaluation_steps(network: Network, images: np.ndarray, labels: np.ndarray, *, chunk: int = 1000
                     ) -> Iterator[None]:
    """:func:`evaluate` as a generator that yields None after each chunk (where a job may stop) and
    returns the :class:`Evaluation`."""
    labels = np.array(labels, dtype=np.intp)  # a copy: the evaluation is read-only
    n = len(labels)
    if len(images) != n:
        raise ValueError(f"{len(images)} images but {n} labels")
    classes = network.sizes[-1]
    k = min(TOP, classes)
    top_classes = np.empty((n, k), np.intp)
    top_probabilities = np.empty((n, k), np.float32)
    total_loss = 0.0
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        z = network.feedforward(as_inputs(images[start:stop], network.dtype))[-1]
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        rows = np.arange(stop - start)
        with np.errstate(divide="ignore"):
            total_loss -= float(np.log(np.maximum(z[rows, labels[start:stop]], 1e-30)).sum())
        if k < classes:  # by class within the top k, so ties go to the lower digit, as argmax does
            best = np.sort(np.argpartition(-z, k - 1, axis=1)[:, :k], axis=1)
        else:
            best = np.tile(np.arange(classes), (len(z), 1))
        p = z[rows[:, None], best]
        order = np.argsort(-p, axis=1, kind="stable")
        top_classes[start:stop] = np.take_along_axis(best, order, axis=1)
        top_probabilities[start:stop] = np.take_along_axis(p, order, axis=1)
        yield None
    for a in (labels, top_classes, top_probabilities):
        a.flags.writeable = False
    return Evaluation(labels, top_classes, top_probabilities, total_loss / max(n, 1), classes)
