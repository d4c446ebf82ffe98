"""Teach it your handwriting: keep the pad's sketches with their right labels, and fine-tune on them.

The sketch comes from the workspace (the pad announces it); "That's right" or "That's wrong — it's a
[digit]" adds it to the personal set, saved in IDX files in the app's data folder after every change.
The set is drawn as one mosaic (click a digit to select it, Delete removes it) and can be exported as
an MNIST folder. "Learn from my digits" fine-tunes the model in use off the GUI thread, mixing your
digits with replayed MNIST, reports both accuracies before → after, and offers Undo and Save.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.idx import DataError
from nnstudio.core.model_file import save_model
from nnstudio.core.mosaic import mosaic
from nnstudio.core.personal_digits import FineTuneProgress, FineTuneResult, PersonalDigits, fine_tune
from nnstudio.gui.colors import BACKGROUND
from nnstudio.gui.naming import named
from nnstudio.gui.worker import Worker, join
from nnstudio.gui.when_shown import WhenShown

FOLDER_NAME = "personal-digits"
COLUMNS, SCALE = 12, 2


class PersonalDigitsPanel(QWidget):
    """``workspace`` gives the sketch, the model in use and MNIST; the set lives in ``folder``
    (default: ``personal-digits`` beside the runs folder, in the app's data folder).
    Signals: ``digits_changed(int)`` (how many), ``learnt(FineTuneResult)``."""

    digits_changed = Signal(int)
    learnt = Signal(object)

    def __init__(self, workspace, session, folder: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "personalDigits", "Teach it your handwriting")
        self.workspace, self.session = workspace, session
        self.folder = Path(folder) if folder is not None else Path(workspace.runs_root).parent / FOLDER_NAME
        self.selected: int | None = None
        self.thread = self.worker = None
        self.before: tuple | None = None  # (network, description) to go back to
        self.result: FineTuneResult | None = None
        self._layout = None

        self.prediction_label = named(QLabel("Draw a digit on the pad."), "personalPrediction", "What the model says")
        self.right_button = named(QPushButton("That's right"), "thatsRightButton", "That's right: keep the sketch")
        self.wrong_buttons = []
        wrong_row = QHBoxLayout()
        wrong_row.addWidget(QLabel("That's wrong — it's a"))
        for digit in range(10):
            button = named(QToolButton(), f"itsA{digit}Button", f"That's wrong, it's a {digit}")
            button.setText(str(digit))
            button.clicked.connect(lambda _=False, d=digit: self.add_sketch(d))
            self.wrong_buttons.append(button)
            wrong_row.addWidget(button)
        wrong_row.addStretch(1)
        self.right_button.clicked.connect(self.confirm_sketch)

        self.caption = named(QLabel(), "personalCaption", "Your digits")
        self.caption.setWordWrap(True)
        self.graphics = named(pg.GraphicsLayoutWidget(), "personalGallery", "Your digits")
        self.graphics.setBackground(BACKGROUND)
        self.graphics.setMinimumHeight(140)
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.marker = pg.ROI((0, 0), (0, 0), movable=False, resizable=False, pen=pg.mkPen("#D55E00", width=2))
        self.marker.setVisible(False)
        self.view.addItem(self.marker)
        self.graphics.scene().sigMouseClicked.connect(self._on_clicked)

        self.delete_button = named(QPushButton("Delete"), "deleteDigitButton", "Delete the selected digit")
        self.export_button = named(QPushButton("Export as IDX folder…"), "exportDigitsButton",
                                   "Export your digits as an MNIST folder")
        self.learn_button = named(QPushButton("Learn from my digits"), "learnDigitsButton", "Learn from my digits",
                                  "Fine-tune the model in use on your digits mixed with MNIST")
        self.learn_button.setStyleSheet("QPushButton { font-weight: bold; }")
        self.undo_button = named(QPushButton("Undo"), "undoLearnButton", "Go back to the model before learning")
        self.save_button = named(QPushButton("Save as model…"), "saveTunedButton", "Save the tuned model")
        self.result_label = named(QLabel(), "learnResult", "Accuracies before and after")
        self.result_label.setWordWrap(True)
        self.result_label.setStyleSheet("font-weight: bold;")
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button.clicked.connect(self._choose_export_folder)
        self.learn_button.clicked.connect(self.learn)
        self.undo_button.clicked.connect(self.undo)
        self.save_button.clicked.connect(self._choose_model_file)

        gallery_row = QHBoxLayout()
        gallery_row.addWidget(self.delete_button)
        gallery_row.addWidget(self.export_button)
        gallery_row.addStretch(1)
        learn_row = QHBoxLayout()
        learn_row.addWidget(self.learn_button)
        learn_row.addWidget(self.undo_button)
        learn_row.addWidget(self.save_button)
        learn_row.addStretch(1)
        sketch_row = QHBoxLayout()
        sketch_row.addWidget(self.prediction_label, 1)
        sketch_row.addWidget(self.right_button)
        layout = QVBoxLayout(self)
        intro = QLabel("Draw on the pad, then tell the model whether it read your digit right. Your digits are "
                       f"kept in {self.folder} (IDX files, like MNIST's).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addLayout(sketch_row)
        layout.addLayout(wrong_row)
        layout.addWidget(self.caption)
        layout.addWidget(self.graphics, 1)
        layout.addLayout(gallery_row)
        layout.addLayout(learn_row)
        layout.addWidget(self.result_label)

        try:
            self.digits = PersonalDigits.load(self.folder)
        except (DataError, OSError) as exc:
            self.digits = PersonalDigits()
            self.result_label.setText(f"Your saved digits could not be read ({exc}); new ones will replace them.")
        workspace.sketch_changed.connect(WhenShown(self, self._show_prediction))  # behind its tab: when shown
        workspace.model_changed.connect(lambda *_: self._show_prediction(workspace.sketch))
        workspace.data_changed.connect(self._update_buttons)
        session.phase_changed.connect(self._update_buttons)
        self._refresh()
        self._show_prediction(workspace.sketch)

    # -- the personal set -------------------------------------------------------------------------

    def confirm_sketch(self) -> bool:
        """"That's right": keep the sketch with the model's own answer."""
        sketch, model = self.workspace.sketch, self.workspace.model
        if sketch is None or model is None:
            return False
        return self.add_sketch(int(model.predict(sketch.reshape(1, -1))[0]))

    def add_sketch(self, label: int) -> bool:
        """Keep the pad's sketch with ``label``; False when the pad is blank."""
        if self.workspace.sketch is None:
            self.caption.setText("Draw a digit on the pad first.")
            return False
        self.digits.add(self.workspace.sketch, label)
        self._saved(f"Kept your {label}.")
        return True

    def delete_selected(self) -> None:
        if self.selected is None:
            return
        self.digits.remove(self.selected)
        self.selected = None
        self._saved("Deleted.")

    def select(self, index: int | None) -> None:
        self.selected = index if index is not None and 0 <= index < len(self.digits) else None
        self._refresh()

    def export_to(self, folder: Path) -> Path | None:
        try:
            where = self.digits.export(folder)
        except (OSError, ValueError) as exc:
            self.caption.setText(f"Could not export: {exc}")
            return None
        self.workspace.post_message(f"Exported {len(self.digits)} digits to {where} (nnstudio-train --data-dir)")
        return where

    def _saved(self, what: str) -> None:
        try:
            self.digits.save(self.folder)
            note = ""
        except OSError as exc:
            note = f" (not saved: {exc})"
        self._refresh(what + note)
        self.digits_changed.emit(len(self.digits))

    # -- learning --------------------------------------------------------------------------------

    def learn(self) -> bool:
        """Fine-tune the model in use on the personal set, off the GUI thread."""
        split, model = self.workspace.split, self.workspace.model
        if self.thread is not None or model is None or split is None or not len(self.digits):
            return False
        self._pending_before = (model.copy(), self.workspace.model_description)
        digits = PersonalDigits(self.digits.images.copy(), self.digits.labels.copy())
        job = fine_tune(model.copy(), digits, split.x_train, split.y_train, split.x_test, split.y_test,
                        seed=len(digits))
        worker = Worker(lambda: job, name="learn from my digits")
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(self._on_learnt)
        worker.errored.connect(self._on_failed)  # a method, not a lambda: a lambda would run on the worker's thread
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self.thread = worker.start()
        self.result_label.setText(f"Learning from {len(digits)} digits and replayed MNIST…")
        self._update_buttons()
        return True

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.result_label.setText(f"Learning failed: {message}")

    def undo(self) -> None:
        if self.before is None:
            return
        network, description = self.before
        self.before, self.result = None, None
        self.workspace.set_model(network, description)
        self.result_label.setText("Back to the model before learning.")
        self._update_buttons()

    def save_model_to(self, path: Path) -> bool:
        if self.result is None:
            return False
        try:
            save_model(path, self.result.network, metadata={"name": f"tuned on {len(self.digits)} of my digits",
                                                            "test_accuracy": self.result.mnist_after})
        except (OSError, ValueError) as exc:
            self.result_label.setText(f"Could not save the model: {exc}")
            return False
        self.workspace.post_message(f"Saved the tuned model to {path}")
        return True

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        return join(self.thread, timeout_ms)

    @Slot(object)
    def _on_progress(self, progress: FineTuneProgress) -> None:
        self.result_label.setText(f"Learning… step {progress.step} of {progress.steps}, loss {progress.loss:.3f}")

    @Slot(object)
    def _on_learnt(self, result: FineTuneResult) -> None:
        self.result, self.before = result, self._pending_before
        _, description = self.before
        self.workspace.set_model(result.network, f"{description} + {len(self.digits)} of my digits")
        self.result_label.setText(result.describe())
        self.learnt.emit(result)

    @Slot()
    def _on_finished(self) -> None:
        join(self.thread)
        self.thread = self.worker = None
        self._update_buttons()

    # -- showing -----------------------------------------------------------------------------------

    @Slot(object)
    def _show_prediction(self, sketch) -> None:
        model = self.workspace.model
        if sketch is None or model is None:
            self.prediction_label.setText("Draw a digit on the pad." if model is not None else "No model in use.")
        elif model.sizes[0] != np.asarray(sketch).size or model.sizes[-1] != 10:
            self.prediction_label.setText(f"The model in use takes {model.sizes[0]} inputs, not a 28×28 digit.")
        else:
            p = model.predict_proba(np.asarray(sketch).reshape(1, -1))[0]
            self.prediction_label.setText(f"The model reads {int(p.argmax())} ({p.max():.0%}). Is it right?")
        self._update_buttons()

    def _refresh(self, what: str = "") -> None:
        n = len(self.digits)
        counts = self.digits.counts()
        per_digit = ", ".join(f"{d}: {c}" for d, c in enumerate(counts) if c)
        selected = "" if self.selected is None else f" Selected: #{self.selected + 1}, a {self.digits.labels[self.selected]}."
        self.caption.setText(f"{what} {n} digit{'s' if n != 1 else ''} of yours" + (f" ({per_digit})." if n else ".")
                             + selected)
        if n:
            picture, self._layout = mosaic(self.digits.images, columns=COLUMNS, scale=SCALE,
                                           captions=[str(label) for label in self.digits.labels], background=255, gap=4)
            self.image.setImage(picture, autoLevels=False, levels=(0, 255))
            self.view.setRange(xRange=(0, max(picture.shape[1], 300)), yRange=(0, max(picture.shape[0], 80)),
                               padding=0.01)
        else:
            self.image.clear()
            self._layout = None
        if self.selected is not None and self._layout is not None:
            grid = self._layout
            row, col = divmod(self.selected, grid.columns)
            self.marker.setPos((col * grid.cell_w - 1, row * grid.cell_h - 1))
            self.marker.setSize((grid.tile_w + 2, grid.tile_h + 2))
            self.marker.setVisible(True)
        else:
            self.marker.setVisible(False)
        self._update_buttons()

    def tile_center(self, index: int) -> QPoint:
        """Where digit ``index`` lies in the gallery's viewport, for a click."""
        grid = self._layout
        row, col = divmod(index, grid.columns)
        point = QPointF(col * grid.cell_w + grid.tile_w / 2, row * grid.cell_h + grid.tile_h / 2)
        return self.graphics.mapFromScene(self.view.mapViewToScene(point))

    def _on_clicked(self, event) -> None:
        if self._layout is None:
            return
        point = self.view.mapSceneToView(event.scenePos())
        self.select(self._layout.tile_at(point.y(), point.x(), len(self.digits)))

    @Slot()
    def _update_buttons(self, *_: object) -> None:
        has_sketch = self.workspace.sketch is not None
        learning = self.thread is not None
        self.right_button.setEnabled(has_sketch and self.workspace.model is not None)
        for button in self.wrong_buttons:
            button.setEnabled(has_sketch)
        self.delete_button.setEnabled(self.selected is not None and not learning)
        self.export_button.setEnabled(len(self.digits) > 0)
        self.learn_button.setEnabled(len(self.digits) > 0 and self.workspace.model is not None and
                                     self.workspace.split is not None and not learning and not self.session.busy)
        self.undo_button.setEnabled(self.before is not None and not learning)
        self.save_button.setEnabled(self.result is not None and not learning)

    # -- file dialogs ------------------------------------------------------------------------------

    def _choose_export_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export your digits as an MNIST folder")
        if folder:
            self.export_to(Path(folder))

    def _choose_model_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the tuned model", "my-digits-model.npz",
                                              "nnstudio model (*.npz)")
        if path:
            self.save_model_to(Path(path))
