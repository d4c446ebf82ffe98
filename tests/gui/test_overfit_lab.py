"""The overfitting lab, as a user: the preset, a smaller training set, Start, and the gap strip."""

from PySide6.QtCore import Qt

from nnstudio.core.overfitting import overfitting_epochs
from driving import open_tab


def test_the_overfit_preset_shows_the_gap_opening(qtbot, window):
    teach = open_tab(qtbot, window, "Teach")
    lab = teach.show_panel("overfitLab")
    qtbot.mouseClick(window.findChild(object, "overfitPresetButton"), Qt.MouseButton.LeftButton)
    assert window.controls.current_preset() == "overfit"
    size = window.findChild(object, "trainSizeCombo")
    size.setCurrentIndex(size.findData(500))
    noise = window.findChild(object, "labelNoiseBox")
    assert noise.value() == 20
    config = window.controls.config()
    assert (config.train_size, config.label_noise) == (500, 0.2)  # the lab's settings are the form's
    with qtbot.waitSignal(window.session.ended, timeout=60_000):
        qtbot.mouseClick(window.findChild(object, "startOverfitButton"), Qt.MouseButton.LeftButton)
        assert not size.isEnabled()
    qtbot.waitUntil(lambda: len(lab.history) == 30 and not window.session.busy, timeout=30_000)
    trainer = window.session.trainer
    assert len(trainer.data.x_train) == 500
    assert (trainer.data.y_train != window.workspace.split.y_train[:500]).sum() == 100
    flagged = overfitting_epochs(lab.history)
    assert flagged, "validation loss never rose while training loss fell"
    xs, heights = lab.overfit_bars.opts["x"], lab.overfit_bars.opts["height"]
    assert list(xs) == flagged and len(heights) == len(flagged)
    assert len(lab.gap_curve.getData()[0]) == 30
    assert lab.history[-1].val_loss - lab.history[-1].train_loss > 0.5  # the gap opened
    assert "shaded" in lab.summary_label.text()


def test_label_noise_typed_in_the_lab_reaches_the_form(qtbot, window):
    lab = window.panel("Teach").show_panel("overfitLab")
    noise = window.findChild(object, "labelNoiseBox")
    noise.setFocus()
    noise.selectAll()
    qtbot.keyClicks(noise, "35")
    qtbot.keyClick(noise, Qt.Key.Key_Enter)
    assert window.controls.config().label_noise == 0.35
    assert lab.settings()["label_noise"] == 0.35
