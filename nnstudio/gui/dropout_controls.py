"""The form's dropout rates: hidden layers and input, both live during a run like the learning rate."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSignalBlocker, Signal
from PySide6.QtWidgets import QDoubleSpinBox

from nnstudio.core.config import TrainingConfig
from nnstudio.core.limits import LIMITS
from nnstudio.gui.naming import named

FIELDS = ("dropout", "input_dropout")


def rate_box(name: str, object_name: str, accessible: str, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(*LIMITS[name])
    box.setDecimals(2)
    box.setSingleStep(0.05)
    box.setSpecialValueText("off")
    box.setKeyboardTracking(False)  # a typed rate counts when complete (Enter, Tab, arrows)
    box.setToolTip(tip)
    return named(box, object_name, accessible)


class DropoutControls(QObject):
    """Two rate boxes the form places; every edit is also offered live (``live_edited``)."""

    changed = Signal()
    live_edited = Signal(str, object)  # a config field's name, its new value

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.dropout_box = rate_box(
            "dropout", "dropout", "Dropout",
            "Share of hidden units switched off at random for each batch (scaled up to keep the sum), so no "
            "unit can rely on another; off when evaluating. May be changed during a run.")
        self.input_dropout_box = rate_box(
            "input_dropout", "inputDropout", "Input dropout",
            "Share of input pixels blanked at random for each batch; off when evaluating. May be changed "
            "during a run.")
        self.boxes = {"dropout": self.dropout_box, "input_dropout": self.input_dropout_box}
        for name, box in self.boxes.items():
            box.valueChanged.connect(lambda value, name=name: self._on_edited(name, value))

    def show_config(self, config: TrainingConfig) -> None:
        for name, box in self.boxes.items():
            with QSignalBlocker(box):
                box.setValue(getattr(config, name))
        self._base = config

    def fields(self) -> dict:
        """The rates as shown (a loaded rate the box rounds for display is kept exactly)."""
        out = {}
        for name, box in self.boxes.items():
            loaded = getattr(self._base, name)
            out[name] = loaded if box.textFromValue(loaded) == box.textFromValue(box.value()) else box.value()
        return out

    def live_settings(self) -> dict:
        return self.fields()

    def set_structure_locked(self, locked: bool) -> None:
        """Dropout stays editable during a run."""

    def _on_edited(self, name: str, value: float) -> None:
        self.changed.emit()
        self.live_edited.emit(name, value)
