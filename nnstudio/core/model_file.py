"""Model files: a network's weights and JSON metadata in one ``.npz``, read without pickle."""

from __future__ import annotations

import json
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnstudio import __version__
from nnstudio.core.atomic_file import atomic_write
from nnstudio.core.capacity import MAX_PARAMETERS, parameter_count
from nnstudio.core.network import ACTIVATIONS, Network

FORMAT = "nnstudio-model"
FORMAT_VERSION = 1
# An optimiser's state array: SGD's velocity, Adam's m and v, RMSprop's v and buffer, per parameter
# (W1, b1, W2, b2, ...), stored as "optimizer_<kind><k>" beside the weights.
OPTIMIZER_ARRAY = re.compile(r"(velocity|m|v|buffer)(\d{1,4})")


class ModelFileError(ValueError):
    """A model file that cannot be used; the message names the file and the fault."""


@dataclass(frozen=True)
class SavedModel:
    network: Network
    metadata: dict
    optimizer_state: dict = field(default_factory=dict)  # the optimiser's arrays and "steps" at these weights ({} when not saved)


def save_model(path: str | Path, network: Network, *, metadata: dict | None = None,
               optimizer_state: dict | None = None) -> Path:
    """Write ``network`` and ``metadata`` (JSON-serialisable) to ``path`` atomically, with the
    optimiser's state at these weights when given (``Trainer.optimizer_state``: a run resumed from
    the file then goes on exactly).

    The file is written beside its destination under a temporary name and renamed
    into place, so a crash or a full disk never leaves half a model behind.
    """
    path = Path(path)
    meta = dict(metadata or {})
    meta.update(format=FORMAT, format_version=FORMAT_VERSION, nnstudio_version=__version__,
                sizes=list(network.sizes), activation=network.activation, dtype=network.dtype.name)
    state = dict(optimizer_state or {})
    steps = int(state.pop("steps", 0))
    names = sorted(state)
    if any(not OPTIMIZER_ARRAY.fullmatch(n) for n in names):
        raise ValueError(f"unknown optimiser state arrays {[n for n in names if not OPTIMIZER_ARRAY.fullmatch(n)]}")
    meta.pop("optimizer_state", None)
    if names or steps:
        meta["optimizer_state"] = {"arrays": names, "steps": steps}
    arrays = {"metadata": np.array(json.dumps(meta))}
    for i, (w, b) in enumerate(zip(network.weights, network.biases)):
        arrays[f"W{i}"], arrays[f"b{i}"] = w, b
    for name in names:
        arrays[f"optimizer_{name}"] = state[name]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        np.savez(f, **arrays)
    return path


def read_metadata(path: str | Path) -> dict:
    """Only the metadata of a model file (cheap: the weights are not read)."""
    path = Path(path)
    with NpzArchive(path) as archive:
        return _metadata(path, archive)


def load_model(path: str | Path) -> SavedModel:
    """Read a model file, checking every array's header against the declared layer sizes
    before reading its data, so a damaged or hostile file costs neither a crash nor memory."""
    path = Path(path)
    with NpzArchive(path) as archive:
        meta = _metadata(path, archive)
        sizes = meta["sizes"]
        shapes = [s for fan_in, fan_out in zip(sizes[:-1], sizes[1:]) for s in ((fan_in, fan_out), (fan_out,))]
        state_names, steps = _optimizer_names(path, meta, len(shapes))
        expected = ({"metadata"} | {f"{k}{i}" for k in "Wb" for i in range(len(sizes) - 1)}
                    | {f"optimizer_{n}" for n in state_names})
        extra = set(archive.names) - expected
        if extra:
            raise ModelFileError(f"{path.name}: unexpected arrays {sorted(extra)}")
        weights, biases = [], []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            weights.append(archive.array(f"W{i}", (fan_in, fan_out)))
            biases.append(archive.array(f"b{i}", (fan_out,)))
        state = {n: archive.array(f"optimizer_{n}", shapes[int(OPTIMIZER_ARRAY.fullmatch(n)[2])])
                 for n in state_names}
        if steps:
            state["steps"] = np.array(steps)
    dtype = weights[0].dtype
    network = Network.__new__(Network)
    network.sizes, network.activation, network.dtype = tuple(sizes), meta["activation"], dtype
    network.weights = [w.astype(dtype, copy=False) for w in weights]
    network.biases = [b.astype(dtype, copy=False) for b in biases]
    return SavedModel(network, meta, state)


