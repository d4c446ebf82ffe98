"""The form's second-edition controls, used as a user would: the optimiser and its details, dropout,
and the augmentation sliders with their live preview; and their live edits reaching a running trainer."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit,
                               QScrollBar, QStyle, QStyleOptionSlider, QWidget)

from nnstudio.core.augment import Augmentation
from nnstudio.core.config import PRESETS
from nnstudio.core.limits import LIMITS
from nnstudio.gui.augmentation_controls import STRENGTHS
from nnstudio.gui.controls import ControlsPanel
from driving import retype, run_ends

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def panel(qtbot, small_split):
    widget = ControlsPanel()
    widget.augmentation_controls.set_digits(small_split.x_train, small_split.y_train)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def choose(qtbot, combo: QComboBox, text: str) -> None:
    """Pick ``text`` in ``combo`` with the keyboard, as a user tabbing through the form would."""
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(combo.count()):
        if combo.currentText() == text:
            return
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    raise AssertionError(f"{text!r} is not in {combo.objectName()}")


def press(qtbot, widget: QWidget, key, times: int = 1) -> None:
    widget.setFocus()
    for _ in range(times):
        qtbot.keyClick(widget, key)


def test_every_new_control_has_an_object_and_an_accessible_name(panel):
    kinds = (QAbstractSpinBox, QComboBox, QAbstractSlider, QAbstractButton, QLineEdit)
    controls = [w for w in panel.findChildren(QWidget) if isinstance(w, kinds) and not isinstance(w, QScrollBar)
                and w.objectName() != "qt_spinbox_lineedit"]
    for name in ("optimizer", "optimizerDetails", "beta1", "beta2", "eps", "dropout", "inputDropout",
                 *(s.object_name for s in STRENGTHS)):
        assert panel.findChild(QWidget, name) is not None, name
    assert panel.findChild(QWidget, "augmentationPreview").accessibleName()
    unnamed = [type(w).__name__ for w in controls if not w.objectName() or not w.accessibleName()]
    assert unnamed == []


def test_the_optimiser_is_chosen_in_a_combo_and_shows_only_its_own_details(qtbot, panel):
    combo = panel.findChild(QComboBox, "optimizer")
    details = panel.optimizer_controls.details
    assert panel.config().optimizer == "sgd" and details.isHidden(), "SGD has no details to show"
    choose(qtbot, combo, "Adam")
    assert panel.config().optimizer == "adam" and panel.current_preset() == "custom"
    assert details.isVisible() and not panel.momentum_box.isEnabled() and not panel.nesterov_check.isEnabled()
    assert not panel.optimizer_controls.beta1_box.isVisible(), "the details start folded"
    qtbot.mouseClick(details.header, LEFT)
    assert panel.optimizer_controls.beta1_box.isVisible()
    retype(qtbot, panel.optimizer_controls.beta1_box, "0.8")
    retype(qtbot, panel.optimizer_controls.eps_box, "1e-6")
    config = panel.config()
    assert (config.beta1, config.beta2, config.eps) == (0.8, 0.999, pytest.approx(1e-6))
    choose(qtbot, combo, "RMSprop")  # beta2 is its decay rate; momentum applies, Nesterov does not
    assert not panel.optimizer_controls.beta1_box.isVisible() and panel.optimizer_controls.beta2_box.isVisible()
    assert panel.momentum_box.isEnabled() and not panel.nesterov_check.isEnabled()
    choose(qtbot, combo, "SGD")
    assert details.isHidden() and panel.nesterov_check.isEnabled()


def test_eps_out_of_its_limits_cannot_be_typed(qtbot, panel):
    choose(qtbot, panel.optimizer_controls.combo, "AdamW")
    panel.optimizer_controls.details.set_expanded(True)
    retype(qtbot, panel.optimizer_controls.eps_box, "5")
    assert panel.config().eps <= LIMITS["eps"][1]
    press(qtbot, panel.optimizer_controls.eps_box, Qt.Key.Key_Down, 2)  # one decade per step
    assert panel.config().eps == pytest.approx(1e-10)


def test_dropout_rates_are_typed_offered_live_and_kept_in_their_limits(qtbot, panel):
    edits = []
    panel.live_edited.connect(lambda name, value: edits.append((name, value)))
    retype(qtbot, panel.dropout_controls.dropout_box, "0.3")
    press(qtbot, panel.dropout_controls.input_dropout_box, Qt.Key.Key_Up, 2)
    config = panel.config()
    assert (config.dropout, config.input_dropout) == (pytest.approx(0.3), pytest.approx(0.1))
    assert edits == [("dropout", pytest.approx(0.3)), ("input_dropout", pytest.approx(0.05)),
                     ("input_dropout", pytest.approx(0.1))]
    retype(qtbot, panel.dropout_controls.dropout_box, "0.95")
    assert panel.config().dropout <= LIMITS["dropout"][1]
    assert panel.live_settings()["input_dropout"] == pytest.approx(0.1)


def test_the_sliders_set_the_augmentation_and_the_preview_follows_them(qtbot, panel):
    preview = panel.findChild(QWidget, "augmentationPreview")
    plain = preview.picture.copy()
    assert plain.shape == (28, 8 * 30 - 2) and plain.max() == pytest.approx(1.0)
    rotate = panel.findChild(QAbstractSlider, "augmentRotate")
    edits = []
    panel.live_edited.connect(lambda name, value: edits.append(value))
    press(qtbot, rotate, Qt.Key.Key_Right, 12)
    assert panel.config().augment_rotate == 12
    assert panel.findChild(QWidget, "augmentRotateValue").text() == "±12°"
    assert edits[-1] == Augmentation(rotate=12)
    rotated = preview.picture.copy()
    assert not np.array_equal(rotated, plain)
    press(qtbot, panel.findChild(QAbstractSlider, "augmentElasticAlpha"), Qt.Key.Key_PageUp)  # a tenth: 10
    assert panel.config().elastic_alpha == 10 and not np.array_equal(preview.picture, rotated)
    press(qtbot, panel.findChild(QAbstractSlider, "augmentElasticAlpha"), Qt.Key.Key_Home)
    assert np.array_equal(preview.picture, rotated), "the preview is seeded: the same strengths, the same digits"
    press(qtbot, panel.findChild(QAbstractSlider, "augmentThickness"), Qt.Key.Key_Right, 5)
    assert panel.config().augment_thickness == pytest.approx(0.5)
    assert 0 <= preview.picture.min() and preview.picture.max() <= 1


def slider_handle(slider) -> QPoint:
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    return slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                         QStyle.SubControl.SC_SliderHandle, slider).center()


def test_dragging_a_slider_holds_the_live_edit_until_it_is_let_go(qtbot, panel):
    shear = panel.findChild(QAbstractSlider, "augmentShear")
    held = []
    panel.live_edits_held.connect(held.append)
    start = slider_handle(shear)
    end = QPoint(shear.width() + 50, start.y())
    qtbot.mousePress(shear, LEFT, pos=start)
    for x in range(start.x(), end.x(), 8):
        qtbot.mouseMove(shear, QPoint(x, start.y()))
    qtbot.mouseMove(shear, end)
    qtbot.mouseRelease(shear, LEFT, pos=end)
    assert panel.config().augment_shear == LIMITS["augment_shear"][1]
    assert held == [True, False]


def test_slider_limits_come_from_the_limits_table():
    panel = ControlsPanel()
    for s in STRENGTHS:
        slider = panel.augmentation_controls.slider(s.field)
        assert (slider.minimum() * s.step, slider.maximum() * s.step) == pytest.approx(LIMITS[s.field])
    panel.deleteLater()


def test_a_preset_with_augmentation_shows_its_strengths_and_round_trips(qtbot, panel):
    bundled = PRESETS["bundled"]
    choose(qtbot, panel.preset_combo, "bundled")
    panel.preset_combo.activated.emit(panel.preset_combo.currentIndex())
    assert panel.config() == bundled and panel.current_preset() == "bundled"
    thickness = panel.findChild(QWidget, "augmentThicknessValue")
    assert thickness.text() == "-1.5 to +1 steps"  # the bundled preset's: ±1.25 steps, a quarter step thinner
    assert thickness.toolTip() == "20% of the digits are not warped, only made thicker or thinner"
    assert panel.augmentation_controls.augmentation() == bundled.augmentation()


def test_a_value_between_slider_steps_is_kept_until_its_slider_moves(qtbot, panel):
    config = PRESETS["seed"].replace(augment_rotate=12.25, elastic_sigma=4.2)
    panel.set_config(config)
    assert panel.config() == config
    press(qtbot, panel.findChild(QAbstractSlider, "augmentRotate"), Qt.Key.Key_Right)
    assert panel.config().augment_rotate == 13 and panel.config().elastic_sigma == 4.2


def test_during_a_run_the_optimiser_is_fixed_but_dropout_and_augmentation_stay_live(panel):
    panel.set_structure_locked(True)
    assert not panel.optimizer_controls.combo.isEnabled() and not panel.nesterov_check.isEnabled()
    assert panel.dropout_controls.dropout_box.isEnabled() and panel.augmentation_controls.slider("augment_noise").isEnabled()
    assert panel.momentum_box.isEnabled()
    panel.set_structure_locked(False)
    assert panel.optimizer_controls.combo.isEnabled() and panel.nesterov_check.isEnabled()


def test_live_dropout_and_augmentation_reach_the_trainer_and_are_marked(qtbot, window):
    c = window.controls
    window.session.live_edit_delay_ms = 20
    for box, value in ((c.max_epochs_box, 50), (c.batch_size_box, 4)):
        retype(qtbot, box, str(value))
    with qtbot.waitSignal(window.session.progressed, timeout=60_000):
        qtbot.mouseClick(window.train.start_button, LEFT)
    with qtbot.waitSignal(window.session.setting_changed, timeout=60_000) as blocker:
        retype(qtbot, c.dropout_controls.dropout_box, "0.2")
    change = blocker.args[0]
    assert (change.name, change.old, change.new) == ("dropout", 0.0, 0.2)
    assert window.session.trainer.dropout == 0.2
    with qtbot.waitSignal(window.session.setting_changed, timeout=60_000) as blocker:
        press(qtbot, c.augmentation_controls.slider("augment_rotate"), Qt.Key.Key_PageUp)
    change = blocker.args[0]
    assert (change.name, change.old, change.new) == ("augment rotate", 0, 18)
    assert window.session.trainer.augmentation == Augmentation(rotate=18)
    assert len(window.train.plots.change_positions()) == 2
    with run_ends(qtbot, window, 60_000):
        qtbot.mouseClick(window.train.stop_button, LEFT)


def test_early_stopping_watches_what_the_monitor_combo_says(qtbot, panel):
    monitor = panel.findChild(QComboBox, "monitor")
    assert monitor.currentText() == "validation accuracy", "the seed preset watches accuracy, as the seed did"
    assert "higher validation accuracy" in panel.patience_box.toolTip()
    choose(qtbot, monitor, "validation loss")
    assert panel.config().monitor == "val_loss" and panel.current_preset() == "custom"
    assert "lower validation loss" in panel.patience_box.toolTip()
    panel.set_structure_locked(True)
    assert not monitor.isEnabled()
