"""The named presets: each is a valid configuration that learns, and the record preset is what the README says."""

from __future__ import annotations

import pytest

from nnstudio.core.config import PRESET_DESCRIPTIONS, PRESETS
from nnstudio.core.trainer import Trainer


def test_every_preset_has_a_description():
    assert set(PRESET_DESCRIPTIONS) == set(PRESETS)


@pytest.mark.parametrize("name", ["fast", "best", "record", "bundled"])
def test_the_accuracy_presets_learn_in_one_epoch_of_2000_digits(split, name):
    """Each preset's network, optimiser and distortions, one epoch on 2,000 real digits: well above chance."""
    trainer = Trainer(PRESETS[name].replace(max_epochs=1), split.head(2000, 500, 500))
    for _ in trainer.run():
        pass
    assert trainer.result.epochs == 1
    assert trainer.result.test_accuracy > 0.5  # 65-75% measured; chance is 10%


def test_the_record_preset_is_the_readme_recipe():
    """784-800-800-10, Nesterov momentum, a cosine schedule over a fixed number of epochs (no early
    stop cuts it short), elastic and affine distortions, as the README's preset table says."""
    record = PRESETS["record"]
    assert record.hidden == (800, 800) and record.optimizer == "sgd" and record.nesterov
    assert record.schedule == "cosine" and not record.early_stopping and record.max_epochs == 75
    augmentation = record.augmentation()
    assert augmentation.elastic_alpha == 34 and augmentation.elastic_sigma == 4
    assert augmentation.rotate and augmentation.scale and augmentation.shear and augmentation.shift
