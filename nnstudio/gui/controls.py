"""The hyperparameter form: every knob of a :class:`TrainingConfig`, validated as it is typed.

The panel never holds an invalid configuration silently: :meth:`ControlsPanel.config`
returns None and :attr:`ControlsPanel.problems` says why, and ``validity_changed`` lets
the window disable Start. Learning rate, momentum and patience may be changed while a run
goes on; the panel reports those edits through their own signals so the window can hand
them to the trainer.
"""

from __future__ import annotations

import math
import re

from PySide6.QtCore import QRegularExpression, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator, QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QSpinBox,
    QStyle,
    QStyleOptionSpinBox,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.config import PRESET_DESCRIPTIONS, PRESETS, SCHEDULES, TrainingConfig
from nnstudio.core.network import ACTIVATIONS

LR_MIN, LR_MAX = 1e-5, 10.0
SLIDER_STEPS_PER_DECADE = 100
CUSTOM = "custom"
_NUMBER = re.compile(r"^\s*[0-9]*\.?[0-9]*(e[-+]?[0-9]*)?\s*$", re.IGNORECASE)
INVALID_STYLE = "background-color: #ffd6d6;"
WIDEST_RATE = "8.88e-5"  # the longest text format_rate gives in range


def format_rate(value: float) -> str:
    """A learning rate as a person writes it: 0.1 -> "1e-1", 0.03 -> "3e-2", 2.5e-4 -> "2.5e-4"."""
    if value <= 0:
        return "0"
    exponent = math.floor(math.log10(value) + 1e-9)
    mantissa = round(value / 10**exponent, 2)
    if mantissa >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:g}e{exponent}"


def parse_hidden(text: str) -> tuple[tuple[int, ...] | None, str]:
    """``"128, 64"`` -> ``((128, 64), "")``; on a fault ``(None, reason)``."""
    parts = [p.strip() for p in text.split(",")]
    if not text.strip():
        return None, "hidden layers: give at least one layer size, e.g. 128,64"
    if any(not p for p in parts):
        return None, "hidden layers: a size is missing between commas"
    if any(not p.isdigit() for p in parts):
        return None, "hidden layers: sizes must be whole numbers separated by commas"
    sizes = tuple(int(p) for p in parts)
    if any(not 1 <= s <= 8192 for s in sizes):
        return None, "hidden layers: each size must be from 1 to 8192"
    return sizes, ""


class EpochsBox(QSpinBox):
    """A count of epochs that reads "1 epoch", "5 epochs" (and typing "5" or "5 epochs" both work)."""

    def textFromValue(self, value: int) -> str:  # noqa: N802 (Qt's name)
        return f"{value} epoch" if value == 1 else f"{value} epochs"

    def valueFromText(self, text: str) -> int:  # noqa: N802
        digits = "".join(ch for ch in text if ch.isdigit())
        return int(digits) if digits else 0

    def validate(self, text: str, position: int):
        digits = "".join(ch for ch in text if ch.isdigit())
        stripped = text.replace("epochs", "").replace("epoch", "").strip()
        if text == self.specialValueText() or (stripped.isdigit() and self.minimum() <= int(digits) <= self.maximum()):
            return QValidator.State.Acceptable, text, position
        if not stripped or stripped.isdigit() or self.specialValueText().startswith(text):
            return QValidator.State.Intermediate, text, position
        return QValidator.State.Invalid, text, position


class LearningRateBox(QDoubleSpinBox):
    """A spin box for a value on a log scale, shown in exponent notation ("1e-1").

    The arrows step through 1, 2, 5 of each decade; any value in range may be typed.
    """

    LADDER = (1.0, 2.0, 5.0)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(8)
        self.setRange(LR_MIN, LR_MAX)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        return format_rate(value)

    def valueFromText(self, text: str) -> float:  # noqa: N802
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        if not _NUMBER.match(text):
            return QValidator.State.Invalid, text, pos
        try:
            value = float(text)
        except ValueError:
            return QValidator.State.Intermediate, text, pos
        state = QValidator.State.Acceptable if LR_MIN <= value <= LR_MAX else QValidator.State.Intermediate
        return state, text, pos

    def fixup(self, text: str) -> str:
        return format_rate(self.value())

    def sizeHint(self) -> QSize:  # noqa: N802
        """Wide enough for any rate: Qt sizes a spin box for the texts of its minimum and maximum
        only, and "1e-5" and "1e1" are shorter than "3.2e-1". The sum is Qt's own."""
        hint = super().sizeHint()
        option = QStyleOptionSpinBox()
        self.initStyleOption(option)
        text = QSize(self.fontMetrics().horizontalAdvance(WIDEST_RATE) + 2, hint.height())  # +2: the cursor
        needed = self.style().sizeFromContents(QStyle.ContentsType.CT_SpinBox, option, text, self)
        return QSize(max(hint.width(), needed.width()), hint.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.sizeHint().width(), super().minimumSizeHint().height())

    def stepBy(self, steps: int) -> None:  # noqa: N802
        ladder = [m * 10**e for e in range(-5, 2) for m in self.LADDER if LR_MIN <= m * 10**e <= LR_MAX]
        value = self.value()
        if steps > 0:
            above = [v for v in ladder if v > value * (1 + 1e-9)]
            target = above[min(steps, len(above)) - 1] if above else LR_MAX
        else:
            below = [v for v in ladder if v < value * (1 - 1e-9)]
            target = below[-min(-steps, len(below))] if below else LR_MIN
        self.setValue(target)


