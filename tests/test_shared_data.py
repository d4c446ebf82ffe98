"""MNIST shared with worker processes: written once, mapped read-only, removed afterwards."""

from pathlib import Path

import numpy as np
import pytest

from nnstudio.core.mnist import Mnist
from nnstudio.core.shared_data import attach_mnist, shared_mnist


def test_shared_arrays_are_the_same_mapped_read_only_and_removed_after(tmp_path):
    rng = np.random.default_rng(0)
    mnist = Mnist(rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), rng.integers(0, 10, 30, dtype=np.uint8),
                  rng.integers(0, 256, (8, 28, 28), dtype=np.uint8), rng.integers(0, 10, 8, dtype=np.uint8),
                  "abc123", tmp_path)
    with shared_mnist(mnist) as handle:
        twin = attach_mnist(handle)
        for key in ("train_images", "train_labels", "test_images", "test_labels"):
            mapped = getattr(twin, key)
            assert isinstance(mapped, np.memmap) and not mapped.flags.writeable
            np.testing.assert_array_equal(mapped, getattr(mnist, key))
        assert (twin.checksum, twin.folder) == ("abc123", tmp_path)
        folder = Path(handle["folder"])
        assert folder.is_dir()
        del twin, mapped
    assert not folder.exists()
    with pytest.raises(FileNotFoundError):
        attach_mnist(handle)
