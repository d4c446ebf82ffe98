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
    (["--min-delta", "nan"], "min delta must be a finite number"),
    (["--min-delta", "inf"], "min delta must be a finite number"),
    (["--lr", "nan"], "learning rate must be a finite number"),
    (["--momentum=-inf"], "momentum must be a finite number"),
    (["--weight-decay", "nan"], "weight decay must be a finite number"),
    (["--hidden", "8192,8192"], "more than the limit of 50,000,000"),
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
    process, lines, err = signalled_after_the_first_epoch(tmp_path, mnist_dir, signal.SIGINT)
    assert process.returncode == 0, err
    assert "stopping: the best weights so far will be saved" in err
    assert lines[-1].startswith("test accuracy: 0.9")
    assert sum(line.startswith("epoch ") for line in lines) < 5
    assert {p.name for p in out.iterdir()} == {"model.npz", "history.csv", "training_history.png", "checkpoints.npz"}


def start_training(tmp_path, mnist_dir, *flags):
    return subprocess.Popen(
        [sys.executable, "-m", "nnstudio.train", "--data-dir", str(mnist_dir), "--out", str(tmp_path / "run"), *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def signalled_after_the_first_epoch(tmp_path, mnist_dir, sig):
    """Train up to 50 epochs into ``tmp_path / "run"``, send ``sig`` once epoch 1 is printed; the
    finished process, its stdout lines and its stderr."""
    process = start_training(tmp_path, mnist_dir, "--epochs", "50")
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("epoch   1"):
            process.send_signal(sig)
            break
    rest, err = process.communicate(timeout=60)
    return process, lines + rest.splitlines(), err


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


def wait_until_signals_are_taken_over(process, timeout: float = 60) -> None:
    """Wait (on Linux) until the process catches SIGTERM, which main() takes over with Ctrl+C: the
    interpreter's own start-up, however slow on a busy machine, is then behind it."""
    status = f"/proc/{process.pid}/status"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(status) as f:
                caught = next(int(line.split()[1], 16) for line in f if line.startswith("SigCgt:"))
        except (OSError, StopIteration):
            return  # not Linux: fall back to the delay alone
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.01)


@pytest.mark.parametrize("delay", [0.0, 0.3, 1.0])  # from when main() has taken over Ctrl+C
def test_ctrl_c_during_start_up_never_crashes(tmp_path, mnist_dir, delay):
    process = start_training(tmp_path, mnist_dir, "--epochs", "2")
    wait_until_signals_are_taken_over(process)
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


# --- issue 8 ----------------------------------------------------------------------------------------


def test_out_onto_an_existing_run_is_refused_unless_overwrite(tmp_path, mnist_dir, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.npz").write_bytes(b"the user's earlier model")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit) as exit_:
        main(["--data-dir", str(mnist_dir), "--out", str(out), "--epochs", "1"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "already holds a run (model.npz)" in err and "--overwrite" in err
    assert (out / "model.npz").read_bytes() == b"the user's earlier model"
    code = main(["--data-dir", str(mnist_dir), "--out", str(out), "--epochs", "1", "--hidden", "16",
                 "--validation-size", "50000", "--quiet", "--overwrite"])
    assert code == 0
    assert load_model(out / "model.npz").network.sizes == (784, 16, 10)
    assert sorted(p.name for p in out.iterdir()) == ["checkpoints.npz", "history.csv", "model.npz", "notes.txt",
                                                   "training_history.png"]


def test_out_empty_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--out", "", "--epochs", "1"])
    assert exit_.value.code == 2
    assert "--out: needs a folder name" in capsys.readouterr().err


def test_no_network_leaves_no_empty_runs_folder(tmp_path, monkeypatch, capsys):
    from nnstudio.core import download

    def offline(*args, **kwargs):
        raise download.DownloadError("could not download MNIST: no network connection or unknown host")

    monkeypatch.setattr(download, "download_mnist", offline)
    monkeypatch.setenv("NNSTUDIO_DATA", str(tmp_path / "no-data-here"))
    monkeypatch.chdir(tmp_path)
    assert main(["--epochs", "1"]) == 1
    assert "no network connection" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # neither runs/ nor runs/<stamp>


def test_sigterm_is_treated_like_ctrl_c(tmp_path, mnist_dir):
    out = tmp_path / "run"
    process, lines, err = signalled_after_the_first_epoch(tmp_path, mnist_dir, signal.SIGTERM)
    assert process.returncode == 0, err
    assert "stopping: the best weights so far will be saved" in err
    assert lines[-1].startswith("test accuracy: 0.9")
    assert sorted(p.name for p in out.iterdir()) == ["checkpoints.npz", "history.csv", "model.npz",
                                                     "training_history.png"]


def test_sigterm_before_the_first_epoch_leaves_no_run_folder(tmp_path, mnist_dir):
    process = start_training(tmp_path, mnist_dir, "--epochs", "5")
    for line in process.stdout:
        if line.startswith("nnstudio "):
            process.send_signal(signal.SIGTERM)
            break
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "no epoch finished, nothing saved" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_in_a_long_batch_says_so_and_a_second_one_force_quits(tmp_path, mnist_dir):
    # One batch of 30,000 images through 4096x4096 layers computes for a minute or more.
    process = start_training(tmp_path, mnist_dir, "--hidden", "4096,4096", "--batch-size", "30000",
                             "--validation-size", "30000", "--epochs", "1")
    try:
        for line in process.stdout:
            if line.startswith("nnstudio "):  # the trainer is built and watched; its first batch starts
                process.send_signal(signal.SIGINT)
                break
        said = process.stderr.readline() + process.stderr.readline()  # shown at once, not after the batch
        assert "stopping: the best weights so far will be saved (press Ctrl+C again to quit at once)" in said
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130, err
    assert "nnstudio-train: interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
