"""The MNIST data set: the real files, small look-alikes, and where the folder is looked for."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from nnstudio.core.idx import DataError
from nnstudio.core.mnist import FILE_NAMES, Mnist, default_data_dir, has_mnist, load_mnist, resolve_data_dir

from test_idx import idx_bytes, tiny_set, write

# --- the real data ------------------------------------------------------------------------------


def test_real_shapes_and_types(mnist):
    assert isinstance(mnist, Mnist)
    assert mnist.train_images.shape == (60000, 28, 28)
    assert mnist.train_labels.shape == (60000,)
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.test_labels.shape == (10000,)
    for array in (mnist.train_images, mnist.train_labels, mnist.test_images, mnist.test_labels):
        assert array.dtype == np.uint8


def test_real_labels_cover_all_digits(mnist):
    for labels in (mnist.train_labels, mnist.test_labels):
        assert set(np.unique(labels)) == set(range(10))
    # The published class counts of the test set: a check that labels line up with files.
    assert np.bincount(mnist.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_real_pixels_look_like_digits(mnist):
    assert mnist.train_images.max() == 255 and mnist.train_images.min() == 0
    assert mnist.train_images[:, 0, 0].max() == 0  # corners are background


def test_real_checksum_is_sha256_of_decompressed_files(mnist, mnist_dir):
    digest = hashlib.sha256()
    for name in FILE_NAMES.values():
        with gzip.open(mnist_dir / f"{name}.gz") as f:
            digest.update(f.read())
    assert mnist.checksum == digest.hexdigest()
    assert mnist.folder == Path(mnist_dir)
    assert has_mnist(mnist_dir)


def test_checksum_same_for_gzip_and_unpacked(tmp_path):
    (tmp_path / "gz").mkdir()
    (tmp_path / "raw").mkdir()
    tiny_set(tmp_path / "gz", compress=True)
    tiny_set(tmp_path / "raw", compress=False)
    packed, unpacked = load_mnist(tmp_path / "gz"), load_mnist(tmp_path / "raw")
    assert packed.checksum == unpacked.checksum
    assert len(packed.checksum) == 64


def test_checksum_changes_with_one_label(tmp_path):
    arrays = tiny_set(tmp_path)
    before = load_mnist(tmp_path).checksum
    labels = arrays["test_labels"].copy()
    labels[0] = (labels[0] + 1) % 10
    write(tmp_path / FILE_NAMES["test_labels"], idx_bytes(labels))
    assert load_mnist(tmp_path).checksum != before


# --- small look-alike sets ------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_small_set_loads(tmp_path, compress):
    arrays = tiny_set(tmp_path, n_train=5, n_test=2, size=3, compress=compress)
    loaded = load_mnist(str(tmp_path))
    for key, array in arrays.items():
        np.testing.assert_array_equal(getattr(loaded, key), array)
    assert loaded.folder == tmp_path
    assert has_mnist(tmp_path)


def test_mixed_gzip_and_unpacked_files(tmp_path):
    arrays = tiny_set(tmp_path)
    name = FILE_NAMES["train_images"]
    write(tmp_path / f"{name}.gz", (tmp_path / name).read_bytes(), compress=True)
    (tmp_path / name).unlink()
    np.testing.assert_array_equal(load_mnist(tmp_path).train_images, arrays["train_images"])


def test_missing_file_message(tmp_path):
    tiny_set(tmp_path)
    (tmp_path / FILE_NAMES["test_labels"]).unlink()
    assert not has_mnist(tmp_path)
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path)
    assert str(info.value) == f"no MNIST in {tmp_path}: missing t10k-labels-idx1-ubyte(.gz)"


def test_missing_folder_message(tmp_path):
    folder = tmp_path / "nothing-here"
    assert not has_mnist(folder)
    with pytest.raises(DataError, match="no MNIST in .*nothing-here"):
        load_mnist(folder)


def test_empty_folder_lists_all_missing(tmp_path):
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path)
    for name in FILE_NAMES.values():
        assert f"{name}(.gz)" in str(info.value)


def test_has_mnist_does_not_read(tmp_path):
    for name in FILE_NAMES.values():
        (tmp_path / name).write_bytes(b"")
    assert has_mnist(tmp_path)  # presence only; load_mnist is what validates


def test_real_copy_with_one_file_corrupted(tmp_path, mnist_dir):
    """A realistic fault: a label file cut short in a full-size set, named in the error."""
    for name in FILE_NAMES.values():
        if name != FILE_NAMES["train_images"]:
            shutil.copyfile(mnist_dir / f"{name}.gz", tmp_path / f"{name}.gz")  # not its mode: CI's is read-only
    (tmp_path / f"{FILE_NAMES['train_images']}.gz").symlink_to(mnist_dir / f"{FILE_NAMES['train_images']}.gz")
    labels = gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels[:1208]))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: truncated: expected 10000 bytes .* found 1200"):
        load_mnist(tmp_path)


# --- where the data is looked for -----------------------------------------------------------------


def test_resolve_precedence(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NNSTUDIO_DATA", raising=False)
    assert resolve_data_dir() == tmp_path / "cache" / "nnstudio" / "mnist"
    monkeypatch.setenv("NNSTUDIO_DATA", str(tmp_path / "env"))
    assert resolve_data_dir() == tmp_path / "env"
    assert resolve_data_dir(None) == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert resolve_data_dir(str(tmp_path / "explicit")) == tmp_path / "explicit"


def test_empty_env_var_is_unset(monkeypatch, tmp_path):
    monkeypatch.setenv("NNSTUDIO_DATA", "")
    assert resolve_data_dir() == default_data_dir()


def test_resolve_expands_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NNSTUDIO_DATA", "~/digits")
    assert resolve_data_dir() == tmp_path / "digits"


def test_default_linux(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert default_data_dir() == tmp_path / ".cache" / "nnstudio" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # invalid per the XDG spec: ignored
    assert default_data_dir() == tmp_path / ".cache" / "nnstudio" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "nnstudio" / "mnist"


def test_default_macos(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # not a macOS convention
    assert default_data_dir() == tmp_path / "Library" / "Caches" / "nnstudio" / "mnist"


def test_default_windows(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    assert default_data_dir() == tmp_path / "Local" / "nnstudio" / "Cache" / "mnist"
