"""The hyperparameter form, typed into as a user would."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QLineEdit, QSlider, QStyle, QStyleOptionSlider

from nnstudio.core.config import PRESETS, TrainingConfig
from nnstudio.gui.controls import ControlsPanel, format_rate, parse_hidden


@pytest.fixture
def panel(qtbot):
    widget = ControlsPanel()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def retype(qtbot, field, text: str) -> None:
    """Select all of a field's text and type ``text`` over it, then press Enter."""
    editor = field.lineEdit() if isinstance(field, QAbstractSpinBox) else field
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)


@pytest.mark.parametrize("value, text", [(0.1, "1e-1"), (0.03, "3e-2"), (2.5e-4, "2.5e-4"), (10, "1e1"),
                                          (1e-5, "1e-5")])
def test_learning_rates_read_in_exponent_notation(value, text):
    assert format_rate(value) == text
    assert float(text) == pytest.approx(value)


@pytest.mark.parametrize("text, reason", [("", "at least one"), ("128,,64", "missing"), ("128,0", "1 to 8192"),
                                          ("9000", "1 to 8192")])
def test_bad_hidden_layer_text_has_a_reason(text, reason):
    sizes, why = parse_hidden(text)
    assert sizes is None and reason in why


def test_the_form_starts_as_the_seed_experiment(panel):
    assert panel.config() == PRESETS["seed"]
    assert panel.current_preset() == "seed"
    assert panel.learning_rate_box.text() == "1e-1"


def test_typed_learning_rate_moves_the_slider_and_the_slider_moves_the_box(qtbot, panel):
    retype(qtbot, panel.learning_rate_box, "1e-3")
    assert panel.config().learning_rate == pytest.approx(1e-3)
    assert panel.learning_rate_slider.value() == -300
    panel.learning_rate_slider.setValue(-50)  # 10 ** -0.5
    assert panel.learning_rate_box.value() == pytest.approx(0.32)
    assert panel.learning_rate_box.text() == "3.2e-1"
    assert panel.current_preset() == "custom"


def test_learning_rate_arrows_step_through_1_2_5(qtbot, panel):
    panel.learning_rate_box.setFocus()
    qtbot.keyClick(panel.learning_rate_box, Qt.Key.Key_Up)
    assert panel.learning_rate_box.value() == pytest.approx(0.2)
    qtbot.keyClick(panel.learning_rate_box, Qt.Key.Key_Up)
    assert panel.learning_rate_box.value() == pytest.approx(0.5)
    for _ in range(2):
        qtbot.keyClick(panel.learning_rate_box, Qt.Key.Key_Down)
    qtbot.keyClick(panel.learning_rate_box, Qt.Key.Key_Down)
    assert panel.learning_rate_box.value() == pytest.approx(0.05)


def test_learning_rate_outside_its_range_cannot_be_entered(qtbot, panel):
    retype(qtbot, panel.learning_rate_box, "50")
    assert panel.config().learning_rate <= 10
    retype(qtbot, panel.learning_rate_box, "abc")
    assert panel.config().learning_rate == pytest.approx(0.1)


def test_patience_zero_reads_off(qtbot, panel):
    retype(qtbot, panel.patience_box, "0")
    assert panel.patience_box.text() == "off"
    assert panel.config().patience == 0


def test_choosing_a_preset_fills_the_form(qtbot, panel):
    panel.preset_combo.setFocus()
    index = panel.preset_combo.findData("fast")
    panel.preset_combo.setCurrentIndex(index)
    panel.preset_combo.activated.emit(index)
    assert panel.config() == PRESETS["fast"]
    assert panel.hidden_edit.text() == "256,128"
    assert "98%" in panel.preset_description.text()


def test_invalid_hidden_layers_turn_red_with_a_reason_and_invalidate_the_form(qtbot, panel):
    validity = []
    panel.validity_changed.connect(validity.append)
    panel.hidden_edit.setFocus()
    qtbot.keyClick(panel.hidden_edit, Qt.Key.Key_End)
    qtbot.keyClicks(panel.hidden_edit, ",")
    assert panel.config() is None
    assert validity == [False]
    assert "missing" in panel.problems_label.text() and panel.problems_label.isVisible()
    assert "background" in panel.hidden_edit.styleSheet()
    qtbot.keyClicks(panel.hidden_edit, "32")
    assert panel.config().hidden == (128, 64, 32)
    assert validity == [False, True]
    assert panel.hidden_edit.styleSheet() == "" and not panel.problems_label.isVisible()


def test_letters_cannot_be_typed_into_hidden_layers(qtbot, panel):
    panel.hidden_edit.clear()
    qtbot.keyClicks(panel.hidden_edit, "12x8")
    assert panel.hidden_edit.text() == "128"


