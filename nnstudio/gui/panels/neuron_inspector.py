"""Neuron inspector and lab: one neuron's weighted sum, bias and output for the sketch, its
incoming weights and strongest inputs; switch it off, scale its incoming weights or shift its
bias, and read the test accuracy before → after (measured off the GUI thread)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal, Slot
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QPushButton, QVBoxLayout, QWidget)
from threadpoolctl import threadpool_limits

from nnstudio.core.model_file import save_model
from nnstudio.core.network_at_work import NeuronDetail, neuron_detail
from nnstudio.core.neuron_lab import NeuronEdit, accuracy, apply_edits
from nnstudio.core.shared_pass import shared_forward
from nnstudio.core.softmax import softmax
from nnstudio.gui.panels.inside_style import bare_plot, diverging_lut
from nnstudio.gui.steady_label import steady_label
from nnstudio.gui.worker import Worker

PROMPT = "Click a neuron in the diagram or a weight tile to inspect it."


def measure_job(original, edited, x: np.ndarray, y: np.ndarray, before: float | None, generation: int):
    """A generator job for the worker: the test accuracy of both networks (``before`` if known)."""
    with threadpool_limits(limits=1):  # leave the other cores to the GUI and to training
        if before is None:
            before = accuracy(original, x, y)
        after = accuracy(edited, x, y) if edited is not None else before
    return generation, before, after
    yield  # noqa: unreachable: makes this a generator


class NeuronInspector(QWidget):
    network_edited = Signal(object)  # the edited network (a copy to keep), or None when nothing is edited
    accuracy_measured = Signal(float, float)  # test accuracy of the model before the edits, after them

    def __init__(self, workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("neuronInspector")
        self.setAccessibleName("Neuron inspector and lab")
        self.workspace = workspace
        self.title = steady_label("neuronTitle", 2, PROMPT)
        self.figures = steady_label("neuronFigures", 2)
        self.plot = bare_plot()
        self.plot.setMinimumHeight(90)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(diverging_lut())
        self.plot.addItem(self.image)
        self.plot.getViewBox().setRange(QRectF(0, 0, 60, 28), padding=0.02)
        self.image_caption = QLabel("incoming weights · the sketch × the weights")
        self.inputs = steady_label("neuronInputs", 4)

        self.off = QCheckBox("Switch off")
        self.off.setObjectName("neuronOff")
        self.off.setAccessibleName("Switch the neuron off")
        self.scale = QDoubleSpinBox()
        self.scale.setObjectName("neuronScale")
        self.scale.setAccessibleName("Scale the incoming weights")
        self.scale.setRange(-10, 10)
        self.scale.setSingleStep(0.25)
        self.scale.setValue(1.0)
        self.scale.setKeyboardTracking(False)
        self.shift = QDoubleSpinBox()
        self.shift.setObjectName("neuronShift")
        self.shift.setAccessibleName("Shift the bias")
        self.shift.setRange(-20, 20)
        self.shift.setSingleStep(0.5)
        self.shift.setKeyboardTracking(False)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setObjectName("neuronReset")
        self.reset_button.setAccessibleName("Undo every edit")
        self.save_button = QPushButton("Save as model…")
        self.save_button.setObjectName("neuronSave")
        self.save_button.setAccessibleName("Save the edited network as a model")
        self.lab = steady_label("labAccuracy", 3)
        self.prediction = steady_label("labPrediction", 2)
        form = QFormLayout()
        form.addRow(self.off)
        form.addRow("incoming weights ×", self.scale)
        form.addRow("bias +", self.shift)
        buttons = QHBoxLayout()
        buttons.addWidget(self.reset_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.title, self.figures, self.plot, self.image_caption, self.inputs):
            layout.addWidget(widget)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.lab)
        layout.addWidget(self.prediction)
        layout.addStretch(1)

        self.network = workspace.model
        self.input: np.ndarray | None = workspace.sketch
        self.selected: tuple[int, int] | None = None
        self.edits: dict[tuple[int, int], dict] = {}
        self.edited = None
        self.last_accuracy: tuple[float, float] | None = None
        self._detail: NeuronDetail | None = None
        self._before: float | None = None  # the unedited model's test accuracy, once measured
        self._generation = 0
        self._dirty = False
        self._running = False
        self._again = False
        self.off.toggled.connect(self._on_controls)
        self.scale.valueChanged.connect(self._on_controls)
        self.shift.valueChanged.connect(self._on_controls)
        self.reset_button.clicked.connect(self.reset)
        self.save_button.clicked.connect(self._ask_save)
        workspace.model_changed.connect(self.set_network)
        workspace.sketch_changed.connect(self.set_input)
        workspace.data_changed.connect(self._on_data_changed)
        self._show_controls()

    # -- public API -----------------------------------------------------------------------------

    @Slot(object)
    def set_network(self, network, *_: object) -> None:
        """A new model in use: its edits are forgotten."""
        self.network = network
        self._generation += 1  # a measurement under way is for another model
        was_edited = self.edited is not None
        self.edits, self.edited, self._before, self.last_accuracy = {}, None, None, None
        if network is None or self.selected is None or not (
                1 <= self.selected[0] < len(network.sizes) and self.selected[1] < network.sizes[self.selected[0]]):
            self.selected = None
        if was_edited:
            self.network_edited.emit(None)
        if not self.isVisible():  # while training, the model changes every epoch: show it when shown
            self._dirty = True
            return
        self._show_controls()
        self._show_neuron()
        self._show_lab_idle()

    @Slot(object)
    def set_input(self, network_input) -> None:
        self.input = None if network_input is None else np.asarray(network_input, dtype=np.float32)
        if not self.isVisible():
            self._dirty = True
            return
        self._show_neuron()
        self._show_prediction()

    @Slot(int, int)
    def select_neuron(self, layer: int, unit: int) -> None:
        if self.network is None or not (1 <= layer < len(self.network.sizes) and 0 <= unit < self.network.sizes[layer]):
            return
        self.selected = (layer, unit)
        self._show_controls()
        self._show_neuron()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._dirty:
            self._dirty = False
            self._show_controls()
            self._show_neuron()
            self._show_prediction()
            if self.last_accuracy is None:
                self._show_lab_idle()

    def detail(self) -> NeuronDetail | None:
        """What is shown of the selected neuron (in the edited network), or None."""
        return self._detail

    def edit_list(self) -> list[NeuronEdit]:
        edits = []
        for (layer, unit), e in sorted(self.edits.items()):
            if e["scale"] != 1:
                edits.append(NeuronEdit("scale", layer, unit, e["scale"]))
            if e["shift"]:
                edits.append(NeuronEdit("shift", layer, unit, e["shift"]))
            if e["off"]:
                edits.append(NeuronEdit("off", layer, unit))
        return edits

    @Slot()
    def reset(self) -> None:
        self.edits = {}
        self._show_controls()
        self._apply()

    def save_to(self, path: str | Path) -> str:
        """Save the edited network as a model file; returns "" or why it could not be saved."""
        if self.edited is None:
            return "Nothing edited to save."
        meta = {"name": f"{Path(path).stem} (edited)", "edits": [e.describe() for e in self.edit_list()],
                "edited_from": getattr(self.workspace, "model_description", "")}
        if self.last_accuracy is not None:
            meta["test_accuracy"] = self.last_accuracy[1]
        try:
            save_model(path, self.edited, metadata=meta)
        except OSError as exc:
            message = f"Could not save {path}: {exc.strerror or exc}"
            self.lab.setText(message)
            return message
        self.lab.setText(f"Saved as {path}.")
        if hasattr(self.workspace, "post_message"):
            self.workspace.post_message(f"Edited network saved as {path}")
        return ""

    # -- helpers ----------------------------------------------------------------------------------

    def _ask_save(self) -> None:
        root = getattr(self.workspace, "runs_root", Path.home())
        path, _ = QFileDialog.getSaveFileName(self, "Save the edited network", str(Path(root) / "edited.npz"),
                                              "nnstudio model (*.npz)")
        if path:
            self.save_to(path if path.endswith(".npz") else path + ".npz")

    def _show_controls(self) -> None:
        e = self.edits.get(self.selected, {"off": False, "scale": 1.0, "shift": 0.0})
        enabled = self.selected is not None
        for widget, value in ((self.off, e["off"]), (self.scale, e["scale"]), (self.shift, e["shift"])):
            widget.blockSignals(True)
            widget.setChecked(value) if widget is self.off else widget.setValue(value)
            widget.setEnabled(enabled)
            widget.blockSignals(False)
        self.reset_button.setEnabled(bool(self.edits))
        self.save_button.setEnabled(bool(self.edits))

    @Slot()
    def _on_controls(self, *_: object) -> None:
        if self.selected is None or self.network is None:
            return
        e = {"off": self.off.isChecked(), "scale": float(self.scale.value()), "shift": float(self.shift.value())}
        if e == {"off": False, "scale": 1.0, "shift": 0.0}:
            self.edits.pop(self.selected, None)
        else:
            self.edits[self.selected] = e
        self._apply()

    def _apply(self) -> None:
        edits = self.edit_list()
        self.edited = apply_edits(self.network, edits) if edits and self.network is not None else None
        self.reset_button.setEnabled(bool(self.edits))
        self.save_button.setEnabled(bool(self.edits))
        self.network_edited.emit(None if self.edited is None else self.edited.copy())
        self._show_neuron()
        self._show_prediction()
        self._measure()

    def _show_neuron(self) -> None:
        network = self.edited if self.edited is not None else self.network
        if self.selected is None or network is None:
            self._detail = None
            self.title.setText(PROMPT if network is not None else "No model in use.")
            self.figures.setText("")
            self.inputs.setText("")
            self.image.clear()
            self.plot.setVisible(False)
            self.image_caption.setVisible(False)
            return
        layer, unit = self.selected
        switched_off = bool(self.edits.get(self.selected, {}).get("off"))
        last = len(network.sizes) - 1
        kind = "output (digit)" if layer == last else f"hidden layer {layer}"
        self.title.setText(f"<b>{kind}, unit {unit}</b>" + (" · switched off" if switched_off else ""))
        x = self.input
        if x is None or x.size != network.sizes[0]:
            self._detail = None
            self.figures.setText("Draw a digit to see this neuron at work.")
            x = np.zeros(network.sizes[0], np.float32)
            d = neuron_detail(network, x, layer, unit)
        else:
            d = self._detail = neuron_detail(network, x, layer, unit)
            activation = "linear" if layer == last else network.activation
            self.figures.setText(f"weighted sum {d.weighted_sum:+.3f} + bias {d.bias:+.3f} → {activation} → "
                                 f"output <b>{d.output:.3f}</b>")
        if switched_off:  # its weights are zero now: show what it did before
            d = neuron_detail(self.network, x, layer, unit)
        if layer == 1 and network.sizes[0] == 784:
            w = d.incoming.reshape(28, 28)
            c = d.contributions.reshape(28, 28)
            pair = np.full((28, 60), np.nan, dtype=np.float32)
            pair[:, :28] = w / (np.abs(w).max() or 1)
            pair[:, 32:] = c / (np.abs(c).max() or 1)
            self.image.setImage(pair, levels=(-1, 1))  # always 28 × 60: the view's range is set once
            self.plot.setVisible(True)
            self.image_caption.setVisible(True)
            names = [f"pixel ({i // 28}, {i % 28}) {d.contributions[i]:+.2f}" for i in d.strongest[:5]]
        else:
            self.image.clear()
            self.plot.setVisible(False)
            self.image_caption.setVisible(False)
            source = "input" if layer == 1 else f"layer {layer - 1} unit"
            names = [f"{source} {i} {d.contributions[i]:+.2f}" for i in d.strongest[:5]]
        before = " before it was switched off" if switched_off else ""
        self.inputs.setText(f"Strongest inputs{before} (weight × activation): " + ", ".join(names)
                            if self._detail else "")

    def _show_prediction(self) -> None:
        x = self.input
        if self.network is None or x is None or x.size != self.network.sizes[0]:
            self.prediction.setText("")
            return
        p = softmax(shared_forward(self.network, x).logits[0])
        text = f"Sketch: {p.argmax()} ({p.max():.0%})"
        if self.edited is not None:
            q = softmax(shared_forward(self.edited, x).logits[0])
            text += f" → edited: {q.argmax()} ({q.max():.0%})"
        self.prediction.setText(text)

    def _show_lab_idle(self) -> None:
        if getattr(self.workspace, "split", None) is None:
            self.lab.setText("Load MNIST to measure the test accuracy of an edit.")
        else:
            self.lab.setText("Edit a neuron to see the test accuracy before → after.")

    @Slot()
    def _on_data_changed(self, *_: object) -> None:
        self._before = None
        self._generation += 1
        if self.edited is not None:
            self._measure()
        else:
            self._show_lab_idle()

    def _measure(self) -> None:
        self._generation += 1
        split = getattr(self.workspace, "split", None)
        if split is None or self.network is None:
            self._show_lab_idle()
            return
        if self.edited is None and self._before is not None:
            self._on_measured((self._generation, self._before, self._before))
            return
        if self._running:
            self._again = True
            return
        self.lab.setText("Measuring the test accuracy…")
        self._running = True
        job_args = (self.network, self.edited, split.x_test, split.y_test, self._before, self._generation)
        worker = Worker(lambda: measure_job(*job_args), "neuron lab accuracy")
        worker.returned.connect(self._on_measured)
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._on_finished)
        worker.start()

    @Slot(object)
    def _on_measured(self, result) -> None:
        generation, before, after = result
        if generation != self._generation:
            return  # a newer edit, model or data set is being measured
        self._before = before
        self.last_accuracy = (before, after)
        change = (after - before) * 100
        self.lab.setText(f"Test accuracy {before:.2%} → <b>{after:.2%}</b> ({change:+.2f} points, "
                         f"{len(self.workspace.split.x_test):,} images)")
        self.accuracy_measured.emit(before, after)

    @Slot(str)
    def _on_errored(self, message: str) -> None:
        self.lab.setText(f"Could not measure the test accuracy: {message}")

    @Slot()
    def _on_finished(self) -> None:
        self._running = False
        if self._again:
            self._again = False
            self._measure()
