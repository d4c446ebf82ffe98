"""Repeat ×N, as a user: set the count, Start; the runs list shows one group that expands to its runs,
with their test accuracy as mean ± sd (min–max); the plots draw the group's mean curve and min–max band."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSpinBox, QToolButton

from nnstudio.core.config import TrainingConfig
from nnstudio.core.repeats import read_group_file, summary_text
from nnstudio.core.run_folder import MODEL
from nnstudio.gui.runs_panel import COLUMNS

TINY = TrainingConfig(hidden=(8,), max_epochs=2, patience=0, train_size=300, batch_size=50)


@pytest.fixture
def studio(qtbot, make_window, mnist_dir):
    window = make_window(data_dir=mnist_dir)
    qtbot.waitUntil(lambda: window.workspace.split is not None, timeout=30_000)
    window.controls.set_config(TINY.replace(validation_size=window.workspace.validation_size))
    return window


def set_repeats(qtbot, window, count: int) -> QSpinBox:
    box = window.findChild(QSpinBox, "repeatCount")
    assert box.accessibleName() == "Repeat ×N" and box.value() == 1
    for _ in range(count - 1):
        qtbot.keyClick(box, Qt.Key.Key_Up)
    assert box.value() == count
    return box


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


def test_repeat_x2_makes_two_runs_one_group_row_and_a_band(qtbot, studio):
    window = studio
    set_repeats(qtbot, window, 2)
    start = window.findChild(QToolButton, "startButton")
    assert start.text() == "Start ×2"
    repeats = window.run_actions.repeats
    with qtbot.waitSignal(repeats.finished, timeout=120_000) as finished:
        qtbot.mouseClick(start, Qt.MouseButton.LeftButton)
        assert window.findChild(QToolButton, "stopButton").isEnabled() and not start.isEnabled()
    outcome = finished.args[0]
    assert not outcome.error and not outcome.stopped
    folders = sorted(Path(r.folder) for r in outcome.results)
    assert [f.name for f in folders] == ["seed-0", "seed-1"] and all((f / MODEL).exists() for f in folders)
    assert all(f.parent == outcome.folder for f in folders) and not leftovers(outcome.folder)

    # one group row, which opens to its two runs; its test accuracy is their mean ± sd (min–max)
    runs_panel = window.findChild(object, "runsPanel")
    tree = runs_panel.tree
    assert tree.topLevelItemCount() == 1
    row = tree.topLevelItem(0)
    assert row.childCount() == 2 and {row.child(k).text(0) for k in range(2)} == {"custom ×2 seed=0",
                                                                                  "custom ×2 seed=1"}
    accuracies = [r.summary["test_accuracy"] for r in outcome.group.runs]
    assert sorted(accuracies) == sorted(r.test_accuracy for r in outcome.results)
    assert row.text(COLUMNS.index("Test")) == summary_text(accuracies) == outcome.summary
    assert row.text(0) == f"{outcome.folder.name} (×2)"
    assert read_group_file(outcome.folder)["test_accuracy"]["count"] == 2
    assert row.checkState(0) == Qt.CheckState.Checked  # shown on the plots when it ends

    # the plots: the mean curve between the lowest and the highest of the runs' curves
    plots = window.findChild(object, "plotsPanel")
    band = plots.group_bands.band(str(outcome.folder))
    curves = np.array([[100 * r.val_accuracy for r in run.history] for run in outcome.group.runs])
    np.testing.assert_allclose(band.low.getData()[1], curves.min(axis=0))
    np.testing.assert_allclose(band.high.getData()[1], curves.max(axis=0))
    np.testing.assert_allclose(band.mean.getData()[1], curves.mean(axis=0))
    assert list(band.mean.getData()[0]) == [1, 2]

    # unticking the group takes its band away; ticking it brings it back
    row.setCheckState(0, Qt.CheckState.Unchecked)
    assert plots.group_bands.keys() == []
    row.setCheckState(0, Qt.CheckState.Checked)
    assert plots.group_bands.keys() == [str(outcome.folder)]
    status = window.findChild(object, "repeatStatus")
    assert outcome.summary in status.text()


def test_stop_ends_every_repeat_and_leaves_nothing_half_written(qtbot, studio, tmp_path):
    window = studio
    set_repeats(qtbot, window, 2)
    repeats = window.run_actions.repeats
    with qtbot.waitSignal(repeats.finished, timeout=120_000) as finished:
        qtbot.mouseClick(window.findChild(QToolButton, "startButton"), Qt.MouseButton.LeftButton)
        qtbot.mouseClick(window.findChild(QToolButton, "stopButton"), Qt.MouseButton.LeftButton)
    outcome = finished.args[0]
    assert outcome.stopped and outcome.group is None and not outcome.folder.exists()
    assert "nothing was saved" in window.findChild(object, "repeatStatus").text()

    # stopped mid-run: every repeat ends at its next batch, what it reached is saved whole
    window.controls.set_config(TINY.replace(max_epochs=50, train_size=2000,
                                            validation_size=window.workspace.validation_size))
    with qtbot.waitSignal(repeats.finished, timeout=120_000) as finished:
        qtbot.mouseClick(window.findChild(QToolButton, "startButton"), Qt.MouseButton.LeftButton)
        status = window.findChild(object, "repeatStatus")
        qtbot.waitUntil(lambda: repeats.results or ": epoch" in status.text(), timeout=60_000)
        qtbot.mouseClick(window.findChild(QToolButton, "stopButton"), Qt.MouseButton.LeftButton)
    outcome = finished.args[0]
    assert outcome.stopped and not repeats.running
    assert all(r.epochs < 50 for r in outcome.results)
    saved = [Path(r.folder) for r in outcome.results if r.folder]
    assert all((f / MODEL).exists() and f.parent == outcome.folder for f in saved)
    assert outcome.folder.exists() == bool(saved)  # no empty group folder is left
    if saved:
        assert not leftovers(outcome.folder)
    assert window.findChild(QToolButton, "startButton").isEnabled()

    # a runs folder that cannot be made: a message, nothing started
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the runs folder should be")
    window.workspace.runs_root = blocked / "runs"
    with qtbot.waitSignal(window.workspace.message_posted) as message:
        qtbot.mouseClick(window.findChild(QToolButton, "startButton"), Qt.MouseButton.LeftButton)
    assert "Cannot make a folder for the repeats" in message.args[0] and not repeats.running
