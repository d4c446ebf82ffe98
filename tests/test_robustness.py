"""Robustness transforms on real digits: each does what it says, and every curve starts at the plain accuracy."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from nnstudio.core.evaluation import evaluate
from nnstudio.core.model_file import load_model
from nnstudio.core.network import as_inputs
from nnstudio.core.robustness import (CHUNK, NOISE_SEED, PERTURBATIONS, PerturbedImages, all_curves, fixed_subset,
                                      perturb, robustness_curve)
from nnstudio.resources import BUNDLED_MODEL


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def bundled():
    return load_model(BUNDLED_MODEL).network


@pytest.fixture(scope="module")
def subset(split):
    index = fixed_subset(len(split.y_test))
    return split.x_test[index], split.y_test[index]


def run(generator):
    points = []
    while True:
        try:
            points.append(next(generator))
        except StopIteration as done:
            return points, done.value


def test_the_subset_is_fixed_sorted_and_2000_images(split):
    index = fixed_subset(len(split.y_test))
    assert len(index) == 2000 == len(set(index.tolist()))
    assert np.array_equal(index, fixed_subset(10_000)) and np.all(np.diff(index) > 0)
    assert not np.array_equal(index, np.arange(2000))
    assert np.array_equal(fixed_subset(500), np.arange(500))


def test_every_curve_at_zero_equals_the_plain_accuracy(bundled, subset):
    x, y = subset[0][:600], subset[1][:600]  # part of the fixed subset: cheap, and still real digits
    plain = evaluate(bundled, x, y).accuracy
    points, curves = run(all_curves(bundled, x, y))
    assert set(curves) == set(PERTURBATIONS)
    assert len(points) == sum(len(p.levels) for p in PERTURBATIONS.values())
    for name, curve in curves.items():
        assert curve.accuracy[list(curve.levels).index(0.0)] == plain, name
        assert curve.accuracy.min() < plain - 0.1, name  # the strongest disturbance costs accuracy
    noise = curves["noise"]
    assert np.all(np.diff(noise.accuracy) <= 0.005) and noise.accuracy[-1] < 0.5
    assert [p.done for p in points[:3]] == [1, 2, 3] and points[0].total == len(PERTURBATIONS["noise"].levels)


def test_noise_has_the_asked_spread_and_is_repeatable(subset):
    x = subset[0][:200]
    clean = as_inputs(x)
    noisy = perturb("noise", x, 0.3)
    assert np.array_equal(noisy, perturb("noise", x, 0.3))
    middle = (clean > 0.35) & (clean < 0.65)  # away from the clip at 0 and 1
    assert np.std((noisy - clean)[middle]) == pytest.approx(0.3, rel=0.1)
    assert noisy.min() >= 0 and noisy.max() <= 1 and noisy.dtype == np.float32


def centre_of_mass(rows):
    images = rows.reshape(-1, 28, 28)
    mass = images.sum(axis=(1, 2))
    r = (images.sum(axis=2) * np.arange(28)).sum(axis=1) / mass
    c = (images.sum(axis=1) * np.arange(28)).sum(axis=1) / mass
    return r, c


def test_shift_moves_each_digit_by_the_asked_distance_in_eight_directions(subset):
    x = subset[0][:160]
    r0, c0 = centre_of_mass(as_inputs(x))
    r1, c1 = centre_of_mass(perturb("shift", x, 3.0))
    distance = np.hypot(r1 - r0, c1 - c0)
    assert np.median(distance) == pytest.approx(3.0, abs=0.3)
    assert c1[0] - c0[0] == pytest.approx(3.0, abs=0.3) and abs(r1[0] - r0[0]) < 0.3  # image 0 goes right
    assert r1[2] - r0[2] == pytest.approx(-3.0, abs=0.3)  # image 2 goes up


def test_rotation_turns_about_the_centre_and_a_full_turn_is_identity(subset):
    x = subset[0][:50]
    assert np.allclose(perturb("rotation", x, 360.0), as_inputs(x), atol=1e-4)
    quarter = perturb("rotation", x, 90.0).reshape(-1, 28, 28)
    assert np.allclose(quarter, np.rot90(as_inputs(x).reshape(-1, 28, 28), 1, axes=(1, 2)), atol=1e-4)


def test_thicker_strokes_have_more_ink_and_thinner_less(subset):
    x = subset[0][:100]
    ink = {level: perturb("thickness", x, level).sum(axis=1) for level in (-1.0, -0.5, 0.0, 0.5, 1.0, 2.0)}
    assert np.all(ink[-1.0] < ink[-0.5]) and np.all(ink[-0.5] < ink[0.0])
    assert np.all(ink[0.0] < ink[0.5]) and np.all(ink[0.5] < ink[1.0]) and np.all(ink[1.0] < ink[2.0])


def test_a_curve_can_take_its_own_levels_and_unknown_names_are_refused(bundled, subset):
    x, y = subset[0][:100], subset[1][:100]
    points, curve = run(robustness_curve(bundled, x, y, "rotation", levels=(0.0, 180.0)))
    assert [p.level for p in points] == [0.0, 180.0] and curve.accuracy[1] < curve.accuracy[0]
    with pytest.raises(ValueError, match="unknown perturbation 'blur'"):
        perturb("blur", x, 1.0)


def test_kept_perturbed_images_give_every_curve_to_the_last_bit(quick_network, subset):
    # Two chunks, the second partial: the kept pixels, noise draws, shift directions and stroke steps
    # equal perturb()'s chunk by chunk, and so does each accuracy (the network reads the same chunks).
    network = quick_network
    x, y = subset[0][:CHUNK + 100], subset[1][:CHUNK + 100]
    kept = PerturbedImages(x)
    points, curves = run(all_curves(network, kept, y))
    assert 0 < kept.nbytes < 20 * x.size  # the kept arrays: a few copies of the images, not one per level
    for name, perturbation in PERTURBATIONS.items():
        for level, accuracy in zip(perturbation.levels, curves[name].accuracy):
            chunks = [perturb(name, x[s:s + CHUNK], level, seed=NOISE_SEED + s) for s in range(0, len(y), CHUNK)]
            assert np.array_equal(kept.inputs(name, level), np.concatenate(chunks)), (name, level)
            hits = sum(np.count_nonzero(network.predict(c) == y[s:s + CHUNK]) for s, c in zip(range(0, len(y), CHUNK), chunks))
            assert accuracy == hits / len(y), (name, level)
    assert run(robustness_curve(network, x, y, "thickness"))[1].accuracy.tolist() == curves["thickness"].accuracy.tolist()