def test_live_settings_report_user_edits(qtbot, panel):
    rates, patiences = [], []
    panel.learning_rate_edited.connect(rates.append)
    panel.patience_edited.connect(patiences.append)
    retype(qtbot, panel.learning_rate_box, "0.02")
    retype(qtbot, panel.patience_box, "3")
    assert rates == [pytest.approx(0.02)] and patiences == [3]
    panel.set_config(TrainingConfig(learning_rate=0.5))  # loading a config is not an edit
    assert len(rates) == 1


def test_every_control_explains_itself(panel):
    controls = panel.findChildren(QAbstractSpinBox) + panel.findChildren(QComboBox) + \
        panel.findChildren(QLineEdit) + panel.findChildren(QSlider)
    editors = [c for c in controls if not isinstance(c.parent(), QAbstractSpinBox)]
    assert len(editors) >= 12
    assert all(c.toolTip() for c in editors), [c for c in editors if not c.toolTip()]


def test_structure_locks_while_live_settings_stay_editable(panel):
    panel.set_structure_locked(True)
    assert not panel.hidden_edit.isEnabled() and not panel.batch_size_box.isEnabled()
    assert panel.learning_rate_box.isEnabled() and panel.patience_box.isEnabled() and panel.momentum_box.isEnabled()


def slider_handle(slider) -> QPoint:
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    return slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                         QStyle.SubControl.SC_SliderHandle, slider).center()


@pytest.mark.parametrize("beyond, value, text", [(1, 10.0, "1e1"), (-1, 1e-5, "1e-5")], ids=["right", "left"])
def test_dragging_the_slider_to_an_end_gives_the_exact_end_of_the_range(qtbot, panel, beyond, value, text):
    slider = panel.learning_rate_slider
    start = slider_handle(slider)
    end = QPoint(slider.width() + 50 if beyond > 0 else -50, start.y())
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=start)
    for x in range(start.x(), end.x(), 6 * beyond):
        qtbot.mouseMove(slider, QPoint(x, start.y()))
    qtbot.mouseMove(slider, end)
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=end)
    assert panel.config().learning_rate == value and panel.learning_rate_box.text() == text


def test_the_learning_rate_box_shows_every_rate_unclipped(qtbot, panel):
    box = panel.learning_rate_box
    editor = box.lineEdit()
    room = editor.contentsRect().width() - 4  # QLineEdit keeps 2 px each side of its text
    widest = ""
    for position in range(panel.learning_rate_slider.minimum(), panel.learning_rate_slider.maximum() + 1):
        panel.learning_rate_slider.setValue(position)
        if editor.fontMetrics().horizontalAdvance(box.text()) > editor.fontMetrics().horizontalAdvance(widest):
            widest = box.text()
    assert len(widest) >= 6  # e.g. "9.8e-1"
    assert editor.fontMetrics().horizontalAdvance(widest) <= room, f"{widest!r} is clipped"


def test_the_preset_description_reads_as_normal_text(panel):
    """Dark on light, like the form's labels (it was palette(mid): too pale to read)."""
    label = panel.preset_description
    image = label.grab().toImage()
    darkest = min(QColor(image.pixel(x, y)).lightness() for x in range(image.width()) for y in range(image.height()))
    assert darkest <= label.palette().color(QPalette.ColorRole.WindowText).lightness() + 40
    assert label.font().pointSizeF() < panel.font().pointSizeF()


def test_patience_reads_in_words_and_takes_typed_numbers(qtbot, panel):
    box = panel.patience_box
    box.setValue(1)
    assert box.text() == "1 epoch"
    box.setValue(5)
    assert box.text() == "5 epochs"
    box.setValue(0)
    assert box.text() == "off"
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, "12")
    box.interpretText()
    assert box.value() == 12 and box.text() == "12 epochs"
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, "x")  # not a number: refused as it is typed
    box.interpretText()
    assert box.value() == 12


def test_the_form_does_not_move_when_the_preset_description_changes_length(qtbot, panel):
    panel.resize(320, panel.sizeHint().height())
    optimiser = panel.learning_rate_box.parentWidget()
    tops = set()
    descriptions = set()
    for name in ("seed", "fast", "custom", "best", "seed-slow", "custom"):
        if name == "custom":
            retype(qtbot, panel.seed_box, "7")  # any edit makes the settings the user's own
        else:
            index = panel.preset_combo.findData(name)
            panel.preset_combo.setCurrentIndex(index)
            panel.preset_combo.activated.emit(index)
        panel.layout().activate()
        descriptions.add(panel.preset_description.text())
        tops.add(optimiser.mapTo(panel, optimiser.rect().topLeft()).y())
    assert len(descriptions) == 5 and len(tops) == 1, tops
