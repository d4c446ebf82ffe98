"""training_history.png, drawn offscreen from the history of a real (tiny) run."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pytest
from PySide6.QtGui import QImage

from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import split_mnist
from nnstudio.core.trainer import Trainer
from nnstudio.gui.history_png import HEIGHT, WIDTH, write_history_png
from pixels import count_colour, rgb


@pytest.fixture(scope="module")
def history(mnist):
    trainer = Trainer(TrainingConfig(max_epochs=5, patience=2), split_mnist(mnist).head(2000, 400, 400))
    for _ in trainer.run():
        pass
    return trainer.history


def test_writes_both_plots_side_by_side(qapp, history, tmp_path):
    path = write_history_png(tmp_path / "training_history.png", history, title="tiny run")
    assert path == tmp_path / "training_history.png"
    image = QImage(str(path))
    assert (image.width(), image.height()) == (WIDTH, HEIGHT) == (1200, 500)
    pixels = rgb(image)
    left, right = pixels[:, :WIDTH // 2], pixels[:, WIDTH // 2:]
    for half in (left, right):  # train (blue) and validation (orange) curves in each plot
        assert count_colour(half, "#0072B2") > 100 and count_colour(half, "#E69F00") > 100
    assert list(tmp_path.iterdir()) == [path], "no temporary file is left behind"


def test_replaces_an_existing_file(qapp, history, tmp_path):
    path = tmp_path / "training_history.png"
    path.write_bytes(b"old")
    write_history_png(path, history[:1])
    assert not QImage(str(path)).isNull()


def test_refuses_an_empty_history(qapp, tmp_path):
    with pytest.raises(ValueError, match="without epochs"):
        write_history_png(tmp_path / "h.png", [])
    assert not (tmp_path / "h.png").exists()


def test_works_from_a_headless_command_line_without_a_qapplication(history, tmp_path):
    """A fresh interpreter with no QApplication and no display, as ``nnstudio-train`` runs."""
    script = (
        "import sys, pickle\n"
        "from nnstudio.gui.history_png import write_history_png\n"
        "history = pickle.loads(sys.stdin.buffer.read())\n"
        f"write_history_png({str(tmp_path / 'cli.png')!r}, history)\n"
        "import os; print(os.environ['QT_QPA_PLATFORM'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([sys.executable, "-c", script], input=pickle.dumps(list(history)), env=env,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "offscreen"
    assert QImage(str(tmp_path / "cli.png")).width() == WIDTH


def test_the_command_line_picture_loads_no_plotting_widgets():
    """``nnstudio-train`` draws its PNG with the studio's colours without loading pyqtgraph."""
    script = "import sys, nnstudio.gui.history_png; print('pyqtgraph' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "False"
