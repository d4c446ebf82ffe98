"""Saliency of the sketch: which pixels raise (red) or lower (blue) the predicted digit's score,
and the runner-up's, side by side over what the network sees.

It follows every stroke, so the two maps are two small opaque images painted with QPainter (nearest
neighbour, aspect kept) under two titles. A new sketch is drawn at once, model changes once per
turn of the event loop, nothing while hidden (as in the network view)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Slot
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from nnstudio.core.saliency import Saliency, saliency
from nnstudio.gui.panels.inside_style import diverging_lut, diverging_rgb
from nnstudio.gui.steady_label import steady_label
from nnstudio.gui.when_shown import Redraw

TITLE = QColor(128, 128, 128)  # readable on light and dark windows

GAP = 4  # pixels between the two maps
EXPLANATION = ("The gradient of each digit's score with respect to every input pixel, over the drawing "
               "(gray): red pixels raise the score, blue ones lower it.")


def overlay(network_input: np.ndarray, gradient: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """RGB ``(28, 28, 3)`` floats: the gradient's colour over the gray input, as opaque as it is strong."""
    return overlays(network_input, np.asarray(gradient)[None], lut)[0]


def overlays(network_input: np.ndarray, gradients: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """:func:`overlay` for several gradients ``(k, 28, 28)`` at once (each scaled by its own peak):
    ``(k, 28, 28, 3)``."""
    gray = (0.15 + 0.55 * np.asarray(network_input, dtype=np.float32))[..., None]
    peak = np.abs(gradients).max(axis=(1, 2), keepdims=True)
    scaled = np.divide(gradients, peak, out=np.zeros_like(gradients), where=peak > 0)
    alpha = np.clip(np.abs(scaled) * 1.5, 0, 1)[..., None].astype(np.float32)
    return gray * (1 - alpha) + diverging_rgb(scaled, lut) * alpha


class MapsCanvas(QWidget):
    """The two maps side by side, as large as fits with square pixels, a title over each.

    Each map is an opaque 32-bit 28×28 image: Qt scales those without converting or blending
    (a translucent image was converted and blended on every paint, the costliest part of a stroke)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.images: list[QImage] = []  # both maps in one image (the gap between them unused), or one each
        self.titles = ["", ""]
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # paints its own background: nothing behind

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(360, 180)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(180, 100)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(event.rect(), self.palette().brush(self.backgroundRole()))
        if not self.images:
            return
        line = self.fontMetrics().height() + 2
        columns = 28 * 2 + GAP
        scale = max(0.5, min(self.width() / columns, (self.height() - line) / 28))
        left = (self.width() - columns * scale) / 2
        painter.setPen(TITLE)
        for i, title in enumerate(self.titles):
            x = left + i * (28 + GAP) * scale
            image = self.images[min(i, len(self.images) - 1)]
            source = QRectF(0, 0, 28, 28) if len(self.images) > 1 else QRectF(i * (28 + GAP), 0, 28, 28)
            painter.drawImage(QRectF(x, line, 28 * scale, 28 * scale), image, source)  # nearest neighbour
            painter.drawText(QRectF(x - 20, 0, 28 * scale + 40, line), Qt.AlignmentFlag.AlignCenter, title)


def opaque_image(rgb: np.ndarray) -> QImage:
    """RGB floats in [0, 1], ``(h, w, 3)``, as an opaque 32-bit QImage (its own copy of the pixels)."""
    c = np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint32)
    pixels = np.ascontiguousarray(0xFF000000 | (c[..., 0] << 16) | (c[..., 1] << 8) | c[..., 2])
    h, w = pixels.shape
    return QImage(pixels.data, w, h, 4 * w, QImage.Format.Format_RGB32).copy()


class SaliencyView(QWidget):
    def __init__(self, workspace=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("saliencyView")
        self.setAccessibleName("Saliency map")
        self.plot = MapsCanvas()
        self.plot.setObjectName("saliencyMaps")
        self.plot.setAccessibleName("Saliency of the predicted digit and of the runner-up")
        self.caption = steady_label("saliencyCaption", 2, "Draw a digit to see which pixels decide.")
        self.caption.setToolTip(EXPLANATION)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)
        self.lut = diverging_lut()
        self.network = None
        self.input: np.ndarray | None = None
        self._saliency: Saliency | None = None
        self._rgb: np.ndarray | None = None
        self._redraw = Redraw(self, self._refresh)
        self.updates = 0
        if workspace is not None:
            workspace.model_changed.connect(self.set_network)
            workspace.sketch_changed.connect(self.set_input)
            self.network = workspace.model
            self.input = workspace.sketch

    @Slot(object)
    def set_network(self, network, *_: object) -> None:
        self.network = network
        self._redraw.request()

    @Slot(object)
    def set_input(self, network_input: np.ndarray | None) -> None:
        self.input = None if network_input is None else np.asarray(network_input, dtype=np.float32)
        self._redraw.request(now=True)

    def saliency(self) -> Saliency | None:
        """The saliency shown, or None."""
        return self._saliency

    def rgb(self) -> np.ndarray | None:
        """The two overlays as shown, ``(28, 56 + GAP, 3)`` floats in [0, 1]."""
        return None if self._rgb is None else self._rgb.copy()

    def _refresh(self) -> None:
        network, x = self.network, self.input
        if network is None or x is None or x.size != 784 or network.sizes[0] != 784:
            self._saliency = self._rgb = None
            self.plot.images = []
            self.plot.update()
            self.caption.setText("Draw a digit to see which pixels decide." if network is not None
                                 else "No model in use.")
            return
        s = self._saliency = saliency(network, x.reshape(28, 28))
        x = x.reshape(28, 28)
        both = overlays(x, np.stack([s.predicted_map, s.runner_up_map]).astype(np.float32, copy=False), self.lut)
        rgb = np.zeros((28, 28 * 2 + GAP, 3), dtype=np.float32)
        rgb[:, :28], rgb[:, 28 + GAP:] = both
        self._rgb = rgb
        self.plot.images = [opaque_image(rgb)]
        p = s.probabilities
        self.plot.titles = [f"says {s.predicted} · {p[s.predicted]:.0%}",
                            f"runner-up {s.runner_up} · {p[s.runner_up]:.0%}"]
        self.plot.update()
        self.caption.setText(f"Which pixels made it say {s.predicted} rather than {s.runner_up}: "
                             "red raises that digit's score, blue lowers it.")
        self.updates += 1
