"""The Train tab's left column: the run's buttons, the hyperparameter form and a few things to try."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (QGridLayout, QGroupBox, QHBoxLayout, QLabel, QSizePolicy, QSpinBox, QToolButton,
                               QVBoxLayout, QWidget)

from nnstudio.gui.controls import ControlsPanel
from nnstudio.gui.naming import named
from nnstudio.gui.repeat_runs import MAX_REPEATS

# Each tip is tried by a test in tests/gui/test_main_window.py (test_try_this_*): keep them true.
TRY_THIS = (
    "• <b>seed-slow</b>, then mid-run set the learning rate to 1e-1: the loss falls at once.<br>"
    "• Learning rate 3, Start: the run diverges and says so.<br>"
    "• Patience 1: it stops at the first epoch that does not improve.<br>"
    "• Tick two runs below to compare them; draw while one trains."
)


def action_button(action, name: str) -> QToolButton:
    button = QToolButton()
    button.setObjectName(name)
    button.setAccessibleName(action.text())
    button.setDefaultAction(action)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    button.setMinimumHeight(30)
    return button


class TrainingForm(QWidget):
    """Start/Pause/Stop/+1 epoch/Reset (from ``actions``) over ``form``; live edits go to ``session``."""

    def __init__(self, workspace, session, actions, form: ControlsPanel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingForm")
        self.setAccessibleName("Training settings")
        self.session, self.actions, self.controls = session, actions, form
        self.start_button = action_button(actions.start, "startButton")
        self.start_button.setStyleSheet("QToolButton { font-weight: bold; }")
        self.pause_button = action_button(actions.pause, "pauseButton")
        self.stop_button = action_button(actions.stop, "stopButton")
        self.one_more_button = action_button(actions.one_more, "oneMoreButton")
        self.reset_button = action_button(actions.reset, "resetButton")
        self.repeat_box = named(QSpinBox(), "repeatCount", "Repeat ×N")
        self.repeat_box.setRange(1, MAX_REPEATS)
        self.repeat_box.setPrefix("×")
        self.repeat_box.setToolTip("Train the same settings this many times, with seeds 0, 1, 2…, in parallel "
                                   "processes: the runs list shows them as one group with mean ± sd (min–max), "
                                   "and the plots their mean curve and min–max band. 1 is a normal run.")
        self.repeat_status = named(QLabel(), "repeatStatus", "Repeats' progress")
        self.repeat_status.setWordWrap(True)
        self.repeat_status.setVisible(False)
        self.start_reason = named(QLabel(), "startReason", "Why Start is off")
        self.start_reason.setWordWrap(True)
        self.start_reason.setStyleSheet("color: #8a5a00;")
        run_box = QGroupBox("Run")
        grid = QGridLayout(run_box)
        grid.addWidget(self.start_button, 0, 0, 1, 2)
        grid.addWidget(self.pause_button, 1, 0)
        grid.addWidget(self.stop_button, 1, 1)
        grid.addWidget(self.one_more_button, 2, 0)
        grid.addWidget(self.reset_button, 2, 1)
        repeat_row = QHBoxLayout()
        repeat_label = QLabel("Repeat")
        repeat_label.setBuddy(self.repeat_box)
        repeat_row.addWidget(repeat_label)
        repeat_row.addWidget(self.repeat_box, 1)
        grid.addLayout(repeat_row, 3, 0, 1, 2)
        grid.addWidget(self.start_reason, 4, 0, 1, 2)
        grid.addWidget(self.repeat_status, 5, 0, 1, 2)

        tips = named(QLabel(TRY_THIS), "tryThis", "Try this")
        tips.setWordWrap(True)
        tips.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # wraps to the form's width
        tips_box = QGroupBox("Try this")
        QVBoxLayout(tips_box).addWidget(tips)

        column = QVBoxLayout(self)
        column.setContentsMargins(6, 6, 6, 6)
        column.addWidget(run_box)
        column.addWidget(form)
        column.addWidget(tips_box)
        column.addStretch(1)

        workspace.validation_size = form.validation_box.value()
        form.validation_box.valueChanged.connect(self._on_validation_size_changed)
        self.workspace = workspace
        form.learning_rate_edited.connect(lambda value: session.edit_live("learning_rate", value))
        form.momentum_edited.connect(lambda value: session.edit_live("momentum", value))
        form.patience_edited.connect(lambda value: session.edit_live("patience", value))
        form.learning_rate_slider.sliderPressed.connect(lambda: session.hold_live_edits(True))
        form.learning_rate_slider.sliderReleased.connect(lambda: session.hold_live_edits(False))
        form.live_edited.connect(session.edit_live)  # dropout and augmentation, live like the learning rate
        form.live_edits_held.connect(session.hold_live_edits)
        workspace.data_changed.connect(self._show_preview_digits)
        self._show_preview_digits()
        session.phase_changed.connect(self._on_phase_changed)
        actions.changed.connect(self._show_reason)
        self.repeat_box.valueChanged.connect(actions.set_repeat_count)
        actions.repeats.progressed.connect(self._show_repeat_status)
        actions.repeats.finished.connect(self._on_repeats_finished)
        self._show_reason()

    @Slot(int)
    def _on_validation_size_changed(self, size: int) -> None:
        self.workspace.set_validation_size(size)
        if self.workspace.mnist is not None:
            self.workspace.post_message(self.workspace.describe_data())

    @Slot()
    def _show_preview_digits(self, *_: object) -> None:
        split = self.workspace.split
        self.controls.augmentation_controls.set_digits(*((split.x_train, split.y_train) if split else (None,)))

    @Slot(str)
    def _on_phase_changed(self, phase: str) -> None:
        self.controls.set_structure_locked(phase != "idle")

    @Slot()
    def _show_reason(self) -> None:
        reason = self.actions.reason
        self.start_reason.setText(reason)
        self.start_reason.setVisible(bool(reason))
        self.repeat_box.setEnabled(not self.actions.busy)

    @Slot(str)
    def _show_repeat_status(self, text: str) -> None:
        self.repeat_status.setText(text)
        self.repeat_status.setVisible(True)

    @Slot(object)
    def _on_repeats_finished(self, outcome) -> None:
        saved = sum(1 for r in outcome.results if r.folder)
        count = self.actions.repeats.launch.count
        if outcome.error:
            text = f"The repeats failed: {outcome.error}"
        elif not saved:
            text = "Repeats stopped before any finished an epoch: nothing was saved."
        else:
            text = (f"{'Stopped: ' if outcome.stopped else ''}{saved} of {count} repeats · test accuracy "
                    f"{outcome.summary} · in {outcome.folder}")
        self._show_repeat_status(text)
        self.workspace.post_message(text)
