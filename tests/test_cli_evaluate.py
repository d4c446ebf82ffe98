"""nnstudio-evaluate on real MNIST: its tables and files hold the evaluation's figures; bad input exits 2."""

import csv
import subprocess
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from nnstudio.cli.evaluate import main
from nnstudio.core.checkpoints import load_checkpoints
from nnstudio.core.config import TrainingConfig
from nnstudio.core.evaluation import evaluate
from nnstudio.core.model_file import load_model
from nnstudio.core.png_file import read_png
from nnstudio.core.robustness import PERTURBATIONS, fixed_subset
from nnstudio.core.run_folder import save_run
from nnstudio.core.trainer import Trainer
from nnstudio.resources import BUNDLED_MODEL


@pytest.fixture(scope="module")
def run_folder(small_split, tmp_path_factory):
    trainer = Trainer(TrainingConfig(hidden=(32,), max_epochs=3, patience=0, learning_rate=0.3), small_split)
    list(trainer.run())
    return save_run(tmp_path_factory.mktemp("runs") / "run", trainer)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_tables_and_files_match_the_evaluation(tmp_path, run_folder, mnist_dir, split, capsys):
    out = tmp_path / "out"
    assert main(["--model", str(run_folder), "--data-dir", str(mnist_dir), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    network = load_model(run_folder / "model.npz").network
    with threadpool_limits(limits=1):
        expected = evaluate(network, split.x_test, split.y_test)
    assert lines[-1] == f"test accuracy: {expected.accuracy:.4f}"
    start = lines.index("true\\pred    0    1    2    3    4    5    6    7    8    9")
    table = np.array([[int(v) for v in line.split()[1:]] for line in lines[start + 1:start + 11]])
    assert np.array_equal(table, expected.confusion)
    mistakes = lines[lines.index("image  true  predicted  confidence  top-3") + 1:][:10]
    assert [int(line.split()[0]) for line in mistakes] == expected.mistakes()[:10].tolist()

    rows = read_csv(out / "confusion.csv")
    assert rows[0] == ["true\\predicted", *map(str, range(10))]
    assert [int(r[0]) for r in rows[1:]] == list(range(10))
    assert np.array_equal(np.array([[int(v) for v in r[1:]] for r in rows[1:]]), expected.confusion)
    per = expected.per_digit()
    digits = read_csv(out / "per_digit.csv")
    assert digits[0] == ["digit", "images", "predicted", "correct", "precision", "recall", "f1"]
    assert [float(r[5]) for r in digits[1:]] == pytest.approx(per.recall.tolist(), abs=1e-6)
    assert [float(r[4]) for r in digits[1:]] == pytest.approx(per.precision.tolist(), abs=1e-6)

    curves = read_csv(out / "robustness.csv")
    assert curves[0] == ["perturbation", "level", "accuracy"]
    assert {r[0] for r in curves[1:]} == set(PERTURBATIONS)
    assert len(curves) - 1 == sum(len(p.levels) for p in PERTURBATIONS.values())
    subset = fixed_subset(10_000)
    with threadpool_limits(limits=1):
        plain = evaluate(network, split.x_test[subset], split.y_test[subset]).accuracy
    assert all(float(r[2]) == pytest.approx(plain, abs=1e-6) for r in curves[1:] if float(r[1]) == 0)

    gallery = read_png((out / "mistakes.png").read_bytes())
    assert len(expected.mistakes()) > 100  # a small network: the gallery shows the 100 most confident
    assert gallery.shape[1] == 10 * 58 - 2 and gallery.shape[0] == 10 * (56 + 14 + 2) - 2
    first = gallery[:56:2, :56:2]
    assert np.array_equal(first, split.x_test[expected.mistakes()[0]].reshape(28, 28))


def test_an_epoch_of_a_run_on_the_validation_set(run_folder, mnist_dir, split, capsys):
    assert main(["--model", str(run_folder), "--epoch", "1", "--set", "val", "--data-dir", str(mnist_dir)]) == 0
    out = capsys.readouterr().out
    network = load_checkpoints(run_folder / "checkpoints.npz").network(1)
    with threadpool_limits(limits=1):
        expected = evaluate(network, split.x_val, split.y_val).accuracy
    assert out.splitlines()[-1] == f"val accuracy: {expected:.4f}"
    assert "epoch 1 (784-32-10, relu)" in out and "validation set" in out and "6,000 images" in out


@pytest.mark.parametrize("flags, message", [
    (["--model", "missing.npz"], "cannot use the model: missing.npz: no such file"),
    (["--epoch", "2"], "--epoch needs a run folder with checkpoints.npz"),
    (["--set", "train"], "invalid choice: 'train'"),
    (["--epoch", "two"], "invalid int value"),
])
def test_usage_errors_exit_2(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(flags)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_models_data_epochs_and_outputs_exit_2(tmp_path, run_folder, mnist_dir, capsys):
    (tmp_path / "notes.npz").write_text("hello")
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    cases = [
        (["--model", str(tmp_path / "notes.npz")], "not an nnstudio model file"),
        (["--model", str(tmp_path / "empty")], "is a folder without model.npz: not a run folder"),
        (["--model", str(run_folder), "--epoch", "7"], "epoch 7 is not among the checkpoints of"),
        (["--model", str(run_folder), "--epoch", "7"], "(kept: 1, 2, 3)"),
        (["--data-dir", str(tmp_path / "nowhere")], "the folder does not exist"),
        (["--data-dir", str(tmp_path / "empty")], "lacks the four MNIST files"),
        (["--data-dir", str(mnist_dir), "--out", str(tmp_path / "file" / "out")], "cannot write into"),
    ]
    for flags, message in cases:
        with pytest.raises(SystemExit) as exit_:
            main(flags)
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and message in err and "Traceback" not in err, flags
    (run_folder / "checkpoints.npz").rename(tmp_path / "moved.npz")
    try:
        with pytest.raises(SystemExit) as exit_:
            main(["--model", str(run_folder), "--epoch", "1"])
        assert exit_.value.code == 2 and "checkpoints.npz; there is none beside" in capsys.readouterr().err
    finally:
        (tmp_path / "moved.npz").rename(run_folder / "checkpoints.npz")


def test_the_bundled_model_by_default_in_a_fresh_process(mnist_dir, split):
    result = subprocess.run([sys.executable, "-m", "nnstudio.cli.evaluate", "--data-dir", str(mnist_dir)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    network = load_model(BUNDLED_MODEL).network
    accuracy = network.evaluate(split.x_test, split.y_test)[1]
    assert result.stdout.splitlines()[-1] == f"test accuracy: {accuracy:.4f}"
    assert f"model: {BUNDLED_MODEL} ({'-'.join(map(str, network.sizes))}, relu)" in result.stdout
