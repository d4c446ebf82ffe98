"""The MNIST data set: where it lives on this machine and how it is loaded and checked.

MNIST is four IDX files under fixed names (see :data:`FILE_NAMES`), each either gzip-compressed
(``NAME.gz``, as published) or unpacked (``NAME``). The folder is chosen by the caller, else by
``$NNSTUDIO_DATA``, else the user's cache folder, where :mod:`nnstudio.core.download` puts it.
Any folder holding four IDX files under these names loads, not only MNIST itself, so tests
and users can substitute smaller or different digit sets.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnstudio.core.idx import DataError, idx_header, read_idx

ENV_VAR = "NNSTUDIO_DATA"
NUM_CLASSES = 10

FILE_NAMES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class Mnist:
    """The four MNIST arrays, where they came from, and a fingerprint of their content.

    ``checksum`` is the SHA-256 (hex) of the four files' decompressed contents (IDX header
    and data) concatenated in :data:`FILE_NAMES` order: train images, train labels, test
    images, test labels. It depends only on content, so a gzip and an unpacked copy of the
    same data agree, and it can be reproduced with
    ``zcat train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz
    t10k-labels-idx1-ubyte.gz | sha256sum``. Training runs record it to say which data they saw.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    checksum: str
    folder: Path


def default_data_dir() -> Path:
    """The per-user cache folder for MNIST, by the platform's convention.

    A cache, not a documents folder: the data can always be downloaded again.
    """
    home = Path.home()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(base) / "nnstudio" / "Cache" / "mnist"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "nnstudio" / "mnist"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says relative values are invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".cache"
    return base / "nnstudio" / "mnist"


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    """The MNIST folder to use: ``explicit`` if given, else ``$NNSTUDIO_DATA``, else the default."""
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser()
    configured = os.environ.get(ENV_VAR, "")
    if configured:
        return Path(configured).expanduser()
    return default_data_dir()


def find_file(folder: str | Path, name: str) -> Path | None:
    """The file holding ``name`` in ``folder``: ``name.gz`` first, else ``name``, else None.

    The compressed form wins so that a fresh download (always ``.gz``) takes precedence over
    a stale unpacked copy beside it.
    """
    for candidate in (Path(folder) / f"{name}.gz", Path(folder) / name):
        if candidate.is_file():
            return candidate
    return None


def _not_a_file(folder: Path, name: str) -> str:
    """What stands where the file ``name`` (or ``name.gz``) should be, if anything: a folder, a
    symbolic link that loops or leads nowhere, a named pipe. Empty when nothing is there."""
    for candidate in (folder / f"{name}.gz", folder / name):
        if not os.path.lexists(candidate):
            continue
        try:
            mode = candidate.stat().st_mode
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return f"{candidate.name} is a symbolic link that loops back on itself"
            if candidate.is_symlink():
                return f"{candidate.name} is a symbolic link to {os.readlink(candidate)}, which does not exist"
            return f"{candidate.name} cannot be read ({exc.strerror or exc})"
        if stat.S_ISDIR(mode):
            return f"{candidate.name} is a folder, not a file"
        return f"{candidate.name} is not a regular file (a named pipe or a device)"
    return ""


def has_mnist(folder: str | Path) -> bool:
    """Whether all four files are present in ``folder`` (names only; nothing is read)."""
    return all(find_file(folder, name) is not None for name in FILE_NAMES.values())


def load_mnist(folder: str | Path) -> Mnist:
    """Load and validate the four files in ``folder``; raise :class:`DataError` on any fault."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"no MNIST in {folder}: the folder does not exist")
    paths = {key: find_file(folder, name) for key, name in FILE_NAMES.items()}
    odd = [why for key, path in paths.items() if path is None and (why := _not_a_file(folder, FILE_NAMES[key]))]
    if odd:
        raise DataError(f"no MNIST in {folder}: {'; '.join(odd)}")
    missing = [f"{FILE_NAMES[key]}(.gz)" for key, path in paths.items() if path is None]
    if missing:
        raise DataError(f"no MNIST in {folder}: missing {', '.join(missing)}")

    arrays = {key: read_idx(path) for key, path in paths.items()}
    for split in ("train", "test"):
        _check_pair(arrays, paths, split)
    train, test = arrays["train_images"], arrays["test_images"]
    if train.shape[1:] != test.shape[1:]:
        raise DataError(
            f"{paths['train_images']} has {_size(train)} images but "
            f"{paths['test_images']} has {_size(test)} images: they must agree"
        )

    digest = hashlib.sha256()
    for key in FILE_NAMES:
        digest.update(idx_header(arrays[key].shape))
        digest.update(memoryview(arrays[key]).cast("B"))
    return Mnist(**arrays, checksum=digest.hexdigest(), folder=folder)


def _check_pair(arrays: dict[str, np.ndarray], paths: dict[str, Path], split: str) -> None:
    """Check one split's images are 3-D, its labels 1-D digits, and their counts agree."""
    images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
    image_path, label_path = paths[f"{split}_images"], paths[f"{split}_labels"]
    if images.ndim != 3:
        raise DataError(f"{image_path}: expected 3-D images (count, rows, cols), got shape {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"{label_path}: expected 1-D labels (count,), got shape {labels.shape}")
    if len(images) != len(labels):
        raise DataError(
            f"{image_path} has {len(images)} images but {label_path} has {len(labels)} labels: "
            f"the counts must agree"
        )
    bad = np.flatnonzero(labels >= NUM_CLASSES)
    if bad.size:
        raise DataError(
            f"{label_path}: label {labels[bad[0]]} at index {bad[0]} is out of range 0-{NUM_CLASSES - 1} "
            f"({bad.size} bad labels)"
        )


def _size(images: np.ndarray) -> str:
    """Image size as people write it: ``28x28``."""
    return "x".join(str(n) for n in images.shape[1:])
