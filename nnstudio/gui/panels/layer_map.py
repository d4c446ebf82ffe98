"""The layer map: any layer's activations for 2,000 images in two dimensions, by PCA (at once) or by
t-SNE (on request, with progress, cancellable), coloured by true label; hover shows the digit, a
click puts it on the sketch pad."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from nnstudio.core.projection import TsneProgress, layer_activations, pca, tsne
from nnstudio.core.robustness import fixed_subset
from nnstudio.gui.panels.latest_job import BACKGROUND_NICE, LatestJob, collapsed
from nnstudio.gui.colors import BACKGROUND
from nnstudio.gui.panels.scatter_canvas import ScatterCanvas
from nnstudio.gui.steady_label import SteadyLabel

# Ten distinguishable colours (Tableau 10), one per digit.
DIGIT_COLORS = ("#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
                "#9C755F", "#7F7F7F")


def _pca_job(network, images, layer):
    activations = layer_activations(network, images, layer)
    yield None
    return "PCA", pca(activations).astype(np.float32)


def _tsne_job(network, images, layer):
    activations = layer_activations(network, images, layer)
    result = yield from tsne(activations)
    return "t-SNE", result.astype(np.float32)


class LayerMapView(QWidget):
    point_clicked = Signal(int)  # index in the evaluated set
    mapped = Signal(str)  # "PCA" or "t-SNE": a map is shown in full

    def __init__(self, workspace=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("layerMap")
        self.setAccessibleName("Layer map")
        self.workspace = workspace
        # A live PCA map at most a third of the time, below the training thread's priority.
        self.job = LatestJob("layer map", self, duty=1 / 3, nice=BACKGROUND_NICE)
        self.job.yielded.connect(self._on_progress)
        self.job.returned.connect(self._on_mapped)
        self.job.errored.connect(lambda message: self.status.setText(f"The map failed: {message}"))
        self.job.busy_changed.connect(self._on_busy)
        self._source = None  # network, images, labels, predictions of the evaluated set
        self._subset = np.empty(0, np.intp)
        self._points: np.ndarray | None = None
        self.method = ""  # of the map shown
        self.wanted = "PCA"  # the method asked for last (t-SNE by its button, PCA by default)
        self._note = ""  # which model the source is ("epoch 5"), during a run
        self._waiting: bool | None = None  # a source came while the view was collapsed: mapped (live?) when opened

        self.layer_choice = QComboBox()
        self.layer_choice.setObjectName("layerChoice")
        self.layer_choice.setAccessibleName("Layer to map")
        self.layer_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.layer_choice.setMinimumContentsLength(8)
        self.layer_choice.setMinimumWidth(80)
        self.tsne_button = QPushButton("t-SNE")
        self.tsne_button.setObjectName("tsneButton")
        self.tsne_button.setAccessibleName("Map with t-SNE")
        self.tsne_button.setToolTip("A slower map that keeps neighbours together (about 10 s)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("layerMapCancel")
        self.cancel_button.setAccessibleName("Cancel the map")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setObjectName("layerMapProgress")
        self.progress.setRange(0, 100)
        # A new text does not re-lay out the window (a QLabel's did, repainting the whole tab)
        self.status = SteadyLabel("layerMapStatus", 2, "Points coloured by true digit")
        # Painted with QPainter, once per new map: pyqtgraph's ten scatter items cost ~30 ms a map.
        self.canvas = ScatterCanvas(DIGIT_COLORS, BACKGROUND)
        self.canvas.setObjectName("layerMapPoints")
        self.canvas.setAccessibleName("Layer map points")
        self.canvas.hovered.connect(self._on_hovered)
        self.canvas.clicked.connect(self._on_clicked)
        self.key = QLabel("  ".join(f"<span style='color:{c}'>●</span>{d}" for d, c in enumerate(DIGIT_COLORS)))
        self.key.setObjectName("layerMapKey")
        self.key.setWordWrap(True)
        self.preview = QLabel()  # the digit under the mouse
        self.preview.setObjectName("layerMapPreview")
        self.preview.setFixedSize(70, 70)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)

        bar = QHBoxLayout()
        bar.addWidget(self.layer_choice, 1)
        bar.addWidget(self.tsne_button)
        bar.addWidget(self.cancel_button)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key, 1)
        key_row.addWidget(self.progress)
        self.progress.setMaximumWidth(80)
        self.progress.setMinimumWidth(50)
        for button in (self.tsne_button, self.cancel_button):
            button.setMinimumWidth(50)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addLayout(key_row)
        row = QHBoxLayout()
        row.addWidget(self.canvas, 1)
        row.addWidget(self.preview, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(row, 1)
        layout.addWidget(self.status)
        self.layer_choice.currentIndexChanged.connect(lambda *_: self._remap())
        self.tsne_button.clicked.connect(self.compute_tsne)
        self.cancel_button.clicked.connect(self.cancel)

    # -- the source ------------------------------------------------------------------------------

    def set_source(self, network, images: np.ndarray, labels: np.ndarray, predictions: np.ndarray, *,
                   live: bool = False, note: str = "") -> None:
        """Map ``network``'s layers over the fixed 2,000-image subset of ``images`` by the method wanted.

        ``live`` (a running run's model, after each epoch): PCA, and only once the map under way has
        been drawn (a newer model replaces one waiting); a t-SNE map asked for stays as it is until the
        run pauses or ends, when it is drawn again (seconds of work, not one per epoch). ``note`` says
        which model it is ("epoch 5")."""
        self._source = (network, images, labels, predictions)
        self._subset = fixed_subset(len(labels))
        self._note = note
        names = ["input (784 pixels)"] + [f"hidden layer {i} ({n})" for i, n in enumerate(network.sizes[1:-1], 1)]
        names.append(f"logits ({network.sizes[-1]})")
        keep = min(self.layer_choice.currentIndex(), len(names) - 1)
        if [self.layer_choice.itemText(i) for i in range(self.layer_choice.count())] != names:
            self.layer_choice.blockSignals(True)
            self.layer_choice.clear()
            self.layer_choice.addItems(names)
            self.layer_choice.setCurrentIndex(keep if keep >= 0 else len(names) - 2)
            self.layer_choice.blockSignals(False)
        if collapsed(self):  # a collapsed section computes nothing until it is opened again
            self.job.cancel()
            self._waiting = live if self._waiting is None else self._waiting and live
            return
        self._waiting = None
        self._map_source(live)

    def _map_source(self, live: bool) -> None:
        if self.wanted == "t-SNE" and live:
            if self.method == "t-SNE" and not self.job.busy:
                self.status.setText("t-SNE map of an earlier model: mapped again when the run pauses or ends.")
            return
        if self.wanted == "t-SNE":
            self.compute_tsne()
        else:
            self.compute_pca(coalesce=live)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._waiting is not None and not collapsed(self):  # opened again: map what came meanwhile
            live, self._waiting = self._waiting, None
            self._map_source(live)

    def _remap(self) -> None:
        """The layer changed: map it by the method wanted."""
        if self.wanted == "t-SNE":
            self.compute_tsne()
        else:
            self.compute_pca()

    @property
    def layer(self) -> int:
        return max(self.layer_choice.currentIndex(), 0)

    def compute_pca(self, *, coalesce: bool = False) -> None:
        self.wanted = "PCA"
        if self._source is None:
            return
        network, images = self._source[0], self._source[1][self._subset]
        layer = self.layer
        if not coalesce:
            self.status.setText("Mapping by PCA…")
        self.job.request(lambda: _pca_job(network, images, layer), coalesce=coalesce)

    def compute_tsne(self) -> None:
        self.wanted = "t-SNE"
        if self._source is None:
            return
        network, images = self._source[0], self._source[1][self._subset]
        layer = self.layer
        self.progress.setValue(0)
        self.status.setText(f"t-SNE of {len(self._subset):,} points: finding neighbours…")
        self.job.request(lambda: _tsne_job(network, images, layer))

    def cancel(self) -> None:
        """Cancel the map under way (the Cancel button): the next model is mapped by PCA again."""
        self.job.cancel()
        self.wanted = "PCA"
        if self.method != "t-SNE":
            self.status.setText("Cancelled")

    def points(self) -> np.ndarray | None:
        """The 2-D map shown (one row per mapped image), or None."""
        return None if self._points is None else self._points.copy()

    def mapped_labels(self) -> np.ndarray:
        return self._source[2][self._subset] if self._source is not None else np.empty(0, np.intp)

    # -- results ------------------------------------------------------------------------------

    def _on_busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)

    def _on_progress(self, step) -> None:
        if isinstance(step, TsneProgress):
            self.progress.setValue(int(step.fraction * 100))
            if step.embedding is not None:
                self._show(step.embedding)
                self.status.setText(f"t-SNE: iteration {step.iteration} of {step.iterations}")

    def _on_mapped(self, result) -> None:
        if result is None:
            return
        method, points = result
        if method == "PCA" and self.method == "PCA" and self._points is not None and len(self._points) == len(points):
            # A component's sign is arbitrary: keep the one the last map had, so a map redrawn after
            # the next epoch does not flip over.
            flip = np.sum(points * self._points, axis=0) < 0
            points = np.where(flip, -points, points)
        self.method = method
        self._show(points)
        self.progress.setValue(100)
        of = f" ({self._note})" if self._note else ""
        self.status.setText(f"{self.method} map of {len(points):,} images{of}, coloured by true digit. "
                            "Hover to see a digit, click to put it on the pad.")
        self.mapped.emit(self.method)

    def _show(self, points: np.ndarray) -> None:
        self._points = np.asarray(points)
        self.canvas.set_points(self._points, self.mapped_labels())

    def point_position(self, position: int):
        """Where the ``position``-th mapped point lies in :attr:`canvas`, for a click."""
        return self.canvas.point_position(position)

    def describe(self, position: int) -> str:
        index = int(self._subset[position])
        _, _, labels, predictions = self._source
        return f"Image {index}: true {labels[index]}, read as {predictions[index]}"

    def _on_hovered(self, position: int) -> None:
        if self._source is None or position >= len(self._subset):
            return
        index = int(self._subset[position])
        pixels = np.ascontiguousarray(255 - self._source[1][index].reshape(28, 28))
        image = QImage(pixels.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
        self.preview.setPixmap(QPixmap.fromImage(image).scaled(70, 70, Qt.AspectRatioMode.KeepAspectRatio))
        self.status.setText(self.describe(position))

    def _on_clicked(self, position: int) -> None:
        if self._source is None or position >= len(self._subset):
            return
        index = int(self._subset[position])
        self.status.setText(self.describe(position))
        if self.workspace is not None:
            _, images, labels, _ = self._source
            self.workspace.request_pad_image(images[index].reshape(28, 28), int(labels[index]))
        self.point_clicked.emit(index)
