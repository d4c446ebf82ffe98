"""Patience replayed on a run just trained: the slider, min delta, and the test accuracy hidden until asked."""

import pytest
from PySide6.QtCore import Qt

from nnstudio.core.config import TrainingConfig
from nnstudio.core.patience_replay import replay_patience
from driving import open_tab


CONFIG = TrainingConfig(hidden=(32,), learning_rate=0.2, batch_size=32, max_epochs=10, patience=0, train_size=500,
                        label_noise=0.2, seed=3)


@pytest.fixture
def trained(qtbot, window):
    window.controls.set_config(CONFIG)
    with qtbot.waitSignal(window.session.saved, timeout=60_000) as saved:
        qtbot.mouseClick(window.findChild(object, "startButton"), Qt.MouseButton.LeftButton)
    return saved.args[0]


def test_the_slider_replays_early_stopping_on_the_run_just_saved(qtbot, window, trained):
    teach = open_tab(qtbot, window, "Teach")
    panel = teach.show_panel("patienceReplay")
    slider = window.findChild(object, "patienceSlider")
    assert "10 epochs" in window.findChild(object, "replayRun").text()
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Home)
    with qtbot.waitSignal(panel.replay_changed) as changed:
        qtbot.keyClick(slider, Qt.Key.Key_Right)
    expected = replay_patience(trained.history, 1)
    assert changed.args[0] == expected and expected.stopped_early
    assert f"stops after epoch {expected.stop_epoch}" in panel.verdict.text()
    assert f"weights of epoch {expected.restored_epoch}" in panel.verdict.text()
    assert panel.stop_line.isVisible() and panel.stop_line.value() == expected.stop_epoch
    assert panel.kept_line.value() == expected.restored_epoch

    box = window.findChild(object, "minDeltaBox")
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, "0.5")
    qtbot.keyClick(box, Qt.Key.Key_Enter)
    strict = replay_patience(trained.history, 1, 0.5)
    assert panel.replay == strict and strict.restored_epoch == 1  # nothing improves by half a unit of loss

    # the test accuracy stays hidden until asked
    assert not panel.test_plot.isVisible() and "test" not in panel.verdict.text()
    with qtbot.waitSignal(panel.test_accuracy_ready, timeout=30_000) as ready:
        qtbot.mouseClick(window.findChild(object, "showTestAccuracy"), Qt.MouseButton.LeftButton)
    accuracies = ready.args[0]
    assert sorted(accuracies) == list(range(1, 11))
    assert panel.test_plot.isVisible() and "test accuracy" in panel.verdict.text()
    best = trained.summary["best_epoch"]
    assert accuracies[best] == pytest.approx(trained.summary["test_accuracy"])  # the kept weights' own score
    assert "best test accuracy at epoch" in panel.costs.text()
