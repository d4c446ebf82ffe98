"""nnstudio-train: a real (short) run writes its folder and ends with the test accuracy; bad flags exit 2."""

import csv
import signal
import subprocess
import sys
import time

import pytest

from nnstudio.cli.train import main
from nnstudio.core.model_file import load_model


def test_a_short_run_writes_model_history_and_plot(tmp_path, mnist_dir, capsys):
    out = tmp_path / "run"
    code = main(["--data-dir", str(mnist_dir), "--epochs", "2", "--hidden", "64", "--out", str(out), "--quiet"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert lines[-1].startswith("test accuracy: 0.")
    assert float(lines[-1].split(": ")[1]) >= 0.94
    assert sum(line.startswith("epoch ") for line in lines) == 2
    assert {p.name for p in out.iterdir()} == {"model.npz", "history.csv", "training_history.png", "checkpoints.npz"}
    with open(out / "history.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["1", "2"]
    saved = load_model(out / "model.npz")
    assert saved.network.sizes == (784, 64, 10)
    assert saved.metadata["config"]["max_epochs"] == 2 and saved.metadata["data_checksum"]
    assert (out / "training_history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("flags, message", [
    (["--lr", "fast"], "invalid float value"),
    (["--hidden", "128,x"], "not a comma-separated list"),
    (["--lr", "50"], "learning rate must be between 1e-5 and 10"),
    (["--patience", "-1"], "patience must be 0"),
    (["--preset", "turbo"], "invalid choice"),
    (["--bogus"], "unrecognized arguments"),
])
def test_bad_flags_exit_2_with_a_message(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(flags)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_module_entry_point_and_presets_in_help():
    result = subprocess.run([sys.executable, "-m", "nnstudio.train", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for preset in ("seed", "seed-slow", "fast", "best"):
        assert preset in result.stdout


def test_a_damaged_data_folder_is_an_error_not_a_traceback(tmp_path, mnist_dir, capsys):
    for f in mnist_dir.glob("*.gz"):
        (tmp_path / f.name).write_bytes(f.read_bytes()[:2000] if "t10k-labels" in f.name else f.read_bytes())
    assert main(["--data-dir", str(tmp_path), "--epochs", "1", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "t10k-labels-idx1-ubyte.gz" in err and "Traceback" not in err


def test_an_unusable_out_folder_is_refused_before_training(tmp_path, mnist_dir, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(SystemExit) as exit_:
        main(["--data-dir", str(mnist_dir), "--out", str(blocker / "run")])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert "cannot write into" in captured.err and "Not a directory" in captured.err
    assert captured.out == ""  # refused before loading data or training


def test_an_explicit_folder_without_mnist_says_what_is_missing(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "missing train-images-idx3-ubyte" in err and "leave out --data-dir" in err


def test_ctrl_c_ends_the_run_and_still_saves_it(tmp_path, mnist_dir):
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "nnstudio.train", "--data-dir", str(mnist_dir), "--epochs", "50", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("epoch   1"):
            process.send_signal(signal.SIGINT)
            break
    rest, err = process.communicate(timeout=60)
    lines += rest.splitlines()
    assert process.returncode == 0, err
    assert "stopping: the best weights so far will be saved" in err
    assert lines[-1].startswith("test accuracy: 0.9")
    assert sum(line.startswith("epoch ") for line in lines) < 5
    assert {p.name for p in out.iterdir()} == {"model.npz", "history.csv", "training_history.png", "checkpoints.npz"}


def start_training(tmp_path, mnist_dir, *flags):
    return subprocess.Popen(
        [sys.executable, "-m", "nnstudio.train", "--data-dir", str(mnist_dir), "--out", str(tmp_path / "run"), *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_ctrl_c_in_the_first_epoch_saves_no_untrained_model(tmp_path, mnist_dir):
    process = start_training(tmp_path, mnist_dir, "--epochs", "5")
    for line in process.stdout:
        if line.startswith("nnstudio "):  # training starts right after this line
            process.send_signal(signal.SIGINT)
            break
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "no epoch finished, nothing saved" in err and "Traceback" not in err
    assert "test accuracy" not in out
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("delay", [0.3, 0.6, 1.0])  # from when main() has taken over Ctrl+C
def test_ctrl_c_during_start_up_never_crashes(tmp_path, mnist_dir, delay):
    process = start_training(tmp_path, mnist_dir, "--epochs", "2")
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode in (0, 130), err
    assert "Traceback" not in err and "Fatal" not in err
    if process.returncode == 130:
        assert not (tmp_path / "run").exists()
    else:
        assert out.splitlines()[-1].startswith("test accuracy: 0.9")


def test_a_validation_set_larger_than_the_data_is_a_usage_error(tmp_path, mnist_dir, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--data-dir", str(mnist_dir), "--validation-size", "60000", "--out", str(tmp_path / "run")])
    assert exit_.value.code == 2
    assert "validation size must be between 1 and 59999" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
