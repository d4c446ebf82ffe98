"""The bundled model: accurate on the test set, and it reads tilted, thicker and thinner digits."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.config import PRESETS, TrainingConfig
from nnstudio.core.model_file import load_model
from nnstudio.core.robustness import fixed_subset, perturb
from nnstudio.resources import BUNDLED_MODEL


@pytest.fixture(scope="module")
def bundled():
    return load_model(BUNDLED_MODEL)


def test_the_bundled_model_is_small_and_accurate(bundled, mnist):
    assert BUNDLED_MODEL.stat().st_size <= 2 * 1024 * 1024
    net = bundled.network
    # 99.42% measured (the aim is 99.1%; the models before, 99.16% and 99.01%; before augmentation, 99.03%)
    assert np.mean(net.predict(mnist.test_images) == mnist.test_labels) >= 0.991


def test_the_bundled_model_is_the_bundled_presets_run(bundled):
    """`nnstudio-train --preset bundled` rebuilds it (the README's command)."""
    assert TrainingConfig.from_dict(bundled.metadata["config"]) == PRESETS["bundled"]


@pytest.mark.parametrize("digits", ["all", "subset"])
@pytest.mark.parametrize("name, level", [("rotation", 15), ("rotation", -15), ("thickness", 1), ("thickness", -1)])
def test_the_bundled_model_reads_disturbed_digits(bundled, mnist, name, level, digits):
    """On all 10,000 test digits and on the Evaluate tab's robustness subset (2,000 seeded test
    digits, harder than the whole set), disturbed as its curves disturb them."""
    chosen = fixed_subset(len(mnist.test_images)) if digits == "subset" else slice(None)
    x = perturb(name, mnist.test_images[chosen], level)
    # measured, all / subset: +15° 98.90 / 98.55%, -15° 98.99 / 98.95%, thicker 98.82 / 98.65%,
    # thinner 97.47 / 97.10% (the model before, on the subset: 97.80, 98.65, 98.55, 96.05%)
    assert np.mean(bundled.network.predict(x) == mnist.test_labels[chosen]) >= 0.97
