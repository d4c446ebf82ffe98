"""The IDX reader and load_mnist on small files built here: good ones, broken ones, fuzzed ones."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnstudio.core.idx import DataError, read_idx
from nnstudio.core.mnist import FILE_NAMES, load_mnist


def idx_bytes(array: np.ndarray, dtype_code: int = 0x08) -> bytes:
    """Encode ``array`` as IDX by hand, independently of the code under test."""
    header = struct.pack(">BBBB", 0, 0, dtype_code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def write(path: Path, data: bytes, *, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(data, compresslevel=1) if compress else data)
    return path


def tiny_set(folder: Path, *, n_train: int = 7, n_test: int = 3, size: int = 4, compress: bool = False) -> dict:
    """Write four small valid files under the standard names; return the arrays."""
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, size, size), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, size, size), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    suffix = ".gz" if compress else ""
    for key, array in arrays.items():
        write(folder / (FILE_NAMES[key] + suffix), idx_bytes(array), compress=compress)
    return arrays


IMAGES = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 3, 5)


# --- good files -------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_reads_images_raw_and_gzip(tmp_path, compress):
    path = write(tmp_path / "images.idx", idx_bytes(IMAGES), compress=compress)
    result = read_idx(path)
    assert result.dtype == np.uint8
    assert result.shape == (2, 3, 5)
    np.testing.assert_array_equal(result, IMAGES)


def test_gzip_is_detected_by_content_not_name(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    gz_named_raw = write(tmp_path / "labels.gz", idx_bytes(labels))
    raw_named_gz = write(tmp_path / "labels.idx", idx_bytes(labels), compress=True)
    np.testing.assert_array_equal(read_idx(gz_named_raw), labels)
    np.testing.assert_array_equal(read_idx(str(raw_named_gz)), labels)


def test_result_is_writable(tmp_path):
    result = read_idx(write(tmp_path / "a.idx", idx_bytes(IMAGES)))
    result[0, 0, 0] = 255  # callers may normalise in place; frombuffer on bytes would forbid it
    assert result[0, 0, 0] == 255


# --- broken files: each message names the file and the fault -----------------------------------


def error_of(path: Path) -> str:
    with pytest.raises(DataError) as info:
        read_idx(path)
    message = str(info.value)
    assert path.name in message
    return message


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_pixels(tmp_path, compress):
    path = write(tmp_path / "cut.idx", idx_bytes(IMAGES)[:-7], compress=compress)
    message = error_of(path)
    assert "truncated" in message and "expected 30 bytes" in message and "found 23" in message


def test_truncated_header(tmp_path):
    assert "truncated" in error_of(write(tmp_path / "short.idx", idx_bytes(IMAGES)[:10]))
    assert "truncated" in error_of(write(tmp_path / "tiny.idx", b"\0\0"))


def test_truncated_gzip_stream(tmp_path):
    whole = gzip.compress(idx_bytes(IMAGES))
    path = write(tmp_path / "cut.gz", whole[: len(whole) // 2])
    assert "truncated" in error_of(path)


def test_corrupt_gzip_stream(tmp_path):
    whole = bytearray(gzip.compress(idx_bytes(np.zeros((50, 50), np.uint8))))
    whole[-6] ^= 0xFF  # inside the CRC/length trailer
    message = error_of(write(tmp_path / "bad.gz", bytes(whole)))
    assert "gzip" in message


def test_not_gzip_despite_magic(tmp_path):
    message = error_of(write(tmp_path / "x.gz", b"\x1f\x8b" + b"not really gzip at all"))
    assert "not gzip data" in message


def test_bad_magic(tmp_path):
    message = error_of(write(tmp_path / "x.idx", bytes.fromhex("12345678") + bytes(20)))
    assert "bad magic 0x12345678" in message and "not an IDX file" in message


def test_unsupported_dtype(tmp_path):
    floats = idx_bytes(np.zeros(4, np.float32), dtype_code=0x0D)
    message = error_of(write(tmp_path / "floats.idx", floats))
    assert "unsupported data type 0x0D" in message and "float32" in message


def test_unknown_dtype(tmp_path):
    message = error_of(write(tmp_path / "odd.idx", bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 7])))
    assert "0x42" in message


def test_zero_dimensions(tmp_path):
    assert "dimensions 0" in error_of(write(tmp_path / "scalar.idx", bytes([0, 0, 8, 0, 5])))


def test_too_many_dimensions(tmp_path):
    # 100 dimensions of size 1 and one byte: well-formed IDX, beyond what numpy can hold.
    data = bytes([0, 0, 8, 100]) + struct.pack(">100I", *[1] * 100) + b"\x07"
    assert "number of dimensions 100" in error_of(write(tmp_path / "deep.idx", data))


def test_dimension_of_size_zero(tmp_path):
    message = error_of(write(tmp_path / "empty.idx", idx_bytes(np.zeros((0, 28, 28), np.uint8))))
    assert "dimension 0 is 0" in message


def test_trailing_bytes(tmp_path):
    for compress in (False, True):
        path = write(tmp_path / f"long{compress}.idx", idx_bytes(IMAGES) + b"garbage", compress=compress)
        assert "7 trailing bytes" in error_of(path)


def test_missing_file_and_directory(tmp_path):
    assert "cannot read" in error_of(tmp_path / "nowhere.idx")
    (tmp_path / "folder.idx").mkdir()
    assert "cannot read" in error_of(tmp_path / "folder.idx")


# --- load_mnist on small sets --------------------------------------------------------------------


def load_error(folder: Path, *names: str) -> str:
    with pytest.raises(DataError) as info:
        load_mnist(folder)
    message = str(info.value)
    for name in names:
        assert name in message
    return message


def test_mismatched_counts_name_both_files(tmp_path):
    tiny_set(tmp_path)
    write(tmp_path / FILE_NAMES["train_labels"], idx_bytes(np.zeros(6, np.uint8)))
    message = load_error(tmp_path, FILE_NAMES["train_images"], FILE_NAMES["train_labels"])
    assert "7 images" in message and "6 labels" in message


def test_out_of_range_label(tmp_path):
    tiny_set(tmp_path)
    write(tmp_path / FILE_NAMES["test_labels"], idx_bytes(np.array([1, 10, 200], np.uint8)))
    message = load_error(tmp_path, FILE_NAMES["test_labels"])
    assert "label 10 at index 1" in message and "out of range 0-9" in message


def test_images_must_be_3d(tmp_path):
    tiny_set(tmp_path)
    write(tmp_path / FILE_NAMES["train_images"], idx_bytes(np.zeros((7, 16), np.uint8)))
    assert "3-D" in load_error(tmp_path, FILE_NAMES["train_images"])


def test_labels_must_be_1d(tmp_path):
    tiny_set(tmp_path)
    write(tmp_path / FILE_NAMES["train_labels"], idx_bytes(np.zeros((7, 1), np.uint8)))
    assert "1-D" in load_error(tmp_path, FILE_NAMES["train_labels"])


def test_train_and_test_image_sizes_must_agree(tmp_path):
    tiny_set(tmp_path)
    write(tmp_path / FILE_NAMES["test_images"], idx_bytes(np.zeros((3, 5, 4), np.uint8)))
    message = load_error(tmp_path, FILE_NAMES["train_images"], FILE_NAMES["test_images"])
    assert "4x4" in message and "5x4" in message


def test_gzip_preferred_over_unpacked_copy(tmp_path):
    arrays = tiny_set(tmp_path)
    stale = np.zeros_like(arrays["train_labels"])
    write(tmp_path / (FILE_NAMES["train_labels"] + ".gz"), idx_bytes(stale), compress=True)
    np.testing.assert_array_equal(load_mnist(tmp_path).train_labels, stale)


# --- fuzzing: valid data or DataError, never anything else -------------------------------------

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
VALID = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))


def check_read(path: Path) -> None:
    try:
        result = read_idx(path)
    except DataError as exc:
        assert path.name in str(exc)
        return
    assert result.dtype == np.uint8 and result.ndim >= 1 and result.size > 0


@st.composite
def mutations(draw, original: bytes) -> bytes:
    """``original`` with a few bytes changed, cut, or appended."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "append", "insert"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[position] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[position:]
        elif kind == "append":
            data += draw(st.binary(min_size=1, max_size=8))
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


