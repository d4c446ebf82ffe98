"""The epoch scrubber: a slider over a run's checkpoints that makes an epoch's weights the model in use,
so every Evaluate view and the sketch pad show what the network knew then.

Its checkpoints come from the live run (the session's trainer keeps one per epoch) or from the run
selected in the runs list (its ``checkpoints.npz``, read off the GUI thread).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider, QWidget

from nnstudio.core.checkpoints import Checkpoints, load_checkpoints
from nnstudio.core.model_file import ModelFileError
from nnstudio.gui.panels.latest_job import LatestJob
from nnstudio.gui.steady_label import SteadyLabel


def _load_job(run):
    yield None
    try:
        saved = load_checkpoints(run.checkpoints_path)
    except (ModelFileError, OSError) as exc:
        return run, None, None, str(exc)
    return run, saved.checkpoints, saved.activation, ""


class EpochScrubber(QWidget):
    """``epoch_chosen(epoch)``: the user moved to an epoch and its weights are now the model in use."""

    epoch_chosen = Signal(int)
    checkpoints_changed = Signal()

    def __init__(self, workspace, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("epochScrubber")
        self.setAccessibleName("Epoch scrubber")
        self.workspace, self.session = workspace, session
        self.checkpoints: Checkpoints | None = None
        self.activation = "relu"
        self.run_name = ""
        self._epochs: list[int] = []
        self._quiet = False
        self.loader = LatestJob("checkpoints", self)
        self.loader.returned.connect(self._on_loaded)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("epochSlider")
        self.slider.setAccessibleName("Epoch of the weights in use")
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.best_button = QPushButton("Best epoch")
        self.best_button.setObjectName("scrubberBestButton")
        self.best_button.setAccessibleName("Use the best epoch's weights")
        # Its text changes after every epoch of a run: a QLabel's new text re-lays out the window, and the
        # tab widget then repaints the whole Evaluate page.
        self.label = SteadyLabel("scrubberLabel", 2)
        self.label.setFixedWidth(self.label.fontMetrics().horizontalAdvance("run 2026-01-01 12-00-00: epoch 100") + 8)
        self.label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Epoch"))
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.best_button)
        layout.addWidget(self.label)
        self.slider.valueChanged.connect(self._on_slider)
        self.best_button.clicked.connect(self.choose_best)
        session.started.connect(self._follow_live_run)
        session.epoch_finished.connect(self._follow_live_run)
        session.cleared.connect(lambda: self.set_checkpoints(None, "relu", ""))
        workspace.selection_changed.connect(self._on_selection)
        self.set_checkpoints(None, "relu", "")

    @property
    def epochs(self) -> list[int]:
        return list(self._epochs)

    @property
    def epoch(self) -> int | None:
        return self._epochs[self.slider.value()] if self._epochs else None

    def set_checkpoints(self, checkpoints: Checkpoints | None, activation: str, name: str,
                        stay_at: int | None = None) -> None:
        """Scrub over ``checkpoints`` (None: nothing to scrub); the slider rests at the latest epoch, or
        at ``stay_at`` if it is kept. Nothing changes the model in use until the user moves the slider."""
        self.checkpoints, self.activation, self.run_name = checkpoints, activation, name
        self._epochs = checkpoints.epochs if checkpoints is not None else []
        self._quiet = True
        self.slider.setRange(0, max(len(self._epochs) - 1, 0))
        at = self._epochs.index(stay_at) if stay_at in self._epochs else len(self._epochs) - 1
        self.slider.setValue(max(at, 0))
        self._quiet = False
        usable = len(self._epochs) > 1
        self.slider.setEnabled(usable)
        self.best_button.setEnabled(usable and checkpoints.best_epoch in self._epochs)
        if not self._epochs:
            self.label.setText("No checkpoints: train a run or select one in the runs list")
        else:
            self._describe()
        self.checkpoints_changed.emit()

    def choose_epoch(self, epoch: int) -> None:
        """Move to ``epoch`` (the nearest kept) and use its weights."""
        if self._epochs:
            nearest = min(range(len(self._epochs)), key=lambda i: (abs(self._epochs[i] - epoch), i))
            if nearest == self.slider.value():
                self._use(self._epochs[nearest])
            self.slider.setValue(nearest)

    def choose_best(self) -> None:
        if self.checkpoints is not None and self.checkpoints.best_epoch:
            self.choose_epoch(self.checkpoints.best_epoch)

    def _describe(self) -> None:
        epoch = self.epoch
        best = self.checkpoints.best_epoch if self.checkpoints is not None else 0
        tag = " (best)" if epoch == best else ""
        self.label.setText(f"{self.run_name}: epoch {epoch}{tag} of {self._epochs[-1]}")

    def _on_slider(self, _value: int) -> None:
        if self._quiet or not self._epochs:
            return
        self._use(self.epoch)

    def _use(self, epoch: int) -> None:
        network = self.checkpoints.get(epoch).network(self.activation)
        self._describe()
        self.workspace.set_model(network, f"{self.run_name}, epoch {epoch}")
        self.epoch_chosen.emit(epoch)

    # -- where checkpoints come from --------------------------------------------------------------

    def _follow_live_run(self, *_: object) -> None:
        trainer = self.session.trainer
        if trainer is None or not hasattr(trainer, "checkpoints"):
            return
        same_run = self.checkpoints is trainer.checkpoints and self._epochs
        moved = same_run and self.slider.value() != len(self._epochs) - 1
        self.set_checkpoints(trainer.checkpoints, trainer.config.activation, self.session.run_name or "this run",
                             stay_at=self.epoch if moved else None)

    def _on_selection(self, run) -> None:
        if run is None or self.session.running:
            return
        if not run.checkpoints_path.is_file():
            self.set_checkpoints(None, "relu", "")
            self.label.setText(f"{run.name} kept no checkpoints")
            return
        self.loader.request(lambda: _load_job(run))

    def _on_loaded(self, result) -> None:
        if result is None:
            return
        run, checkpoints, activation, problem = result
        if checkpoints is None:
            self.set_checkpoints(None, "relu", "")
            self.label.setText(f"{run.name}: {problem}")
        else:
            self.set_checkpoints(checkpoints, activation, run.name)
