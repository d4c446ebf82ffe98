"""nnstudio-predict on real MNIST test digits saved as PNG and JPEG pictures, and on junk."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtGui import QImage

from hostile import png_header_only, set_encrypted_flag
from nnstudio.cli.predict import main
from nnstudio.core.model_file import save_model


@pytest.fixture(scope="module")
def model_file(quick_network, tmp_path_factory):
    """The session's quick network (20,000 real digits, 2 epochs), saved as a model file."""
    return save_model(tmp_path_factory.mktemp("model") / "quick.npz", quick_network, metadata={})


def save_picture(path, digit: np.ndarray, *, scale: int, dark_on_light: bool) -> None:
    pixels = np.kron(digit, np.ones((scale, scale), np.uint8))
    if dark_on_light:
        pixels = 255 - pixels
    pixels = np.ascontiguousarray(pixels)
    h, w = pixels.shape
    assert QImage(pixels.data, w, h, w, QImage.Format.Format_Grayscale8).save(str(path))


@pytest.fixture(scope="module")
def pictures(mnist, tmp_path_factory):
    """Forty real test digits as pictures: PNG and JPEG, both polarities, 280 to 1120 pixels wide."""
    folder = tmp_path_factory.mktemp("pictures")
    paths, labels = [], []
    for i in range(40):
        suffix = "png" if i % 2 else "jpg"
        path = folder / f"digit{i:02d}_label{mnist.test_labels[i]}.{suffix}"
        save_picture(path, mnist.test_images[i], scale=10 + 10 * (i % 4), dark_on_light=i % 3 == 0)
        paths.append(path)
        labels.append(int(mnist.test_labels[i]))
    return paths, labels


def parse(output: str) -> list[list[str]]:
    return [line.split("\t") for line in output.splitlines()]


def test_every_picture_gets_a_line_and_most_are_right(model_file, pictures, capsys):
    paths, labels = pictures
    assert main(["--model", str(model_file), *map(str, paths)]) == 0
    lines = parse(capsys.readouterr().out)
    assert [line[0] for line in lines] == [str(p) for p in paths]
    digits = [int(line[1]) for line in lines]
    confidences = [line[2] for line in lines]
    assert all(len(c.split(".")[1]) == 4 and 0 <= float(c) <= 1 for c in confidences)
    assert np.mean(np.array(digits) == labels) >= 0.9


def test_bad_inputs_get_an_error_line_and_the_rest_still_run(model_file, pictures, tmp_path, capsys):
    paths, labels = pictures
    junk = tmp_path / "x.png"
    junk.write_bytes(np.random.default_rng(0).bytes(500))
    text = tmp_path / "notes.txt"
    text.write_text("not a digit\n")
    missing = tmp_path / "missing.png"
    blank = tmp_path / "blank.png"
    save_picture(blank, np.zeros((28, 28), np.uint8), scale=5, dark_on_light=True)
    args = [paths[0], junk, text, missing, blank, paths[1]]

    assert main(["--model", str(model_file), *map(str, args)]) == 1
    lines = parse(capsys.readouterr().out)
    assert [line[0] for line in lines] == [str(a) for a in args]
    assert lines[1][1].startswith("error: not an image")
    assert lines[2][1].startswith("error: not an image")
    assert lines[3][1] == "error: no such file"
    assert lines[4][1].startswith("error: blank image")
    assert len(lines[0]) == len(lines[5]) == 3  # the good ones were still classified
    assert int(lines[0][1]) == labels[0] and int(lines[5][1]) == labels[1]


def test_usage_errors_exit_2(model_file, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2
    not_a_model = tmp_path / "model.npz"
    not_a_model.write_text("nope")
    with pytest.raises(SystemExit) as exit_:
        main(["--model", str(not_a_model), "x.png"])
    assert exit_.value.code == 2
    assert "cannot use the model" in capsys.readouterr().err


def test_runs_as_a_module_in_a_fresh_process(model_file, pictures, tmp_path):
    paths, labels = pictures
    run_folder = tmp_path / "run"
    run_folder.mkdir()
    (run_folder / "model.npz").write_bytes(model_file.read_bytes())
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(paths[1].read_bytes()[:300])
    result = subprocess.run([sys.executable, "-m", "nnstudio.cli.predict", "--model", str(run_folder),
                             str(paths[2]), str(paths[3]), "no/such/file.png", str(truncated)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    lines = parse(result.stdout)
    assert [int(line[1]) for line in lines[:2]] == labels[2:4]
    assert lines[2] == ["no/such/file.png", "error: no such file"]
    assert lines[3][0] == str(truncated) and lines[3][1].startswith("error: not an image")
    assert result.stderr == ""  # Qt's and libpng's own complaints stay out of the way


# --- issue 8 ----------------------------------------------------------------------------------------


def test_too_large_png_says_too_large_with_the_limit(model_file, pictures, tmp_path, capsys):
    big = tmp_path / "big.png"
    png_header_only(big, 10000, 10000)
    assert main(["--model", str(model_file), str(big), str(pictures[0][0])]) == 1
    lines = parse(capsys.readouterr().out)
    assert lines[0] == [str(big), "error: too large: 10000x10000 pixels (the limit is 50 megapixels)"]
    assert len(lines[1]) == 3


def test_encrypted_flag_model_exits_2_with_a_message(model_file, tmp_path, capsys):
    locked = tmp_path / "locked.npz"
    locked.write_bytes(model_file.read_bytes())
    set_encrypted_flag(locked)
    with pytest.raises(SystemExit) as exit_:
        main(["--model", str(locked), "x.png"])
    assert exit_.value.code == 2
    assert "encrypted" in capsys.readouterr().err


def test_named_pipe_image_or_model_does_not_hang(model_file, pictures, tmp_path):
    import os

    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)
    result = subprocess.run([sys.executable, "-m", "nnstudio.cli.predict", "--model", str(model_file),
                             str(pipe), str(pictures[0][0])], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    lines = parse(result.stdout)
    assert lines[0] == [str(pipe), "error: not a regular file (a named pipe or a device), not an image"]
    assert len(lines[1]) == 3
    result = subprocess.run([sys.executable, "-m", "nnstudio.cli.predict", "--model", str(pipe),
                             str(pictures[0][0])], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not a regular file" in result.stderr
