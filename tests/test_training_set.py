"""Training-set size and label noise: the stated share of labels replaced, the same way for the same seed."""

import numpy as np
import pytest

from nnstudio.cli.train import main
from nnstudio.core.config import PRESETS, TrainingConfig
from nnstudio.core.trainer import Trainer
from nnstudio.core.training_set import noisy_labels, training_set


@pytest.mark.parametrize("share", [0.0, 0.1, 0.25, 0.5])
def test_label_noise_replaces_the_stated_share_of_labels_reproducibly(split, share):
    labels = split.y_train[:10000]
    noisy = noisy_labels(labels, share, seed=3)
    changed = noisy != labels
    assert changed.sum() == round(share * len(labels))  # each one picked really changes class
    assert noisy.min() >= 0 and noisy.max() <= 9 and noisy.dtype == labels.dtype
    assert np.array_equal(noisy, noisy_labels(labels, share, seed=3))
    if share:
        other = noisy_labels(labels, share, seed=4)
        assert not np.array_equal(noisy, other)
        # the wrong classes are spread over the nine others, not shifted by one
        assert len(np.unique((noisy[changed] - labels[changed]) % 10)) == 9
    assert np.array_equal(split.y_train[:10000], labels)  # the split itself is left alone


def test_training_set_cuts_the_training_part_only(split):
    small = training_set(split, train_size=500, label_noise=0.2, seed=0)
    assert len(small.x_train) == len(small.y_train) == 500
    assert np.array_equal(small.x_train, split.x_train[:500])
    assert (small.y_train != split.y_train[:500]).sum() == 100
    assert small.x_val is split.x_val and small.x_test is split.x_test
    assert training_set(split) is split


def test_the_trainer_uses_the_training_set_the_config_asks_for(small_split):
    config = TrainingConfig(hidden=(32,), train_size=500, label_noise=0.3, max_epochs=1, patience=0)
    trainer = Trainer(config, small_split)
    assert len(trainer.data.x_train) == 500 and (trainer.data.y_train != small_split.y_train[:500]).sum() == 150


@pytest.mark.parametrize("changes, message", [(dict(train_size=5), "training-set size"),
                                               (dict(label_noise=0.6), "label noise")])
def test_bad_sizes_and_noise_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig(**changes)


def test_the_overfit_preset_overfits(split):
    """Validation loss climbs from its best epoch while training loss keeps falling."""
    config = PRESETS["overfit"].replace(max_epochs=15)
    trainer = Trainer(config, split.head(len(split.x_train), 2000, 0))
    for _ in trainer.run():
        pass
    history = trainer.history
    best = trainer.result.best_epoch
    assert best < 12
    assert history[-1].val_loss > 1.2 * history[best - 1].val_loss
    assert history[-1].train_loss < 0.6 * history[best - 1].train_loss


def test_cli_flags_train_on_fewer_noisier_images(tmp_path, mnist_dir, capsys):
    code = main(["--data-dir", str(mnist_dir), "--train-size", "500", "--label-noise", "0.1", "--hidden", "16",
                 "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and "trains on 500 training images, 10% of labels noisy" in out
    with pytest.raises(SystemExit):
        main(["--label-noise", "0.9"])
    assert "label noise must be between 0 and 0.5" in capsys.readouterr().err
