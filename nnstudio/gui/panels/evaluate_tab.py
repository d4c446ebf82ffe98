"""The Evaluate tab: what the model in use gets wrong, and when it learned it.

It places the views (confusion matrix, per-digit figures, mistakes gallery, confidence threshold,
robustness curves, layer map, epoch scrubber) and feeds them: whenever the workspace's model in use
or data changes, or the set is switched, it evaluates the model off the GUI thread and hands every
view the result. It computes only while the tab is shown; a change made while it is hidden is
evaluated when it is shown again, and leaving the tab cancels the work under way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from nnstudio.core.evaluation import Evaluation, evaluation_steps
from nnstudio.gui.panels.confidence_threshold import ConfidenceThresholdView
from nnstudio.gui.panels.confusion_matrix import ConfusionMatrixView
from nnstudio.gui.panels.epoch_scrubber import EpochScrubber
from nnstudio.gui.panels.latest_job import BACKGROUND_NICE, LatestJob
from nnstudio.gui.panels.layer_map import LayerMapView
from nnstudio.gui.panels.mistakes_gallery import GalleryPicture, MistakesGallery, gallery_picture
from nnstudio.gui.panels.per_digit import PerDigitView
from nnstudio.gui.panels.robustness_curves import RobustnessView
from nnstudio.gui.steady_label import SteadyLabel

SETS = (("Validation set", "val"), ("Test set", "test"))


@dataclass(frozen=True, eq=False)
class Evaluated:
    """An evaluation and what it was of (plain data from the worker)."""

    evaluation: Evaluation
    which: str  # "val" or "test"
    network: object
    gallery: GalleryPicture | None = None  # the mistakes gallery for the filter it had when asked


def _evaluation_job(network, images, labels, which, gallery_filter):
    # A chunk at a time (a cancelled job stops at the next); the figures the views read, and the
    # gallery's picture, are computed here too, off the GUI thread.
    evaluation = (yield from evaluation_steps(network, images, labels)).prepare()
    return Evaluated(evaluation, which, network, gallery_picture(evaluation, images, *gallery_filter))


def boxed(title: str, widget: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(4, 2, 4, 4)
    layout.addWidget(widget)
    return box


class EvaluatePanel(QWidget):
    """The Evaluate workspace; ``evaluated(Evaluation)`` after each evaluation is shown in every view."""

    evaluated = Signal(object)

    def __init__(self, workspace, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("evaluatePanel")
        self.setAccessibleName("Evaluate")
        self.workspace, self.session = workspace, session
        self.evaluation: Evaluation | None = None
        self.evaluated_network = None
        self._stale = True
        self._set_chosen = False  # the user picked a set: it no longer follows the run
        self._best_epoch = 0  # the epoch of the running run's best weights so far
        self._pending_set: str | None = None  # the set to follow with the run's next model

        # Labels whose text changes after every epoch are SteadyLabels (or of a fixed size): a QLabel's
        # new text re-lays out every layout up to the window, and the tab widget then repaints the whole
        # page (~100 widgets, ~10 ms of the GUI thread for one line of text).
        self.model_label = SteadyLabel("evaluateModel", 2)
        self.set_choice = QComboBox()
        self.set_choice.setObjectName("evaluateSet")
        self.set_choice.setAccessibleName("Images to evaluate on")
        for text, key in SETS:
            self.set_choice.addItem(text, key)
        self.set_choice.setCurrentIndex(1)
        self.status = SteadyLabel("evaluateStatus", 2)
        widest = self.status.fontMetrics().horizontalAdvance("99.99% of the 10,000 validation images right")
        self.status.setFixedWidth(widest + 8)
        self.status.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.scrubber = EpochScrubber(workspace, session)
        self.confusion = ConfusionMatrixView()
        self.per_digit = PerDigitView()
        self.gallery = MistakesGallery(workspace)
        self.threshold = ConfidenceThresholdView()
        self.robustness = RobustnessView()
        self.layer_map = LayerMapView(workspace)
        self._steps = None  # showing an evaluation, a view per event-loop turn
        self._deferred = None  # (network, images, labels, predictions) whose curves and map are still to come
        self._step_timer = QTimer(self)
        self._step_timer.setInterval(0)
        self._step_timer.timeout.connect(self._next_step)
        # During a run (coalesced requests) it runs below the training thread's and the window's priority.
        self.job = LatestJob("evaluation", self, nice=BACKGROUND_NICE)
        self.job.returned.connect(self._on_evaluated)
        self.job.errored.connect(lambda message: self.status.setText(f"Evaluation failed: {message}"))

        # The model's line is in a row of its own: its text changes after every epoch, and a change
        # re-lays out its parent's layout; that of the whole panel repainted every view (~70 widgets).
        top_row = QWidget()
        top_row.setObjectName("evaluateTopRow")
        top = QHBoxLayout(top_row)
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.model_label, 1)
        top.addWidget(QLabel("Evaluate on"))
        top.addWidget(self.set_choice)
        top.addWidget(self.status)
        columns = QSplitter(Qt.Orientation.Horizontal)
        columns.setObjectName("evaluateColumns")
        for upper, lower in ((boxed("Confusion matrix", self.confusion), boxed("Per digit", self.per_digit)),
                             (boxed("Mistakes", self.gallery), boxed("Confidence threshold", self.threshold)),
                             (boxed("Robustness", self.robustness), boxed("Layer map", self.layer_map))):
            column = QSplitter(Qt.Orientation.Vertical)
            column.setObjectName(f"evaluateColumn{columns.count() + 1}")
            column.addWidget(upper)
            column.addWidget(lower)
            columns.addWidget(column)
        columns.setSizes([1000] * columns.count())  # three equal columns, whatever each view's size hint
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(top_row)
        layout.addWidget(self.scrubber)
        layout.addWidget(columns, 1)

        workspace.model_changed.connect(self._on_model_changed)
        workspace.data_changed.connect(lambda *_: self.invalidate())
        self.set_choice.activated.connect(self._on_set_chosen)
        self.set_choice.currentIndexChanged.connect(lambda *_: self.invalidate())
        session.started.connect(self._on_run_started)
        session.best_network_changed.connect(lambda _, report: setattr(self, "_best_epoch", report.epoch))
        session.ended.connect(self._on_run_ended)
        session.phase_changed.connect(self._on_phase_changed)
        self.confusion.cell_clicked.connect(self.gallery.set_filter)
        self.gallery.filter_changed.connect(self.confusion.select)
        self._on_model_changed(workspace.model, workspace.model_description)

    # -- what is evaluated ---------------------------------------------------------------------

    @property
    def which(self) -> str:
        return self.set_choice.currentData()

    def images(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The pixels and labels of the chosen set, or None without data."""
        split = self.workspace.split
        if split is None:
            return None
        return (split.x_val, split.y_val) if self.which == "val" else (split.x_test, split.y_test)

    def choose_set(self, which: str) -> None:
        self._set_chosen = True
        self.set_choice.setCurrentIndex([key for _, key in SETS].index(which))

    def _on_set_chosen(self, *_: object) -> None:
        self._set_chosen = True

    def _follow_run(self, which: str) -> None:
        if not self._set_chosen:
            self.set_choice.setCurrentIndex([key for _, key in SETS].index(which))

    def _on_run_started(self, *_: object) -> None:
        # Curves and a map of the model before the run would only slow its first epochs down; so would
        # its evaluation, if still under way (the run's first weights are evaluated after its first epoch).
        self.robustness.cancel()
        self.layer_map.job.cancel()
        if self.job.busy:
            self.job.cancel()
            self._stale = True
            self.status.setText("Evaluating the run's weights after its first epoch…")
        self._best_epoch = 0
        # The validation set once the run's first weights come: switched now, the model from before the
        # run would be evaluated on it once more, during the first epoch, for nothing.
        self._pending_set = "val"

    def _on_run_ended(self, *_: object) -> None:
        self._pending_set = None
        self._follow_run("test")

    def _on_model_changed(self, network, description: str) -> None:
        if self._pending_set is not None and self.session.running:
            self.set_choice.blockSignals(True)  # one evaluation for the new model and set, below
            self._follow_run(self._pending_set)
            self.set_choice.blockSignals(False)
            self._pending_set = None
        self.model_label.setText(f"<b>Model in use:</b> {description or 'none'}" if network is not None
                                 else "<b>No model in use</b>: train one, choose a run, or load a model file")
        self.invalidate()

    # -- computing -------------------------------------------------------------------------------

    def invalidate(self) -> None:
        """The model, data or set changed: evaluate again now if shown, else when shown; while a run
        that ended is being saved, once it is saved (the window draws and lists the run meanwhile)."""
        self._stale = True
        if self.isVisible() and self.session.phase in ("ending", "saving"):
            self.status.setText("Evaluating once the run is saved…")
        elif self.isVisible():
            self.refresh()

    def _on_phase_changed(self, phase: str) -> None:
        if self._stale and self.isVisible() and phase not in ("running", "ending", "saving"):
            self.refresh()  # what changed while the run was saved
        else:
            self._run_deferred()

    @property
    def up_to_date(self) -> bool:
        """Whether every view shows the evaluation of the model in use now (the curves and map may follow)."""
        return (not self._stale and not self.job.busy and self._steps is None
                and self.evaluated_network is self.workspace.model)

    def refresh(self) -> None:
        """Evaluate the model in use off the GUI thread; during a run a model that comes while one is
        evaluated waits for it (a newer one replaces it), so every epoch's views end up drawn."""
        self._stale = False
        if self.session.phase != "running":  # a newer evaluation is coming: the views wait for it
            self._step_timer.stop()
            self._steps = None
        network, data = self.workspace.model, self.images()
        if network is None or data is None or not len(data[1]):
            self.status.setText("No model in use" if network is None else "No data: choose a data folder")
            self._show(None, None)
            return
        if network.sizes[0] != data[0].shape[1] or network.sizes[-1] != 10:
            self.status.setText("The model in use does not read these images")
            self._show(None, None)
            return
        images, labels = data
        which = self.which
        self.status.setText("Evaluating…")
        gallery_filter = self.gallery.filter
        self.job.request(lambda: _evaluation_job(network, images, labels, which, gallery_filter),
                         coalesce=self.session.phase == "running")

    def _on_evaluated(self, result: Evaluated | None) -> None:
        data = self.images()
        if result is None or result.which != self.which or data is None or len(data[1]) != result.evaluation.count:
            return
        self._steps = self._show_steps(result, *data)
        self._step_timer.start()

    def _next_step(self) -> None:
        try:
            next(self._steps)
        except StopIteration:
            self._step_timer.stop()
            self._steps = None

    def _show_steps(self, result: Evaluated, images: np.ndarray, labels: np.ndarray):
        """Hand the evaluation to the views, one per turn of the event loop, so no turn holds the
        window for long; then start the robustness curves and the layer map off the GUI thread."""
        evaluation = self.evaluation = result.evaluation
        self.confusion.show_matrix(evaluation.confusion)
        yield
        self.per_digit.show_figures(evaluation.per_digit())
        yield
        self.gallery.set_evaluation(evaluation, images, result.gallery)
        yield
        self.threshold.set_evaluation(evaluation)
        yield
        self.evaluated_network = result.network
        self._deferred = (result.network, images, labels, evaluation.predictions)
        if self.session.phase == "running" and not self._best_epoch:
            pass  # the model from before the run (until its first epoch): curves and map when it pauses or ends
        elif self.session.phase == "running":
            # All four curves and a t-SNE map cost seconds of CPU: after every epoch they would slow the
            # training thread (two cores, one GIL). So during a run each epoch's model gets one curve
            # (in turn) and a PCA map, each started once the last has been drawn; the full set follows
            # when the run pauses or ends.
            network, note = result.network, self._model_note()
            self.robustness.compute_next(network, images, labels, note)
            yield
            self.layer_map.set_source(network, images, labels, evaluation.predictions, live=True, note=note)
        else:
            self._run_deferred()
        name = dict((key, text) for text, key in SETS)[result.which].lower()
        self.status.setText(f"{evaluation.accuracy:.2%} of the {evaluation.count:,} {name} images right")
        self.evaluated.emit(evaluation)

    def _model_note(self) -> str:
        """Which epoch of the running run the model in use is ("epoch 5"), or ""."""
        return f"epoch {self._best_epoch}" if self._best_epoch else ""

    def _run_deferred(self, *_: object) -> None:
        """Measure every robustness curve and map the layer (t-SNE if asked for) of the last evaluation,
        if not done yet: when it is shown, and when a run pauses or ends."""
        if (self._deferred is None or self.session.phase in ("running", "ending", "saving")
                or not self.isVisible()):
            return
        network, images, labels, predictions = self._deferred
        self._deferred = None
        self.robustness.compute(network, images, labels)
        self.layer_map.set_source(network, images, labels, predictions)

    def _show(self, evaluation: Evaluation | None, images: np.ndarray | None) -> None:
        self._step_timer.stop()
        self._steps = None
        self.evaluation = evaluation
        self.confusion.show_matrix(None if evaluation is None else evaluation.confusion)
        self.per_digit.show_figures(None if evaluation is None else evaluation.per_digit())
        self.gallery.set_evaluation(evaluation, images)
        self.threshold.set_evaluation(evaluation)

    def cancel(self) -> None:
        """Stop every computation under way (the tab is left or the window closes)."""
        if self.job.busy or self.robustness.job.busy or self.layer_map.job.busy:
            self._stale = True
        for job in (self.job, self.robustness.job, self.layer_map.job):
            job.cancel()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._stale:
            self.refresh()
        else:
            self._run_deferred()

    def hideEvent(self, event) -> None:  # noqa: N802
        super().hideEvent(event)
        self.cancel()
