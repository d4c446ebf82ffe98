"""The personal set: IDX round trip and export; learning from ten corrected digits without forgetting MNIST."""

import numpy as np
import pytest

from nnstudio.core.idx import DataError, read_idx
from nnstudio.core.lr_finder import run_to_end
from nnstudio.core.mnist import load_mnist
from nnstudio.core.model_file import load_model
from nnstudio.core.personal_digits import IMAGES, LABELS, PersonalDigits, fine_tune, jitter, to_pixels
from nnstudio.resources import BUNDLED_MODEL


def some_digits(split, n=12):
    return PersonalDigits(split.x_val[:n].reshape(-1, 28, 28), split.y_val[:n])


def test_the_personal_set_round_trips_through_idx(tmp_path, split):
    digits = some_digits(split)
    digits.add(np.linspace(0, 1, 784, dtype=np.float32).reshape(28, 28), 7)  # a sketch as the network sees it
    digits.remove(0)
    digits.save(tmp_path / "personal")
    again = PersonalDigits.load(tmp_path / "personal")
    assert np.array_equal(again.images, digits.images) and np.array_equal(again.labels, digits.labels)
    assert len(again) == 12 and again.labels[-1] == 7 and again.images[-1, -1, -1] == 255
    assert read_idx(tmp_path / "personal" / IMAGES).shape == (12, 28, 28)  # plain IDX, as MNIST's
    assert not list((tmp_path / "personal").glob("*.tmp"))
    assert len(PersonalDigits.load(tmp_path / "nothing")) == 0


def test_an_exported_folder_loads_as_mnist(tmp_path, split):
    folder = some_digits(split, 30).export(tmp_path / "mine")
    mnist = load_mnist(folder)
    assert mnist.train_images.shape == (30, 28, 28) and np.array_equal(mnist.test_labels, split.y_val[:30])
    with pytest.raises(ValueError):
        PersonalDigits().export(tmp_path / "empty")


def test_damaged_files_and_bad_labels_are_refused(tmp_path, split):
    digits = some_digits(split)
    digits.save(tmp_path)
    (tmp_path / LABELS).write_bytes((tmp_path / LABELS).read_bytes()[:-3])
    with pytest.raises(DataError):
        PersonalDigits.load(tmp_path)
    with pytest.raises(ValueError):
        digits.add(np.zeros((28, 28), np.uint8), 10)


def test_jitter_moves_the_ink_a_little(split):
    rng = np.random.default_rng(0)
    images = split.x_val[:20].reshape(-1, 28, 28)
    moved = jitter(images, rng)
    assert moved.shape == images.shape and moved.dtype == np.uint8
    assert not np.array_equal(moved, images)
    assert (moved.astype(int).sum(axis=(1, 2)) <= images.astype(int).sum(axis=(1, 2))).all()
    assert to_pixels(np.full(784, 0.5)).max() == 128


def test_ten_corrected_digits_are_learnt_without_forgetting_mnist(split):
    """Ten digits the bundled model gets wrong, labelled right, learnt: they are (mostly) right after,
    and MNIST test accuracy falls by at most half a point."""
    network = load_model(BUNDLED_MODEL).network
    wrong = np.flatnonzero(network.predict(split.x_val) != split.y_val)[:10]
    assert len(wrong) == 10
    personal = PersonalDigits(split.x_val[wrong].reshape(-1, 28, 28), split.y_val[wrong])
    before = [p.copy() for p in network.parameters()]
    result = run_to_end(fine_tune(network, personal, split.x_train, split.y_train, split.x_test, split.y_test))
    assert all(np.array_equal(a, b) for a, b in zip(before, network.parameters()))  # a copy was tuned
    assert result.personal_before == 0.0 and result.personal_after >= 0.7
    assert result.mnist_before - result.mnist_after <= 0.005
    _, after = result.network.evaluate(split.x_test, split.y_test)
    assert after == result.mnist_after