class ControlsPanel(QWidget):
    """The form that makes a :class:`TrainingConfig`, with presets and live-change signals."""

    config_changed = Signal()  # any field changed (the config may now be valid or not)
    validity_changed = Signal(bool)
    learning_rate_edited = Signal(float)  # a user's edit, which a running trainer may take live
    momentum_edited = Signal(float)
    patience_edited = Signal(int)

    def __init__(self, config: TrainingConfig | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._valid = True
        self._problems: list[str] = []
        self._loading = False
        self._build()
        self.set_config(config or PRESETS["seed"])

    # -- building ------------------------------------------------------------------------------

    def _build(self) -> None:
        self.preset_combo = QComboBox()
        for name in PRESETS:
            self.preset_combo.addItem(name, name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, PRESET_DESCRIPTIONS.get(name, ""),
                                          Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.addItem(CUSTOM, CUSTOM)
        self.preset_combo.setItemData(self.preset_combo.count() - 1, "your own settings",
                                      Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.setToolTip("Load a ready-made configuration; editing any field makes it 'custom'.")
        self.preset_description = QLabel()
        self.preset_description.setWordWrap(True)
        self.preset_description.setObjectName("presetDescription")
        font = self.preset_description.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        self.preset_description.setFont(font)  # the normal text colour, a little smaller than the form

        self.learning_rate_box = LearningRateBox()
        self.learning_rate_box.setToolTip(
            "How big a step each batch takes downhill: too small crawls, too large overshoots and diverges.")
        self.learning_rate_slider = QSlider(Qt.Orientation.Horizontal)
        self.learning_rate_slider.setRange(round(math.log10(LR_MIN) * SLIDER_STEPS_PER_DECADE),
                                           round(math.log10(LR_MAX) * SLIDER_STEPS_PER_DECADE))
        self.learning_rate_slider.setPageStep(SLIDER_STEPS_PER_DECADE // 2)
        self.learning_rate_slider.setToolTip(self.learning_rate_box.toolTip() + " (log scale, 1e-5 to 10)")

        self.momentum_box = QDoubleSpinBox()
        self.momentum_box.setRange(0.0, 0.99)
        self.momentum_box.setSingleStep(0.05)
        self.momentum_box.setDecimals(2)
        self.momentum_box.setToolTip("How much of the previous step carries into the next (0 = plain gradient descent).")
        self.nesterov_check = QCheckBox("Nesterov")
        self.nesterov_check.setToolTip("Look ahead along the momentum before taking the gradient.")

        self.patience_box = EpochsBox()
        self.patience_box.setRange(0, 1000)
        self.patience_box.setSpecialValueText("off")
        self.patience_box.setToolTip(
            "Stop after this many epochs without a better validation loss, keeping the best weights (0 = off).")
        self.max_epochs_box = QSpinBox()
        self.max_epochs_box.setRange(1, 10000)
        self.max_epochs_box.setToolTip("The most epochs (passes over the training set) a run may take.")
        self.batch_size_box = QSpinBox()
        self.batch_size_box.setRange(1, 60000)
        self.batch_size_box.setToolTip("How many images each gradient step averages over.")
        self.schedule_combo = QComboBox()
        self.schedule_combo.addItems(SCHEDULES)
        self.schedule_combo.setToolTip(
            "How the learning rate changes over epochs: constant, halved in steps, or a cosine decay.")

        self.hidden_edit = QLineEdit()
        self.hidden_edit.setPlaceholderText("e.g. 128,64")
        self.hidden_edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"[0-9,\s]*"), self.hidden_edit))
        self.hidden_edit.setToolTip("Sizes of the hidden layers, input side first, separated by commas.")
        self.activation_combo = QComboBox()
        self.activation_combo.addItems(ACTIVATIONS)
        self.activation_combo.setToolTip("The non-linearity after each hidden layer.")
        self.weight_decay_box = QDoubleSpinBox()
        self.weight_decay_box.setRange(0.0, 1.0)
        self.weight_decay_box.setDecimals(5)
        self.weight_decay_box.setSingleStep(1e-4)
        self.weight_decay_box.setToolTip("L2 weight decay: pulls weights towards zero to fight overfitting.")
        self.augment_box = QSpinBox()
        self.augment_box.setRange(0, 4)
        self.augment_box.setSpecialValueText("off")
        self.augment_box.setSuffix(" px")
        self.augment_box.setToolTip("Shift each training image by up to this many pixels, for more varied data.")
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setToolTip("The random seed of the initial weights and the shuffling: same seed, same run.")

        self.problems_label = QLabel()
        self.problems_label.setObjectName("problems")
        self.problems_label.setWordWrap(True)
        self.problems_label.setStyleSheet("color: #b00020;")
        self.problems_label.hide()

        preset_row = QHBoxLayout()
        preset_row.addWidget(QLabel("Preset"))
        preset_row.addWidget(self.preset_combo, 1)

        momentum_row = QHBoxLayout()
        momentum_row.addWidget(self.momentum_box)
        momentum_row.addWidget(self.nesterov_check)

        optimiser = QGroupBox("Optimiser")
        form = QFormLayout(optimiser)
        form.addRow("Learning rate", self.learning_rate_box)
        form.addRow(self.learning_rate_slider)  # the form's whole width: finer steps under the mouse
        form.addRow("Momentum", momentum_row)
        form.addRow("Schedule", self.schedule_combo)
        form.addRow("L2 decay", self.weight_decay_box)

        stopping = QGroupBox("Epochs")
        form = QFormLayout(stopping)
        form.addRow("Patience", self.patience_box)
        form.addRow("Max epochs", self.max_epochs_box)
        form.addRow("Batch size", self.batch_size_box)

        model = QGroupBox("Network")
        form = QFormLayout(model)
        form.addRow("Hidden layers", self.hidden_edit)
        form.addRow("Activation", self.activation_combo)
        form.addRow("Augmentation", self.augment_box)
        form.addRow("Seed", self.seed_box)

        for box in (optimiser, stopping, model):
            box.layout().setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(preset_row)
        layout.addWidget(self.preset_description)
        layout.addWidget(optimiser)
        layout.addWidget(stopping)
        layout.addWidget(model)
        layout.addWidget(self.problems_label)
        layout.addStretch(1)

        self.preset_combo.activated.connect(self._on_preset_chosen)
        self.learning_rate_box.valueChanged.connect(self._on_rate_box_changed)
        self.learning_rate_slider.valueChanged.connect(self._on_rate_slider_moved)
        self.momentum_box.valueChanged.connect(self._on_momentum_changed)
        self.patience_box.valueChanged.connect(self._on_patience_changed)
        for box in (self.momentum_box, self.patience_box, self.max_epochs_box, self.batch_size_box,
                    self.weight_decay_box, self.augment_box, self.seed_box):
            box.setKeyboardTracking(False)  # a typed number counts when it is complete (Enter, Tab, arrows)
        for box in (self.max_epochs_box, self.batch_size_box, self.augment_box, self.seed_box):
            box.valueChanged.connect(self._on_field_changed)
        self.weight_decay_box.valueChanged.connect(self._on_field_changed)
        self.nesterov_check.toggled.connect(self._on_field_changed)
        self.schedule_combo.currentIndexChanged.connect(self._on_field_changed)
        self.activation_combo.currentIndexChanged.connect(self._on_field_changed)
        self.hidden_edit.textChanged.connect(self._on_field_changed)

    # -- reading and writing the form -----------------------------------------------------------

    @property
    def problems(self) -> list[str]:
        """Why the form cannot train now (empty when it can)."""
        return list(self._problems)

    @property
    def is_valid(self) -> bool:
        return self._valid

    def config(self) -> TrainingConfig | None:
        """The configuration the form shows, or None while it is invalid (see :attr:`problems`)."""
        config, _ = self._read()
        return config

    def set_config(self, config: TrainingConfig, preset: str | None = None) -> None:
        """Show ``config``; the preset combo shows ``preset`` or the preset it equals, else "custom"."""
        self._loading = True
        try:
            widgets = (self.learning_rate_box, self.learning_rate_slider, self.momentum_box, self.nesterov_check,
                       self.patience_box, self.max_epochs_box, self.batch_size_box, self.schedule_combo,
                       self.hidden_edit, self.activation_combo, self.weight_decay_box, self.augment_box,
                       self.seed_box)
            blockers = [QSignalBlocker(w) for w in widgets]
            self.learning_rate_box.setValue(config.learning_rate)
            self.learning_rate_slider.setValue(self._slider_position(config.learning_rate))
            self.momentum_box.setValue(config.momentum)
            self.nesterov_check.setChecked(config.nesterov)
            self.patience_box.setValue(config.patience)
            self.max_epochs_box.setValue(config.max_epochs)
            self.batch_size_box.setValue(config.batch_size)
            self.schedule_combo.setCurrentText(config.schedule)
            self.hidden_edit.setText(",".join(str(h) for h in config.hidden))
            self.activation_combo.setCurrentText(config.activation)
            self.weight_decay_box.setValue(config.weight_decay)
            self.augment_box.setValue(config.augment_shift)
            self.seed_box.setValue(config.seed)
            self._base = config
            del blockers
        finally:
            self._loading = False
        self._show_preset(preset)
        self._revalidate()

    def live_settings(self) -> dict[str, float]:
        """The settings a run may take live, as the form shows them."""
        return {"learning_rate": self.learning_rate_box.value(), "momentum": self.momentum_box.value(),
                "patience": self.patience_box.value()}

    def current_preset(self) -> str:
        return self.preset_combo.currentData() or CUSTOM

    def _read(self) -> tuple[TrainingConfig | None, list[str]]:
        hidden, reason = parse_hidden(self.hidden_edit.text())
        if hidden is None:
            return None, [reason]
        try:
            config = self._base.replace(
                hidden=hidden,
                activation=self.activation_combo.currentText(),
                learning_rate=self.learning_rate_box.value(),
                momentum=self.momentum_box.value(),
                nesterov=self.nesterov_check.isChecked(),
                weight_decay=self.weight_decay_box.value(),
                batch_size=self.batch_size_box.value(),
                max_epochs=self.max_epochs_box.value(),
                patience=self.patience_box.value(),
                schedule=self.schedule_combo.currentText(),
                augment_shift=self.augment_box.value(),
                seed=self.seed_box.value(),
            )
        except ValueError as exc:  # TrainingConfig lists its problems, joined by "; "
            return None, str(exc).split("; ")
        return config, []

    def _revalidate(self) -> None:
        config, problems = self._read()
        self._problems = problems
        hidden_bad = any(p.startswith("hidden layers") for p in problems)
        self.hidden_edit.setStyleSheet(INVALID_STYLE if hidden_bad else "")
        self.problems_label.setText("\n".join(f"• {p[0].upper()}{p[1:]}" for p in problems))
        self.problems_label.setVisible(bool(problems))
        valid = config is not None
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)
        self.config_changed.emit()

    def _show_preset(self, preset: str | None) -> None:
        config = self.config()
        if preset is None or preset not in PRESETS or PRESETS[preset] != config:
            preset = next((name for name, c in PRESETS.items() if c == config), CUSTOM)
        with QSignalBlocker(self.preset_combo):
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(preset))
        self.preset_description.setText(PRESET_DESCRIPTIONS.get(preset, "Your own settings."))

    # -- reactions -------------------------------------------------------------------------------

    def _on_preset_chosen(self, index: int) -> None:
        name = self.preset_combo.itemData(index)
        if name in PRESETS:
            self.set_config(PRESETS[name], preset=name)

    def _on_field_changed(self, *_: object) -> None:
        if self._loading:
            return
        self._show_preset(None)
        self._revalidate()

    @staticmethod
    def _slider_position(rate: float) -> int:
        return round(math.log10(rate) * SLIDER_STEPS_PER_DECADE)

    def _on_rate_box_changed(self, value: float) -> None:
        with QSignalBlocker(self.learning_rate_slider):
            self.learning_rate_slider.setValue(self._slider_position(value))
        self._on_field_changed()
        self.learning_rate_edited.emit(value)

    def _on_rate_slider_moved(self, position: int) -> None:
        slider = self.learning_rate_slider
        if position >= slider.maximum():
            value = LR_MAX  # the ends are exact, whatever the rounding between them
        elif position <= slider.minimum():
            value = LR_MIN
        else:  # two significant digits, so the box shows what the slider set
            value = min(max(float(f"{10 ** (position / SLIDER_STEPS_PER_DECADE):.2g}"), LR_MIN), LR_MAX)
        with QSignalBlocker(self.learning_rate_box):
            self.learning_rate_box.setValue(value)
        self._on_field_changed()
        self.learning_rate_edited.emit(value)

    def _on_momentum_changed(self, value: float) -> None:
        self._on_field_changed()
        self.momentum_edited.emit(value)

    def _on_patience_changed(self, value: int) -> None:
        self._on_field_changed()
        self.patience_edited.emit(value)

    def set_structure_locked(self, locked: bool) -> None:
        """While a run goes on only the live settings (learning rate, momentum, patience) stay editable."""
        for widget in (self.preset_combo, self.nesterov_check, self.max_epochs_box, self.batch_size_box,
                       self.schedule_combo, self.hidden_edit, self.activation_combo, self.weight_decay_box,
                       self.augment_box, self.seed_box):
            widget.setEnabled(not locked)
