"""Evaluation of a network on real MNIST: every figure equals a direct count over its predictions."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from nnstudio.core.evaluation import evaluate
from nnstudio.core.model_file import load_model
from nnstudio.resources import BUNDLED_MODEL


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def bundled():
    return load_model(BUNDLED_MODEL).network


@pytest.fixture(scope="module")
def result(bundled, split):
    return evaluate(bundled, split.x_test, split.y_test)


def test_predictions_and_accuracy_match_the_network(bundled, split, result):
    assert result.count == 10_000
    assert np.array_equal(result.predictions, bundled.predict(split.x_test))
    loss, accuracy = bundled.evaluate(split.x_test, split.y_test)
    assert result.accuracy == accuracy and result.accuracy > 0.98
    assert result.loss == pytest.approx(loss, rel=1e-4)


def test_confusion_matrix_equals_a_direct_count(split, result):
    direct = np.zeros((10, 10), int)
    for t, p in zip(split.y_test, result.predictions):
        direct[t, p] += 1
    assert np.array_equal(result.confusion, direct)
    assert result.confusion.sum() == 10_000 and np.trace(result.confusion) == round(result.accuracy * 10_000)


def test_precision_recall_f1_per_digit(split, result):
    per = result.per_digit()
    for d in range(10):
        predicted_d, true_d = result.predictions == d, split.y_test == d
        hits = np.count_nonzero(predicted_d & true_d)
        assert per.precision[d] == pytest.approx(hits / np.count_nonzero(predicted_d))
        assert per.recall[d] == pytest.approx(hits / np.count_nonzero(true_d))
        p, r = per.precision[d], per.recall[d]
        assert per.f1[d] == pytest.approx(2 * p * r / (p + r))
    assert per.support.tolist() == np.bincount(split.y_test, minlength=10).tolist()


def test_top3_are_the_three_most_probable_digits(bundled, split, result):
    probabilities = bundled.predict_proba(split.x_test[:500])
    expected = np.argsort(-probabilities, axis=1, kind="stable")[:, :3]
    assert np.array_equal(result.top_classes[:500], expected)
    assert np.allclose(result.top_probabilities[:500], np.take_along_axis(probabilities, expected, 1), atol=1e-6)
    assert np.all(np.diff(result.top_probabilities, axis=1) <= 0)


def test_mistakes_most_confident_first_and_filtered(split, result):
    mistakes = result.mistakes()
    assert len(mistakes) == 10_000 - np.trace(result.confusion)
    assert np.all(result.labels[mistakes] != result.predictions[mistakes])
    assert np.all(np.diff(result.confidence[mistakes]) <= 0)
    t, p = np.unravel_index(np.argmax(result.confusion - np.diag(np.diag(result.confusion))), (10, 10))
    cell = result.mistakes(true=t, predicted=p)
    assert len(cell) == result.confusion[t, p] > 0
    assert set(split.y_test[cell]) == {t} and set(result.predictions[cell]) == {p}
    assert np.array_equal(result.images_in_cell(t, p), cell)
    assert len(result.images_in_cell(3, 3)) == result.confusion[3, 3]
    assert sum(len(result.mistakes(true=d)) for d in range(10)) == len(mistakes)


def test_coverage_and_accuracy_at_a_threshold(result):
    assert result.at_threshold(0.0) == (1.0, result.accuracy)
    coverage, accuracy = result.at_threshold(0.99)
    answered = result.confidence >= 0.99
    assert coverage == np.count_nonzero(answered) / 10_000 < 1
    assert accuracy == pytest.approx(np.count_nonzero(result.correct[answered]) / np.count_nonzero(answered))
    assert accuracy > result.accuracy  # confident answers are more often right
    curve = result.coverage_curve(51)
    assert len(curve.thresholds) == 51 and np.all(np.diff(curve.coverage) <= 0)
    assert curve.coverage[0] == 1.0 and curve.accuracy[0] == result.accuracy
    assert result.at_threshold(1.01) == (0.0, 1.0)


def test_a_small_untrained_network_and_arrays_are_read_only(split):
    from nnstudio.core.network import Network

    net = Network((784, 16, 10), seed=3)
    small = evaluate(net, split.x_test[:300].reshape(300, 28, 28), split.y_test[:300], chunk=64)
    assert small.count == 300 and 0 <= small.accuracy < 0.5
    assert np.array_equal(small.predictions, net.predict(split.x_test[:300]))
    with pytest.raises(ValueError):
        small.top_classes[0, 0] = 1
    with pytest.raises(ValueError, match="300 images but 299 labels"):
        evaluate(net, split.x_test[:300], split.y_test[:299])
    empty = evaluate(net, split.x_test[:0], split.y_test[:0])
    assert empty.accuracy == 0.0 and empty.confusion.sum() == 0 and len(empty.mistakes()) == 0
