"""Model files: a network's weights and JSON metadata in one ``.npz``, read without pickle."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnstudio import __version__
from nnstudio.core.atomic_file import atomic_write
from nnstudio.core.network import ACTIVATIONS, Network

FORMAT = "nnstudio-model"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model file that cannot be used; the message names the file and the fault."""


@dataclass(frozen=True)
class SavedModel:
    network: Network
    metadata: dict


def save_model(path: str | Path, network: Network, *, metadata: dict | None = None) -> Path:
    """Write ``network`` and ``metadata`` (JSON-serialisable) to ``path`` atomically.

    The file is written beside its destination under a temporary name and renamed
    into place, so a crash or a full disk never leaves half a model behind.
    """
    path = Path(path)
    meta = dict(metadata or {})
    meta.update(format=FORMAT, format_version=FORMAT_VERSION, nnstudio_version=__version__,
                sizes=list(network.sizes), activation=network.activation, dtype=network.dtype.name)
    arrays = {"metadata": np.array(json.dumps(meta))}
    for i, (w, b) in enumerate(zip(network.weights, network.biases)):
        arrays[f"W{i}"], arrays[f"b{i}"] = w, b
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        np.savez(f, **arrays)
    return path


def read_metadata(path: str | Path) -> dict:
    """Only the metadata of a model file (cheap: the weights are not read)."""
    path = Path(path)
    with _open(path) as archive:
        return _metadata(path, archive)


def load_model(path: str | Path) -> SavedModel:
    """Read a model file, checking that every array fits the layer sizes it declares."""
    path = Path(path)
    with _open(path) as archive:
        meta = _metadata(path, archive)
        sizes = meta["sizes"]
        network = Network.__new__(Network)
        network.sizes, network.activation = tuple(sizes), meta["activation"]
        network.weights, network.biases = [], []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            w = _array(path, archive, f"W{i}", (fan_in, fan_out))
            b = _array(path, archive, f"b{i}", (fan_out,))
            network.weights.append(w)
            network.biases.append(b.astype(w.dtype))
        network.dtype = network.weights[0].dtype
        extra = set(archive.files) - {"metadata"} - {f"{k}{i}" for k in "Wb" for i in range(len(sizes) - 1)}
        if extra:
            raise ModelFileError(f"{path.name}: unexpected arrays {sorted(extra)}")
    return SavedModel(network, meta)


def _open(path: Path):
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot be read ({exc.strerror})") from None
    if magic != b"PK\x03\x04":
        raise ModelFileError(f"{path.name}: not an nnstudio model file (not an .npz archive)")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelFileError(f"{path.name}: not an nnstudio model file ({exc})") from None


def _metadata(path: Path, archive) -> dict:
    if not hasattr(archive, "files"):
        raise ModelFileError(f"{path.name}: not an nnstudio model file (a bare array, not an .npz archive)")
    if "metadata" not in archive.files:
        raise ModelFileError(f"{path.name}: not an nnstudio model file (no metadata)")
    try:
        meta = json.loads(str(archive["metadata"][()]))
    except ValueError as exc:  # includes pickled object arrays, refused by allow_pickle=False
        raise ModelFileError(f"{path.name}: unreadable metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path.name}: not an nnstudio model file (format is not {FORMAT!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path.name}: model format version {meta.get('format_version')} is not supported")
    sizes = meta.get("sizes")
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and 0 < s <= 100_000 for s in sizes)):
        raise ModelFileError(f"{path.name}: layer sizes {sizes!r} are not a list of positive integers")
    if meta.get("activation") not in ACTIVATIONS:
        raise ModelFileError(f"{path.name}: unknown activation {meta.get('activation')!r}")
    return meta


def _array(path: Path, archive, key: str, shape: tuple[int, ...]) -> np.ndarray:
    if key not in archive.files:
        raise ModelFileError(f"{path.name}: missing array {key}")
    try:
        a = archive[key]
    except ValueError as exc:
        raise ModelFileError(f"{path.name}: array {key} is unreadable ({exc})") from None
    if a.shape != shape:
        raise ModelFileError(f"{path.name}: array {key} has shape {a.shape}, the layer sizes say {shape}")
    if a.dtype not in (np.float32, np.float64):
        raise ModelFileError(f"{path.name}: array {key} has dtype {a.dtype}, expected float32 or float64")
    if not np.isfinite(a).all():
        raise ModelFileError(f"{path.name}: array {key} holds NaN or infinite values")
    return a
