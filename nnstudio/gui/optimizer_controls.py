"""The form's optimiser: a combo (SGD, Adam, AdamW, RMSprop) and, folded away, the settings of the
chosen one (beta1, beta2, eps). Momentum and Nesterov stay in the main form; they are enabled only
for the optimisers that use them."""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QWidget

from nnstudio.core.config import OPTIMIZERS, TrainingConfig
from nnstudio.core.limits import LIMITS
from nnstudio.gui.collapsible import Collapsible
from nnstudio.gui.naming import named
from nnstudio.gui.spin_boxes import LearningRateBox

TITLES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}
TIPS = {"sgd": "Stochastic gradient descent, with the momentum and Nesterov settings below.",
        "adam": "Adam: per-weight step sizes from running averages of the gradient and its square.",
        "adamw": "AdamW: Adam with the L2 decay applied straight to the weights (decoupled).",
        "rmsprop": "RMSprop: steps divided by a running average of the squared gradient; momentum applies."}
#: The details each optimiser uses (RMSprop's decay rate is beta2), and whether momentum/Nesterov apply.
DETAILS = {"sgd": (), "adam": ("beta1", "beta2", "eps"), "adamw": ("beta1", "beta2", "eps"),
           "rmsprop": ("beta2", "eps")}
USES_MOMENTUM = {"sgd": True, "adam": False, "adamw": False, "rmsprop": True}


class EpsBox(LearningRateBox):
    """A small positive number in exponent notation ("1e-8"); the arrows multiply or divide by 10."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(14)
        self.setRange(*LIMITS["eps"])

    def stepBy(self, steps: int) -> None:  # noqa: N802
        exponent = round(math.log10(self.value())) + steps
        self.setValue(min(max(10.0 ** exponent, self.minimum()), self.maximum()))


def beta_box(name: str, accessible: str, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(4)
    box.setRange(*LIMITS[name])
    box.setSingleStep(0.001 if name == "beta2" else 0.01)
    box.setKeyboardTracking(False)
    box.setToolTip(tip)
    return named(box, name, accessible)


class OptimizerControls(QObject):
    """The optimiser combo and its details; the form places :attr:`combo` and :attr:`details`."""

    changed = Signal()

    def __init__(self, momentum: QWidget | None = None, nesterov: QWidget | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.momentum, self.nesterov, self._locked = momentum, nesterov, False
        self.combo = QComboBox()
        for name in OPTIMIZERS:
            self.combo.addItem(TITLES[name], name)
            self.combo.setItemData(self.combo.count() - 1, TIPS[name], Qt.ItemDataRole.ToolTipRole)
        self.combo.setToolTip("How each gradient becomes a step: plain SGD (with momentum) or an adaptive method.")
        named(self.combo, "optimizer", "Optimiser")
        self.beta1_box = beta_box("beta1", "Beta 1", "Adam's running average of the gradient: how much of "
                                  "the past it keeps (0.9 is usual).")
        self.beta2_box = beta_box("beta2", "Beta 2", "The running average of the squared gradient: how much "
                                  "of the past it keeps (Adam 0.999; RMSprop's decay rate, 0.9 to 0.99).")
        self.eps_box = named(EpsBox(), "eps", "Epsilon")
        self.eps_box.setToolTip("Added to the divisor so a weight with tiny gradients does not take huge steps.")
        body = QWidget()
        self.rows = QFormLayout(body)
        self.rows.setContentsMargins(12, 0, 0, 0)
        self.rows.addRow("Beta 1", self.beta1_box)
        self.rows.addRow("Beta 2", self.beta2_box)
        self.rows.addRow("Epsilon", self.eps_box)
        self.details = Collapsible("Optimiser details", "optimizerDetails", body,
                                   tip="Show or hide the settings of the chosen optimiser (beta1, beta2, eps)")
        self.combo.currentIndexChanged.connect(self._on_changed)
        for box in (self.beta1_box, self.beta2_box, self.eps_box):
            box.valueChanged.connect(self._on_changed)
        self._show_applicable()

    @property
    def optimizer(self) -> str:
        return self.combo.currentData()

    def show_config(self, config: TrainingConfig) -> None:
        """Show ``config``'s optimiser and details, without signals."""
        blockers = [QSignalBlocker(w) for w in (self.combo, self.beta1_box, self.beta2_box, self.eps_box)]
        self.combo.setCurrentIndex(max(self.combo.findData(config.optimizer), 0))
        self.beta1_box.setValue(config.beta1)
        self.beta2_box.setValue(config.beta2)
        self.eps_box.setValue(config.eps)
        self._base = config
        del blockers
        self._show_applicable()

    def fields(self) -> dict:
        """The config fields as shown; a detail whose box still shows the loaded value keeps it exactly."""
        def kept(name: str, box: QDoubleSpinBox) -> float:
            loaded = getattr(self._base, name)
            return loaded if box.textFromValue(loaded) == box.textFromValue(box.value()) else box.value()
        return {"optimizer": self.optimizer, "beta1": kept("beta1", self.beta1_box),
                "beta2": kept("beta2", self.beta2_box), "eps": kept("eps", self.eps_box)}

    def set_structure_locked(self, locked: bool) -> None:
        self._locked = locked
        for widget in (self.combo, self.beta1_box, self.beta2_box, self.eps_box):
            widget.setEnabled(not locked)
        self._show_applicable()

    def _on_changed(self, *_: object) -> None:
        self._show_applicable()
        self.changed.emit()

    def _show_applicable(self) -> None:
        used = DETAILS[self.optimizer]
        for name, box in (("beta1", self.beta1_box), ("beta2", self.beta2_box), ("eps", self.eps_box)):
            self.rows.setRowVisible(box, name in used)
        self.rows.labelForField(self.beta2_box).setText("Decay ρ" if self.optimizer == "rmsprop" else "Beta 2")
        self.details.setVisible(bool(used))
        if self.momentum is not None:  # live during a run, for the optimisers that use it
            self.momentum.setEnabled(USES_MOMENTUM[self.optimizer])
        if self.nesterov is not None:  # SGD's alone, and fixed for a run
            self.nesterov.setEnabled(self.optimizer == "sgd" and not self._locked)
