"""The hyperparameter form: every knob of a :class:`TrainingConfig`, validated as it is typed.

The panel never holds an invalid configuration silently: :meth:`ControlsPanel.config`
returns None and :attr:`ControlsPanel.problems` says why, and ``validity_changed`` lets
the window disable Start. Learning rate, momentum, patience, dropout and the augmentation
strengths may be changed while a run goes on; the panel reports those edits through their own
signals (``live_edited`` for the second edition's) so the window can hand them to the trainer.
The optimiser, dropout and augmentation sections live in their own modules.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRegularExpression, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QFontMetrics, QRegularExpressionValidator
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
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.config import PRESET_DESCRIPTIONS, PRESETS, SCHEDULES, TrainingConfig
from nnstudio.core.limits import LIMITS, parse_hidden
from nnstudio.core.network import ACTIVATIONS
from nnstudio.gui.augmentation_controls import AugmentationControls
from nnstudio.gui.dropout_controls import DropoutControls
from nnstudio.gui.monitor_controls import MonitorControls
from nnstudio.gui.optimizer_controls import OptimizerControls
from nnstudio.gui.naming import named
from nnstudio.gui.spin_boxes import LR_MAX, LR_MIN, EpochsBox, LearningRateBox, format_rate  # noqa: F401

SLIDER_STEPS_PER_DECADE = 100
CUSTOM = "custom"
INVALID_STYLE = "background-color: #ffd6d6;"


class ControlsPanel(QWidget):
    """The form that makes a :class:`TrainingConfig`, with presets and live-change signals."""

    config_changed = Signal()  # any field changed (the config may now be valid or not)
    validity_changed = Signal(bool)
    learning_rate_edited = Signal(float)  # a user's edit, which a running trainer may take live
    momentum_edited = Signal(float)
    patience_edited = Signal(int)
    live_edited = Signal(str, object)  # dropout, input_dropout or augmentation (an Augmentation), edited
    live_edits_held = Signal(bool)  # an augmentation slider pressed (True) or let go

    def __init__(self, config: TrainingConfig | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._valid = True
        self._problems: list[str] = []
        self._loading = False
        named(self, "controlsPanel", "Hyperparameters")
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
        self.momentum_box.setRange(*LIMITS["momentum"])
        self.momentum_box.setSingleStep(0.05)
        self.momentum_box.setDecimals(2)
        self.momentum_box.setToolTip("How much of the previous step carries into the next (0 = plain gradient descent).")
        self.nesterov_check = QCheckBox("Nesterov")
        self.nesterov_check.setToolTip("Look ahead along the momentum before taking the gradient.")

        self.patience_box = EpochsBox()
        self.patience_box.setRange(*LIMITS["patience"])
        self.patience_box.setSpecialValueText("off")
        # its tooltip follows what early stopping watches (monitor_controls)
        self.max_epochs_box = QSpinBox()
        self.max_epochs_box.setRange(*LIMITS["max_epochs"])
        self.max_epochs_box.setToolTip("The most epochs (passes over the training set) a run may take.")
        self.batch_size_box = QSpinBox()
        self.batch_size_box.setRange(*LIMITS["batch_size"])
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
        self.weight_decay_box.setRange(*LIMITS["weight_decay"])
        self.weight_decay_box.setDecimals(5)
        self.weight_decay_box.setSingleStep(1e-4)
        self.weight_decay_box.setToolTip("L2 weight decay: pulls weights towards zero to fight overfitting.")
        self.seed_box = QSpinBox()
        self.seed_box.setRange(*LIMITS["seed"])
        self.seed_box.setToolTip("The random seed of the initial weights and the shuffling: same seed, same run.")
        self.validation_box = QSpinBox()
        self.validation_box.setRange(*LIMITS["validation_size"])
        self.validation_box.setSingleStep(500)
        self.validation_box.setSuffix(" images")
        self.validation_box.setToolTip("How many of the training images (the last ones) are kept aside to "
                                       "validate each epoch, for early stopping and the best epoch.")

        for widget, name, text in (
                (self.preset_combo, "preset", "Preset"), (self.learning_rate_box, "learningRate", "Learning rate"),
                (self.learning_rate_slider, "learningRateSlider", "Learning rate (log scale)"),
                (self.momentum_box, "momentum", "Momentum"), (self.nesterov_check, "nesterov", "Nesterov"),
                (self.patience_box, "patience", "Patience"), (self.max_epochs_box, "maxEpochs", "Max epochs"),
                (self.batch_size_box, "batchSize", "Batch size"), (self.schedule_combo, "schedule", "Schedule"),
                (self.hidden_edit, "hiddenLayers", "Hidden layers"),
                (self.activation_combo, "activation", "Activation"),
                (self.weight_decay_box, "weightDecay", "L2 weight decay"),
                (self.seed_box, "seed", "Seed"),
                (self.validation_box, "validationSize", "Validation size")):
            named(widget, name, text)

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

        # The second edition's sections: each shows and reads its own fields (see their modules).
        self.optimizer_controls = OptimizerControls(self.momentum_box, self.nesterov_check, self)
        self.dropout_controls = DropoutControls(self)
        self.augmentation_controls = AugmentationControls(self)
        self.monitor_controls = MonitorControls(self.patience_box, self)
        self.sections = (self.optimizer_controls, self.dropout_controls, self.augmentation_controls,
                         self.monitor_controls)

        optimiser = QGroupBox("Optimiser")
        form = QFormLayout(optimiser)
        form.addRow("Method", self.optimizer_controls.combo)
        form.addRow("Learning rate", self.learning_rate_box)
        form.addRow(self.learning_rate_slider)  # the form's whole width: finer steps under the mouse
        form.addRow("Momentum", momentum_row)
        form.addRow(self.optimizer_controls.details)
        form.addRow("Schedule", self.schedule_combo)
        form.addRow("L2 decay", self.weight_decay_box)

        stopping = QGroupBox("Epochs")
        form = QFormLayout(stopping)
        form.addRow("Patience", self.patience_box)
        form.addRow("Watch", self.monitor_controls.combo)
        form.addRow("Max epochs", self.max_epochs_box)
        form.addRow("Batch size", self.batch_size_box)
        form.addRow("Validation", self.validation_box)

        model = QGroupBox("Network")
        form = QFormLayout(model)
        form.addRow("Hidden layers", self.hidden_edit)
        form.addRow("Activation", self.activation_combo)
        form.addRow("Dropout", self.dropout_controls.dropout_box)
        form.addRow("Input dropout", self.dropout_controls.input_dropout_box)
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
        layout.addWidget(self.augmentation_controls.group)
        layout.addWidget(self.problems_label)
        layout.addStretch(1)

        self.preset_combo.activated.connect(self._on_preset_chosen)
        self.learning_rate_box.valueChanged.connect(self._on_rate_box_changed)
        self.learning_rate_slider.valueChanged.connect(self._on_rate_slider_moved)
        self.momentum_box.valueChanged.connect(self._on_momentum_changed)
        self.patience_box.valueChanged.connect(self._on_patience_changed)
        for box in (self.momentum_box, self.patience_box, self.max_epochs_box, self.batch_size_box,
                    self.weight_decay_box, self.seed_box, self.validation_box):
            box.setKeyboardTracking(False)  # a typed number counts when it is complete (Enter, Tab, arrows)
        for box in (self.max_epochs_box, self.batch_size_box, self.seed_box, self.validation_box):
            box.valueChanged.connect(self._on_field_changed)
        for section in self.sections:
            section.changed.connect(self._on_field_changed)
        for section in (self.dropout_controls, self.augmentation_controls):  # the optimiser is fixed for a run
            section.live_edited.connect(self.live_edited)
        self.augmentation_controls.held.connect(self.live_edits_held)
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
                       self.hidden_edit, self.activation_combo, self.weight_decay_box,
                       self.seed_box, self.validation_box)
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
            self.seed_box.setValue(config.seed)
            self.validation_box.setValue(config.validation_size)
            for section in self.sections:
                section.show_config(config)
            self._base = config
            del blockers
        finally:
            self._loading = False
        self._show_preset(preset)
        self._revalidate()

    def live_settings(self) -> dict[str, float]:
        """The settings a run may take live, as the form shows them."""
        return {"learning_rate": self.learning_rate_box.value(), "momentum": self.momentum_box.value(),
                "patience": self.patience_box.value(), **self.dropout_controls.live_settings(),
                **self.augmentation_controls.live_settings()}

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
                seed=self.seed_box.value(),
                validation_size=self.validation_box.value(),
                **{name: value for section in self.sections for name, value in section.fields().items()},
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
        """While a run goes on only the live settings (learning rate, momentum, patience, dropout and
        augmentation) stay editable."""
        for widget in (self.preset_combo, self.nesterov_check, self.max_epochs_box, self.batch_size_box,
                       self.schedule_combo, self.hidden_edit, self.activation_combo, self.weight_decay_box,
                       self.seed_box, self.validation_box):
            widget.setEnabled(not locked)
        for section in self.sections:  # after the Nesterov box: the optimiser decides whether it applies
            section.set_structure_locked(locked)

    def resizeEvent(self, event) -> None:  # noqa: N802
        """Room for the longest preset description at this width, so the form below it never moves
        when another preset (with a shorter text) is chosen."""
        super().resizeEvent(event)
        label = self.preset_description
        metrics, width = QFontMetrics(label.font()), max(label.width(), 50)
        texts = [*PRESET_DESCRIPTIONS.values(), "Your own settings."]
        height = max(metrics.boundingRect(0, 0, width, 10_000, Qt.TextFlag.TextWordWrap, t).height() for t in texts)
        if label.minimumHeight() != height:
            label.setMinimumHeight(height)
