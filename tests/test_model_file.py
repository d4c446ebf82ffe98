"""Model files round-trip exactly and refuse anything malformed, inconsistent or pickled."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

from nnstudio.core.model_file import ModelFileError, load_model, read_metadata, save_model
from nnstudio.core.network import Network


@pytest.fixture
def network():
    net = Network((12, 7, 5, 3), "tanh", seed=4)
    net.biases[1][:] = np.arange(5) / 10
    return net


def test_round_trip_keeps_weights_and_metadata(tmp_path, network):
    path = save_model(tmp_path / "m.npz", network, metadata={"history": [{"epoch": 1}], "data_checksum": "abc"})
    loaded = load_model(path)
    assert loaded.network.sizes == (12, 7, 5, 3) and loaded.network.activation == "tanh"
    for a, b in zip(loaded.network.parameters(), network.parameters()):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.float32
    x = np.random.default_rng(0).random((4, 12), dtype=np.float32)
    np.testing.assert_array_equal(loaded.network.predict_proba(x), network.predict_proba(x))
    meta = read_metadata(path)
    assert meta["history"] == [{"epoch": 1}] and meta["data_checksum"] == "abc"
    assert meta["nnstudio_version"] and meta["sizes"] == [12, 7, 5, 3]
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary file left
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # readable as any file the user writes


def test_a_failed_write_leaves_the_old_file(tmp_path, network, monkeypatch):
    path = save_model(tmp_path / "m.npz", network)
    before = path.read_bytes()

    def disk_full_halfway(f, **arrays):
        f.write(b"PK\x03\x04 half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full_halfway)
    with pytest.raises(OSError, match="No space"):
        save_model(path, network)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def rewrite(path, **arrays):
    with np.load(path) as z:
        contents = {k: z[k] for k in z.files}
    contents.update(arrays)
    contents = {k: v for k, v in contents.items() if v is not None}
    np.savez(path, **contents)


def flip_a_byte_inside(path, member):
    """Corrupt a stored member's data so the zip's CRC check fails."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    data = bytearray(path.read_bytes())
    data[info.header_offset + 30 + len(member) + 200] ^= 0xFF
    path.write_bytes(bytes(data))


def forge_header(path, member, shape):
    """A member whose header promises a full array but whose data stops after 64 bytes."""
    rewrite(path)
    with np.load(path) as z:
        contents = {k: z[k] for k in z.files}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as z:
        for key, value in contents.items():
            if key + ".npy" == member:
                z.writestr(member, buffer.getvalue() + b"\0" * 64)
            else:
                one = io.BytesIO()
                np.save(one, value)
                z.writestr(key + ".npy", one.getvalue())


def metadata_of(path):
    return json.loads(str(np.load(path)["metadata"]))


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_text("hello"), "not an .npz archive"),
    (lambda p: p.write_bytes(p.read_bytes()[:200]), "not an nnstudio model file"),
    (lambda p: np.savez(p, W0=np.zeros((2, 2))), "no metadata"),
    (lambda p: np.savez(p, metadata=np.array([{"a": 1}], dtype=object)), "unreadable metadata"),
    (lambda p: rewrite(p, metadata=np.array("{not json")), "unreadable metadata"),
    (lambda p: rewrite(p, metadata=np.array(json.dumps({**metadata_of(p), "format": "other"}))), "format"),
    (lambda p: rewrite(p, metadata=np.array(json.dumps({**metadata_of(p), "sizes": [12, -7, 5, 3]}))), "layer sizes"),
    (lambda p: rewrite(p, metadata=np.array(json.dumps({**metadata_of(p), "activation": "gelu"}))), "activation"),
    (lambda p: rewrite(p, W1=np.zeros((7, 4), np.float32)), "W1 has shape"),
    (lambda p: rewrite(p, b2=None), "missing array b2"),
    (lambda p: rewrite(p, W0=np.full((12, 7), np.nan, np.float32)), "NaN"),
    (lambda p: rewrite(p, W0=np.zeros((12, 7), np.int32)), "dtype"),
    (lambda p: rewrite(p, W0=np.array([None] * 84, dtype=object).reshape(12, 7)), "pickled objects"),
    (lambda p: rewrite(p, metadata=np.array("[" * 100_000 + "]" * 100_000)), "unreadable metadata"),
    (lambda p: flip_a_byte_inside(p, "W0.npy"), "W0 is unreadable"),
    (lambda p: rewrite(p, metadata=np.array(json.dumps({**metadata_of(p), "sizes": [100_000, 100_000]}))),
     "more than 50,000,000 parameters"),
    (lambda p: forge_header(p, "W0.npy", (12, 7)), "W0 is truncated"),
    (lambda p: rewrite(p, extra=np.zeros(3)), "unexpected arrays"),
])
def test_bad_files_are_refused_with_a_reason(tmp_path, network, damage, message):
    path = save_model(tmp_path / "m.npz", network)
    damage(path)
    with pytest.raises(ModelFileError, match=message) as caught:
        load_model(path)
    assert "m.npz" in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        load_model(tmp_path / "nothing.npz")


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_pickle_inside_the_zip_is_never_unpickled(tmp_path, network):
    path = save_model(tmp_path / "m.npz", network)

    class Boom:  # unpickling this would end the test run with SystemExit
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    np.save(tmp_path / "W0.npy", np.array([Boom()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "a") as z:
        z.write(tmp_path / "W0.npy", "W0.npy")
    with pytest.raises(ModelFileError, match="W0 holds pickled objects"):
        load_model(path)


# --- issue 8 ----------------------------------------------------------------------------------------


def test_encrypted_flag_entries_are_a_model_file_error(tmp_path, network):
    from hostile import set_encrypted_flag

    path = save_model(tmp_path / "m.npz", network)
    set_encrypted_flag(path)
    for read in (load_model, read_metadata):
        with pytest.raises(ModelFileError, match="encrypted"):
            read(path)


def test_a_named_pipe_or_folder_as_model_is_refused_without_blocking(tmp_path):
    pipe = tmp_path / "pipe.npz"
    os.mkfifo(pipe)
    with pytest.raises(ModelFileError, match="not a regular file"):
        load_model(pipe)
    with pytest.raises(ModelFileError, match="not a regular file"):
        read_metadata(tmp_path)
