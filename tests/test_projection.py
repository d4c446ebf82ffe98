"""PCA and the NumPy t-SNE on real digits: t-SNE's map keeps digits apart, progress comes as it goes."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from nnstudio.core.model_file import load_model
from nnstudio.core.projection import layer_activations, pca, tsne
from nnstudio.resources import BUNDLED_MODEL


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    with threadpool_limits(limits=1):
        yield


def run(generator):
    steps = []
    while True:
        try:
            steps.append(next(generator))
        except StopIteration as done:
            return steps, done.value


def five_nn_accuracy(points, labels):
    """Leave-one-out 5-nearest-neighbour vote in the map."""
    d = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1)
    np.fill_diagonal(d, np.inf)
    nearest = np.argpartition(d, 5, axis=1)[:, :5]
    votes = np.apply_along_axis(np.bincount, 1, labels[nearest], minlength=10)
    return float(np.mean(votes.argmax(axis=1) == labels))


@pytest.fixture(scope="module")
def digits(split):
    return split.x_test[:1000].astype(np.float64) / 255, split.y_test[:1000]


def test_tsne_separates_the_digits(digits):
    x, labels = digits
    steps, embedding = run(tsne(x, iterations=400, exaggeration_iterations=100))
    assert embedding.shape == (1000, 2) and np.isfinite(embedding).all()
    score = five_nn_accuracy(embedding, labels)
    assert score >= 0.8
    assert five_nn_accuracy(pca(x), labels) < score - 0.3  # PCA's straight projection mixes them
    iterations = [s.iteration for s in steps]
    assert iterations == sorted(iterations) and iterations[-1] == 400 and steps[0].embedding is None
    assert steps[-1].fraction == 1.0 and np.allclose(steps[-1].embedding, embedding - embedding.mean(0), atol=1e-3)


def test_tsne_is_repeatable_and_can_be_cancelled(digits):
    x = digits[0][:200]
    first = run(tsne(x, iterations=60, exaggeration_iterations=20))[1]
    assert np.array_equal(first, run(tsne(x, iterations=60, exaggeration_iterations=20))[1])
    job = tsne(x, iterations=10_000, report_every=5)
    for step in job:
        if step.iteration >= 10:
            break
    job.close()  # a cancelled map stops at once: closing the generator raises nothing
    assert run(tsne(x[:2]))[1].shape == (2, 2)


def test_pca_orders_axes_by_variance_and_fixes_their_sign(digits):
    x = digits[0]
    coords = pca(x, 5)
    variances = coords.var(axis=0)
    assert np.all(np.diff(variances) < 0)
    singular = np.linalg.svd(x - x.mean(0), compute_uv=False)
    assert np.allclose(variances, singular[:5] ** 2 / len(x), rtol=1e-6)
    assert np.allclose(pca(x * 2, 2) / 2, pca(x, 2))  # the same axes, not mirrored
    few = pca(x[:20], 3)  # fewer points than dimensions
    assert np.allclose(few.var(axis=0), np.linalg.svd(x[:20] - x[:20].mean(0), compute_uv=False)[:3] ** 2 / 20)


def test_layer_activations_are_the_network_layers(split):
    net = load_model(BUNDLED_MODEL).network
    x = split.x_test[:50]
    assert np.allclose(layer_activations(net, x, 0), x / 255)
    assert layer_activations(net, x, 1).shape == (50, net.sizes[1])
    assert np.array_equal(layer_activations(net, x, 3), net.logits(x))
    assert np.allclose(layer_activations(net, x, 1, chunk=7), layer_activations(net, x, 1), atol=1e-5)
    with pytest.raises(ValueError, match="layer 4 does not exist"):
        layer_activations(net, x, 4)