def _optimizer_names(path: Path, meta: dict, parameters: int) -> tuple[list[str], int]:
    """The optimiser state arrays the metadata declares (each checked: a known kind, a parameter
    index below ``parameters``) and the step count; none for a file saved without them."""
    declared = meta.get("optimizer_state")
    if declared is None:
        return [], 0
    names = declared.get("arrays") if isinstance(declared, dict) else None
    steps = declared.get("steps", 0) if isinstance(declared, dict) else None
    if (not isinstance(names, list) or len(names) > 3 * parameters or len(set(map(str, names))) != len(names)
            or not all(isinstance(n, str) and OPTIMIZER_ARRAY.fullmatch(n)
                       and int(OPTIMIZER_ARRAY.fullmatch(n)[2]) < parameters for n in names)):
        raise ModelFileError(f"{path.name}: optimiser state {str(names)[:80]} does not fit the layers")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= 10 ** 12:
        raise ModelFileError(f"{path.name}: optimiser step count {str(steps)[:40]} is not a whole number")
    return names, steps


MAX_METADATA_CHARS = 20_000_000
# RuntimeError: zipfile's answer to an entry flagged as encrypted ("password required").
_READ_ERRORS = (OSError, ValueError, EOFError, NotImplementedError, RecursionError, MemoryError, OverflowError,
                RuntimeError, zipfile.BadZipFile, zlib.error)


class NpzArchive:
    """The ``.npy`` members of an ``.npz`` zip, read one by one after checking their headers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            if not stat.S_ISREG(path.stat().st_mode):  # a folder, or a named pipe that would block
                raise ModelFileError(f"{path}: not a regular file")
            with open(path, "rb") as f:
                magic = f.read(4)
        except FileNotFoundError:
            raise ModelFileError(f"{path}: no such file") from None
        except OSError as exc:
            raise ModelFileError(f"{path}: cannot be read ({exc.strerror})") from None
        if magic != b"PK\x03\x04":
            raise ModelFileError(f"{path.name}: not an nnstudio model file (not an .npz archive)")
        try:
            self.zip = zipfile.ZipFile(path)
        except _READ_ERRORS as exc:
            raise ModelFileError(f"{path.name}: not an nnstudio model file ({exc})") from None
        if any(info.flag_bits & 0x1 for info in self.zip.infolist()):
            self.zip.close()
            raise ModelFileError(f"{path.name}: its entries are encrypted (password-protected), "
                                 "which an nnstudio model never is")
        self.names = [n.removesuffix(".npy") for n in self.zip.namelist()]

    def __enter__(self) -> "NpzArchive":
        return self

    def __exit__(self, *exc) -> None:
        self.zip.close()

    def array(self, key: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Member ``key``; float weights of ``shape``, or (``shape`` None) the metadata string."""
        name = self.path.name
        if key not in self.names:
            raise ModelFileError(f"{name}: missing array {key}")
        try:
            with self.zip.open(key + ".npy") as f:
                version = np.lib.format.read_magic(f)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                found_shape, fortran, dtype = read_header(f)
                if dtype.hasobject:
                    raise ModelFileError(f"{name}: array {key} holds pickled objects, which are never loaded")
                if shape is None:
                    if dtype.kind != "U" or found_shape != () or dtype.itemsize > 4 * MAX_METADATA_CHARS:
                        raise ModelFileError(f"{name}: unreadable metadata (not a JSON string)")
                elif found_shape != shape:
                    raise ModelFileError(f"{name}: array {key} has shape {found_shape}, "
                                         f"the layer sizes say {shape}")
                elif dtype not in (np.float32, np.float64):
                    raise ModelFileError(f"{name}: array {key} has dtype {dtype}, expected float32 or float64")
                size = dtype.itemsize * int(np.prod(found_shape))
                data = f.read(size)
        except ModelFileError:
            raise
        except _READ_ERRORS as exc:
            raise ModelFileError(f"{name}: array {key} is unreadable ({exc})") from None
        if len(data) != size:
            raise ModelFileError(f"{name}: array {key} is truncated ({len(data)} of {size} bytes)")
        a = np.frombuffer(data, dtype).reshape(found_shape, order="F" if fortran else "C").copy()
        if shape is not None and not np.isfinite(a).all():
            raise ModelFileError(f"{name}: array {key} holds NaN or infinite values")
        return a


def _metadata(path: Path, archive: NpzArchive) -> dict:
    if "metadata" not in archive.names:
        raise ModelFileError(f"{path.name}: not an nnstudio model file (no metadata)")
    try:
        meta = json.loads(str(archive.array("metadata")[()]))
    except (ValueError, RecursionError, OverflowError) as exc:
        raise ModelFileError(f"{path.name}: unreadable metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path.name}: not an nnstudio model file (format is not {FORMAT!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path.name}: model format version {meta.get('format_version')} is not supported")
    sizes = meta.get("sizes")
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and 0 < s <= 100_000 for s in sizes)):
        raise ModelFileError(f"{path.name}: layer sizes {sizes!r} are not a list of positive integers")
    if parameter_count(sizes) > MAX_PARAMETERS:
        raise ModelFileError(f"{path.name}: layer sizes {sizes} make more than {MAX_PARAMETERS:,} parameters")
    if meta.get("activation") not in ACTIVATIONS:
        raise ModelFileError(f"{path.name}: unknown activation {meta.get('activation')!r}")
    return meta