@FUZZ
@given(data=st.binary(max_size=64))
def test_fuzz_random_bytes(tmp_path, data):
    check_read(write(tmp_path / "random.idx", data))
    check_read(write(tmp_path / "random.gz", b"\x1f\x8b" + data))


@FUZZ
@given(data=mutations(VALID))
def test_fuzz_mutated_raw(tmp_path, data):
    check_read(write(tmp_path / "mutated.idx", data))


@FUZZ
@given(data=mutations(gzip.compress(VALID)))
def test_fuzz_mutated_gzip(tmp_path, data):
    check_read(write(tmp_path / "mutated.gz", data))


@pytest.fixture(scope="module")
def tiny_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    tiny_set(folder, n_train=3, n_test=2, size=2)
    return folder


@FUZZ
@given(key=st.sampled_from(sorted(FILE_NAMES)), data=st.data())
def test_fuzz_load_mnist_with_one_mutated_file(tmp_path, tiny_template, key, data):
    folder = tmp_path / "set"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(tiny_template, folder)
    path = folder / FILE_NAMES[key]
    path.write_bytes(data.draw(mutations(path.read_bytes())))
    try:
        mnist = load_mnist(folder)
    except DataError:
        return
    assert mnist.train_images.ndim == 3 and mnist.test_images.shape[1:] == mnist.train_images.shape[1:]
    assert len(mnist.train_images) == len(mnist.train_labels) and len(mnist.test_images) == len(mnist.test_labels)
    assert mnist.train_labels.max() <= 9 and mnist.test_labels.max() <= 9


