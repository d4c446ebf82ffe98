"""The form's early-stopping monitor: whether patience watches validation loss or validation accuracy."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QComboBox

from nnstudio.core.config import MONITORS, TrainingConfig
from nnstudio.gui.naming import named

TITLES = {"val_loss": "validation loss", "val_accuracy": "validation accuracy"}
TIPS = {"val_loss": "Stop when the validation loss has not fallen for 'patience' epochs; keep the epoch "
                    "with the lowest.",
        "val_accuracy": "Stop when the validation accuracy has not risen for 'patience' epochs; keep the "
                        "epoch with the highest (as the seed project did)."}


class MonitorControls(QObject):
    """One combo (:attr:`combo`) the form places in its "Epochs" group; fixed during a run."""

    changed = Signal()

    def __init__(self, patience_box=None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.patience_box = patience_box
        self.combo = QComboBox()
        for name in MONITORS:
            self.combo.addItem(TITLES[name], name)
            self.combo.setItemData(self.combo.count() - 1, TIPS[name], Qt.ItemDataRole.ToolTipRole)
        self.combo.setToolTip("What early stopping watches, and what makes an epoch the best one.")
        named(self.combo, "monitor", "Early stopping watches")
        self.combo.currentIndexChanged.connect(self._on_changed)

    def show_config(self, config: TrainingConfig) -> None:
        with QSignalBlocker(self.combo):
            self.combo.setCurrentIndex(max(self.combo.findData(config.monitor), 0))
        self._show_patience_tip()

    def fields(self) -> dict:
        return {"monitor": self.combo.currentData()}

    def set_structure_locked(self, locked: bool) -> None:
        self.combo.setEnabled(not locked)

    def _on_changed(self, *_: object) -> None:
        self._show_patience_tip()
        self.changed.emit()

    def _show_patience_tip(self) -> None:
        if self.patience_box is not None:
            better = {"val_loss": "a lower validation loss", "val_accuracy": "a higher validation accuracy"}
            self.patience_box.setToolTip(f"Stop after this many epochs without {better[self.combo.currentData()]}, "
                                         "keeping the best weights (0 = off).")
