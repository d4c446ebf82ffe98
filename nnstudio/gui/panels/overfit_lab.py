"""The overfitting lab: fewer training images and noisy labels, and a strip that shows the gap open.

The two settings go into the form's configuration (``train_size``, ``label_noise``) and the run is
started as the Train tab's Start would (through the run actions), so it is listed and saved like any
other. The loss plot shows training and validation loss per epoch; the strip under it the gap
between them, shaded at the epochs where validation loss rose while training loss fell.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.config import PRESETS
from nnstudio.core.overfitting import loss_gap, overfitting_epochs, summary
from nnstudio.core.reports import EpochReport
from nnstudio.core.training_set import TRAIN_SIZES
from nnstudio.gui.naming import named
from nnstudio.gui.when_shown import WhenShown

TRAIN_COLOR, VALIDATION_COLOR, GAP_COLOR = "#0072B2", "#D55E00", "#555555"


class OverfitLabPanel(QWidget):
    """``actions`` are the window's run actions (their form and Start); ``session`` feeds the plots."""

    def __init__(self, workspace, session, actions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "overfitLab", "Overfitting lab")
        self.workspace, self.session, self.actions, self.form = workspace, session, actions, actions.form
        self.history: list[EpochReport] = []

        self.size_combo = named(QComboBox(), "trainSizeCombo", "Training-set size")
        for size in TRAIN_SIZES:
            self.size_combo.addItem(f"{size:,} images" if size else "all images", size)
        self.noise_box = named(QDoubleSpinBox(), "labelNoiseBox", "Label noise",
                               "Share of training labels replaced by a wrong class, at random (same seed, same labels)")
        self.noise_box.setRange(0, 50)
        self.noise_box.setDecimals(0)
        self.noise_box.setSingleStep(5)
        self.noise_box.setSuffix(" % wrong labels")
        self.preset_button = named(QPushButton("Load the overfit preset"), "overfitPresetButton",
                                   "Load the overfit preset", PRESETS_TEXT)
        self.start_button = named(QPushButton("Train with these"), "startOverfitButton",
                                  "Train with this training-set size and label noise")
        self.summary_label = named(QLabel("Train a run to see the gap between training and validation loss."),
                                   "gapSummary", "Train-validation gap")
        self.summary_label.setWordWrap(True)

        self.plots = named(pg.GraphicsLayoutWidget(), "overfitPlots", "Loss and the train-validation gap")
        self.plots.setBackground(None)
        self.loss_plot = self.plots.addPlot(row=0, col=0)
        self.loss_plot.setLabel("left", "loss")
        self.loss_plot.addLegend(offset=(-10, 10))
        self.loss_plot.showGrid(x=True, y=True, alpha=0.2)
        self.train_curve = self.loss_plot.plot([], [], pen=pg.mkPen(TRAIN_COLOR, width=2), symbol="o", symbolSize=4,
                                               symbolBrush=TRAIN_COLOR, name="training loss")
        self.val_curve = self.loss_plot.plot([], [], pen=pg.mkPen(VALIDATION_COLOR, width=2), symbol="o",
                                             symbolSize=4, symbolBrush=VALIDATION_COLOR, name="validation loss")
        self.gap_plot = self.plots.addPlot(row=1, col=0)
        self.gap_plot.setLabel("left", "gap")
        self.gap_plot.setLabel("bottom", "epoch")
        self.gap_plot.setXLink(self.loss_plot)
        self.gap_plot.showGrid(x=True, y=True, alpha=0.2)
        self.plots.ci.layout.setRowStretchFactor(0, 3)
        self.plots.ci.layout.setRowStretchFactor(1, 1)
        self.overfit_bars = pg.BarGraphItem(x=[], height=[], width=1.0, brush=pg.mkBrush(213, 94, 0, 70),
                                            pen=pg.mkPen(None))
        self.gap_plot.addItem(self.overfit_bars)
        self.gap_curve = self.gap_plot.plot([], [], pen=pg.mkPen(GAP_COLOR, width=2))
        self.gap_plot.addLine(y=0, pen=pg.mkPen("#999999"))

        settings = QHBoxLayout()
        settings.addWidget(QLabel("Train on"))
        settings.addWidget(self.size_combo)
        settings.addWidget(QLabel("with"))
        settings.addWidget(self.noise_box)
        settings.addWidget(self.start_button)
        settings.addWidget(self.preset_button)
        settings.addStretch(1)
        intro = QLabel("Overfitting in seconds: a small training set, or labels partly wrong, and a wide network "
                       "learns the training images by heart. Validation loss climbs while training loss falls.")
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(settings)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.summary_label)

        self.preset_button.clicked.connect(self.load_preset)
        self.start_button.clicked.connect(self.start)
        self.form.config_changed.connect(self._show_form_settings)
        self.size_combo.currentIndexChanged.connect(self._apply_to_form)
        self.noise_box.valueChanged.connect(self._apply_to_form)
        session.started.connect(self._on_started)
        self._show_when_shown = WhenShown(self, self.show_history)
        session.epoch_finished.connect(self._on_epoch)
        session.cleared.connect(self._clear)
        session.phase_changed.connect(self._update_buttons)
        workspace.data_changed.connect(self._update_buttons)
        workspace.selection_changed.connect(self._on_run_selected)
        self._show_form_settings()
        self._update_buttons()

    # -- public ---------------------------------------------------------------------------------

    def settings(self) -> dict:
        """The lab's choices as configuration fields."""
        return {"train_size": int(self.size_combo.currentData()), "label_noise": self.noise_box.value() / 100}

    def load_preset(self) -> None:
        self.form.set_config(PRESETS["overfit"], preset="overfit")

    def start(self) -> bool:
        """Put the lab's settings into the form and start a run as Start would; False if it cannot start."""
        config = self.form.config()
        if config is None or self.session.busy or self.workspace.split is None:
            return False
        self.form.set_config(config.replace(**self.settings()), preset=self.form.current_preset())
        self.actions.start_run()
        return self.session.busy

    def show_history(self, history) -> None:
        self.history = list(history)
        epochs = np.array([r.epoch for r in self.history], dtype=float)
        self.train_curve.setData(epochs, [r.train_loss for r in self.history])
        self.val_curve.setData(epochs, [r.val_loss for r in self.history])
        gap = loss_gap(self.history)
        self.gap_curve.setData(epochs, gap)
        flagged = overfitting_epochs(self.history)
        heights = [gap[e - self.history[0].epoch] for e in flagged] if flagged else []
        self.overfit_bars.setOpts(x=flagged, height=heights, width=1.0)
        self.summary_label.setText(summary(self.history) or
                                   "Train a run to see the gap between training and validation loss.")

    # -- reactions ---------------------------------------------------------------------------------

    @Slot(object)
    def _on_started(self, launch) -> None:
        if not launch.continued:
            self._clear()

    def _clear(self) -> None:
        self.history = []
        self._show_when_shown([])

    @Slot(object)
    def _on_epoch(self, report: EpochReport) -> None:
        self.history.append(report)
        self._show_when_shown(list(self.history))  # behind another tab: drawn once it is shown

    @Slot(object)
    def _on_run_selected(self, run) -> None:
        if run is not None and not self.session.busy:
            self.history = list(run.history)
            self._show_when_shown(list(run.history))

    @Slot()
    def _show_form_settings(self) -> None:
        config = self.form.config()
        if config is None:
            return
        index = self.size_combo.findData(config.train_size)
        if index >= 0:
            self.size_combo.setCurrentIndex(index)
        self.noise_box.setValue(round(config.label_noise * 100))

    @Slot()
    def _apply_to_form(self, *_: object) -> None:
        """The lab's settings are the form's: a run started from the Train tab uses them too."""
        config = self.form.config()
        if config is None or self.session.busy:
            return
        changed = config.replace(**self.settings())
        if changed != config:
            self.form.set_config(changed, preset=self.form.current_preset())

    @Slot()
    def _update_buttons(self, *_: object) -> None:
        busy = self.session.busy
        self.start_button.setEnabled(self.workspace.split is not None and not busy)
        for widget in (self.size_combo, self.noise_box, self.preset_button):
            widget.setEnabled(not busy)


PRESETS_TEXT = "1,000 training images, 20% of their labels wrong, a 256-128 network, 30 epochs without early stopping"