# --- issue 8 ----------------------------------------------------------------------------------------


def test_valid_gzip_followed_by_junk_says_junk_not_not_gzip(tmp_path):
    path = write(tmp_path / "x.gz", gzip.compress(idx_bytes(IMAGES)) + b"this is junk, not a gzip member")
    message = error_of(path)
    assert "junk after the end of the gzip data" in message and "not gzip data" not in message


def test_gzip_bomb_is_bounded_by_the_headers_shape(tmp_path, monkeypatch):
    """Gigabytes of zeros after a tiny image: read up to the declared size plus one byte, counted no further."""
    import zlib

    from nnstudio.core import idx

    read = []
    real_read = gzip.GzipFile.read

    def counting(self, size=-1):
        data = real_read(self, size)
        read.append(len(data))
        return data

    monkeypatch.setattr(gzip.GzipFile, "read", counting)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    body = compressor.compress(idx_bytes(IMAGES))
    zeros = bytes(1 << 20)
    for _ in range(64):  # 64 MiB once decompressed, 64 KB on disk: 16 times what may be read
        body += compressor.compress(zeros)
    body += compressor.flush()
    path = write(tmp_path / "bomb.gz", body)
    message = error_of(path)
    assert f"more than {idx._MAX_TRAILING_COUNT} trailing bytes" in message
    assert sum(read) < 4 * idx._MAX_TRAILING_COUNT


def test_a_header_declaring_more_than_the_limit_is_refused_unread(tmp_path):
    header = struct.pack(">BBBB", 0, 0, 8, 3) + struct.pack(">3I", 100_000_000, 28, 28)
    message = error_of(write(tmp_path / "huge", header + bytes(100)))
    assert "more than the 2,147,483,648 nnstudio reads" in message


@pytest.mark.parametrize("kind", ["folder", "loop", "dangling", "fifo"])
def test_a_folder_or_symlink_loop_in_place_of_a_data_file_says_so(tmp_path, kind):
    import os

    tiny_set(tmp_path)
    target = tmp_path / FILE_NAMES["train_labels"]
    target.unlink()
    if kind == "folder":
        target.mkdir()
        expected = "train-labels-idx1-ubyte is a folder, not a file"
    elif kind == "loop":
        target.symlink_to(target)
        expected = "train-labels-idx1-ubyte is a symbolic link that loops back on itself"
    elif kind == "dangling":
        target.symlink_to(tmp_path / "gone")
        expected = "train-labels-idx1-ubyte is a symbolic link to"
    else:
        os.mkfifo(target)
        expected = "train-labels-idx1-ubyte is not a regular file (a named pipe or a device)"
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path)
    assert expected in str(info.value) and "missing" not in str(info.value)
