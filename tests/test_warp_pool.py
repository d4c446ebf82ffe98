"""An epoch's warps drawn once into a pool: each image is resampled exactly as its warp's grid says,
every epoch and every set of strengths draws its own, the same on any thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from nnstudio.core.augment import BLOCK, Augmentation, Augmenter
from nnstudio.core.bilinear import PAD, sample_bilinear

DISTORTED = Augmentation(shift=2, rotate=10, scale=0.1, shear=10, elastic_alpha=34, elastic_sigma=4)
FRAME = (28 + 2 * PAD, 28 + 2 * PAD)


def grid(pool, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Warp ``j``'s source coordinates (rows, columns in the padded frame), as the pool says."""
    within = pool.corner[j] - (j % BLOCK) * FRAME[0] * FRAME[1]  # counted from its frame
    assert within.min() >= 0 and within.max() <= FRAME[0] * FRAME[1] - FRAME[1] - 2
    return within // FRAME[1] + pool.fractions[0, j], within % FRAME[1] + pool.fractions[1, j]


def test_each_image_is_resampled_as_its_warps_grid_says(split):
    x = split.x_train[:40]
    augmenter = Augmenter(DISTORTED, seed=2)
    pool = augmenter.warp_pool(DISTORTED, epoch=3, size=50)
    assert pool.size == 50 and pool.corner.shape == (50 + BLOCK, 784)
    for j in (0, 49, 50, 50 + BLOCK - 1):  # past the pool's end, its first warps again
        np.testing.assert_array_equal(pool.fractions[:, j], pool.fractions[:, j % 50])
        assert pool.fractions[:, j].min() >= 0 and pool.fractions[:, j].max() < 1
    out = augmenter.distort(x, None, np.random.default_rng(7), DISTORTED, pool)
    images = x.reshape(40, 28, 28).astype(np.float32) / 255
    starts = []
    for start in range(pool.size):  # a run of consecutive warps from one random start
        rows, cols = zip(*(grid(pool, start + i) for i in range(40)))
        expected = sample_bilinear(images, np.array(rows), np.array(cols), np.empty((40, 784), np.float32))
        if np.allclose(out, expected, atol=1e-6):
            starts.append(start)
    assert len(starts) == 1
    assert out.min() >= 0 and out.max() <= 1 and np.abs(out - images.reshape(40, -1)).mean() > 0.02


def test_every_epoch_and_every_strength_draws_its_own_warps_the_same_on_any_thread():
    first = Augmenter(DISTORTED, seed=4)
    mine = first.warp_pool(DISTORTED, epoch=1, size=64)
    theirs = []
    helper = threading.Thread(target=lambda: theirs.append(Augmenter(DISTORTED, seed=4).warp_pool(DISTORTED, 1, 64)))
    helper.start()
    helper.join()
    np.testing.assert_array_equal(theirs[0].corner, mine.corner)
    np.testing.assert_array_equal(theirs[0].fractions, mine.fractions)
    assert first.warp_pool(DISTORTED, epoch=1, size=64) is mine  # kept, not drawn again
    for other in (first.warp_pool(DISTORTED, epoch=2, size=64),
                  first.warp_pool(DISTORTED.replace(rotate=20), epoch=1, size=64),
                  Augmenter(DISTORTED, seed=5).warp_pool(DISTORTED, epoch=1, size=64)):
        assert not np.array_equal(other.fractions, mine.fractions)


@pytest.mark.parametrize("strengths", [Augmentation(rotate=10), Augmentation(
    scale=0.1, shear=10, elastic_alpha=10, elastic_sigma=4, thickness=0.5, noise=0.1)])
def test_pooled_warps_keep_labels_range_and_ink(split, quick_network, strengths):
    """As the digits distorted one by one (tests/test_augment.py): the network trained on plain
    digits still reads them, and a shuffled label is right about one time in ten."""
    x, y = split.x_train[:512], split.y_train[:512]
    augmenter = Augmenter(strengths, seed=0)
    out = augmenter.distort(x, None, np.random.default_rng(1), strengths, augmenter.warp_pool(strengths, 1))
    assert out.min() >= 0 and out.max() <= 1 and out.max(axis=1).min() > 0.3
    plain = np.mean(quick_network.predict(x) == y)
    assert np.mean(quick_network.predict(out) == y) > plain - 0.1
    assert np.mean(quick_network.predict(out) == np.roll(y, 1)) < 0.2
