"""The network at work on the sketch: input → hidden layers → outputs, neurons shaded by
activation (wide layers show their most active units and "+N more"), the connections that
contribute most drawn red (excite) or blue (inhibit). Click a neuron to inspect it.

It follows every stroke, so it is one plain widget painted with QPainter: an image, a few
hundred lines in six pens, forty-odd circles and some labels. (A plot scene with an item per
label cost several times the whole computation to update and repaint.) A new sketch is drawn
at once (the pad sends one at most every 30 ms while the pen moves), so the diagram lands in the
same window repaint as the pad's bars; model changes, which come in bursts, are coalesced into
one redraw per turn of the event loop; a hidden view computes nothing until shown.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Signal, Slot
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QVBoxLayout, QWidget

from nnstudio.core.network_at_work import NetworkActivity, network_activity
from nnstudio.gui.panels.diagram_canvas import HEIGHT, LEVELS, OTHER_LABEL, SPACING, TITLE, TOP_LABEL, DiagramCanvas
from nnstudio.gui.steady_label import steady_label
from nnstudio.gui.when_shown import Redraw

HINT = "Draw a digit on the sketch pad to see the network at work."
CAPTION = ("Neurons: brighter = more active; the answer in orange. Lines: the strongest contributions "
           "(weight × activation), red excites, blue inhibits. Click a neuron.")


class NetworkView(QWidget):
    neuron_selected = Signal(int, int)  # layer (1: first hidden .. last: output), unit

    def __init__(self, workspace=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("networkView")
        self.setAccessibleName("The network at work")
        self.plot = DiagramCanvas()
        self.plot.setObjectName("networkDiagram")
        self.plot.setAccessibleName("Diagram of the network at work; click a neuron to inspect it")
        self.plot.clicked.connect(self._on_clicked)
        self.caption = steady_label("networkViewCaption", 2, HINT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)
        self.network = None
        self.input: np.ndarray | None = None
        self.selected: tuple[int, int] | None = None
        self._activity: NetworkActivity | None = None
        self._positions: list[dict[int, tuple[float, float]]] = []
        self._spots: list[tuple[int, int]] = []  # (layer, unit) of each pickable neuron
        self._titles: list[tuple[QPointF, tuple[float, float], str, QColor]] = []
        self._more_at: list[QPointF] = []
        self._more: list[str] = []
        self._output_at: list[QPointF] = []
        self._shifts: tuple[str, list[int]] = ("", [])  # (font key, each percentage's shift right of its digit)
        self._redraw = Redraw(self, self._refresh)
        self.updates = 0  # how many times the diagram was redrawn (for tests and benchmarks)
        if workspace is not None:
            workspace.model_changed.connect(self.set_network)
            workspace.sketch_changed.connect(self.set_input)
            self.input = workspace.sketch
            self.set_network(workspace.model)

    # -- public API -----------------------------------------------------------------------------

    @Slot(object)
    def set_network(self, network, *_: object) -> None:
        """Draw ``network`` at work from now on (None: nothing to draw)."""
        if self.network is None or network is None or tuple(network.sizes) != tuple(self.network.sizes):
            self.selected = None
            self._make_labels(network)
        self.network = network
        self._redraw.request()

    @Slot(object)
    def set_input(self, network_input: np.ndarray | None) -> None:
        """The input to draw (``(28, 28)`` floats in [0, 1]), or None for a blank pad."""
        self.input = None if network_input is None else np.asarray(network_input, dtype=np.float32)
        self._redraw.request(now=True)

    def select(self, layer: int, unit: int) -> None:
        """Ring neuron ``unit`` of ``layer`` (no signal); it stays ringed while it is drawn."""
        self.selected = (layer, unit)
        self._draw_ring()
        self.plot.update()

    def activity(self) -> NetworkActivity | None:
        """What the diagram shows now (None when it shows nothing)."""
        return self._activity

    def node_center(self, layer: int, unit: int) -> QPoint | None:
        """Where neuron ``unit`` of ``layer`` is drawn on ``self.plot``, in its pixels; None if not drawn."""
        if layer >= len(self._positions) or unit not in self._positions[layer]:
            return None
        return self.plot.to_pixels(QPointF(*self._positions[layer][unit])).toPoint()

    def more_texts(self) -> list[str]:
        return list(self._more)

    # -- drawing ----------------------------------------------------------------------------------

    def _refresh(self) -> None:
        network, x = self.network, self.input
        if network is None or x is None or x.size != network.sizes[0]:
            self._activity = None
            self._clear(HINT if network is not None else "No model in use: train one or load a model file.")
            return
        self._activity = activity = network_activity(network, x)
        self._draw(activity, x)
        self.updates += 1

    def _clear(self, message: str) -> None:
        self.caption.setText(message)
        canvas = self.plot
        canvas.clear_drawing()
        self._more = ["" for _ in self._more]
        canvas.texts = list(self._titles)
        self._positions = []
        self._spots = []
        canvas.update()

    def _xy(self, layer: int, shown: np.ndarray, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """View coordinates of ``units`` (each among ``shown``) of ``layer``: the input's pixels on the
        image, any other layer's shown units spread evenly down its column in index order."""
        if layer == 0 and self.network.sizes[0] == 784:
            side = HEIGHT / 28
            return (units % 28 + 0.5) * side, (units // 28 + 0.5) * side
        k = len(shown)
        x = HEIGHT + SPACING * layer - (0 if layer else SPACING / 2)
        rank = np.searchsorted(shown, units)  # shown is in index order
        return np.full(len(units), x), (rank + 0.5) * HEIGHT / k

    def _draw(self, activity: NetworkActivity, x: np.ndarray) -> None:
        canvas = self.plot
        if self.network.sizes[0] == 784:
            # Opaque 32-bit gray: Qt scales it as it is (a grayscale image was converted on every paint).
            gray = np.clip(x.reshape(28, 28) * 255, 0, 255).astype(np.uint8).astype(np.uint32)
            pixels = np.ascontiguousarray(0xFF000000 | gray * 0x010101)
            canvas.image = QImage(pixels.data, 28, 28, 4 * 28, QImage.Format.Format_RGB32).copy()
        else:
            canvas.image = None
        # The input's 784 pixels need no table: only the other layers' shown units can be clicked.
        layers = activity.layers
        columns = [self._xy(layer.index, layer.shown, layer.shown) for layer in layers]
        self._positions = [{} if layer.index == 0 else dict(zip(layer.shown.tolist(), zip(xs.tolist(), ys.tolist())))
                           for layer, (xs, ys) in zip(layers, columns)]
        # Connections, in six buckets: sign × strength, their ends computed for all at once.
        strongest = max((np.abs(c.contributions).max() for c in activity.connections if len(c.contributions)),
                        default=0.0)
        ends, keys = [], []
        for c in activity.connections:
            if not len(c.contributions):
                continue
            x0, y0 = self._xy(c.layer, layers[c.layer].shown, c.sources)
            x1, y1 = self._xy(c.layer + 1, layers[c.layer + 1].shown, c.targets)
            v = c.contributions
            strength = (np.minimum((np.abs(v) / strongest * 3).astype(int), 2) if strongest > 0
                        else np.zeros(len(v), dtype=int))
            ends.append(np.stack([x0, y0, x1, y1], axis=1))
            keys.append(np.where(v > 0, 3, -3) + np.where(v > 0, strength, -strength))  # ±(3 + strength)
        if ends:
            ends_all, keys_all = np.concatenate(ends), np.concatenate(keys)
            canvas.set_lines({(1 if k > 0 else -1, abs(k) - 3): ends_all[keys_all == k] for k in np.unique(keys_all).tolist()})
        else:
            canvas.set_lines({})
        # Neurons, shaded by activation relative to their layer's strongest, from a small palette.
        centres, levels, spots = [], [], []
        for layer, (xs, ys) in zip(layers[1:], columns[1:]):
            peak = float(np.abs(layer.values).max()) or 1.0
            levels.append(np.rint(np.clip(layer.values[layer.shown] / peak, -1, 1) * LEVELS).astype(int))
            centres.append(np.stack([xs, ys], axis=1))
            spots += [(layer.index, unit) for unit in layer.shown.tolist()]
        canvas.set_nodes(np.concatenate(centres) if centres else np.zeros((0, 2)),
                         np.concatenate(levels) if levels else np.zeros(0, dtype=int))
        self._spots = spots
        # Labels: the titles stay; "+N more" under wide layers; each output's probability.
        self._more = [f"+{layer.more} more" if layer.more and i > 0 else "" for i, layer in enumerate(activity.layers)]
        p, top = activity.probabilities, activity.predicted
        texts = list(self._titles)
        texts += [(at, (0.5, 0.0), text, TITLE) for at, text in zip(self._more_at, self._more)]
        # "7  93%" as two texts, the digit and its percentage: each of them is laid out once and cached
        # (the pair takes a thousand forms, which no cache would keep).
        font = self.plot.font().key()
        if self._shifts[0] != font:
            metrics = self.plot.fontMetrics()
            self._shifts = (font, [metrics.horizontalAdvance(f"{d}  ") for d in range(len(self._output_at))])
        for d, (at, shift) in enumerate(zip(self._output_at, self._shifts[1])):
            colour = TOP_LABEL if d == top else OTHER_LABEL
            texts += [(at, (0.0, 0.5), str(d), colour), (at, (0.0, 0.5), f"{p[d]:.0%}", colour, shift)]
        canvas.texts = texts
        # The caption stays put while the pen moves (the answer is the orange output label): a new
        # text is laid out and painted again, and on every stroke that cost a good part of the diagram.
        self.caption.setText(CAPTION)
        self._draw_ring()
        canvas.update()

    def _draw_ring(self) -> None:
        ring = None
        if self.selected is not None:
            layer, unit = self.selected
            if layer < len(self._positions) and unit in self._positions[layer]:
                ring = QPointF(*self._positions[layer][unit])
        self.plot.ring = ring

    def _make_labels(self, network) -> None:
        self._titles, self._more_at, self._more, self._output_at = [], [], [], []
        if network is None:
            self.plot.texts = []
            self.plot.update()
            return
        sizes = network.sizes
        last = len(sizes) - 1
        for i, size in enumerate(sizes):
            x = HEIGHT / 2 if i == 0 else HEIGHT + SPACING * i - (0 if i else SPACING / 2)
            name = "input 28×28" if i == 0 and size == 784 else (
                "input" if i == 0 else "output" if i == last else f"hidden {i}")
            self._titles.append((QPointF(x, -0.5), (0.5, 1.0), f"{name} · {size}", TITLE))
            self._more_at.append(QPointF(x, HEIGHT + 0.4))
            self._more.append("")
        self._output_at = [QPointF(HEIGHT + SPACING * last + 0.6, (d + 0.5) * HEIGHT / sizes[-1])
                           for d in range(sizes[-1])]
        self._shifts = ("", [])
        self.plot.range = QRectF(-0.2, -0.2, HEIGHT + SPACING * last + 1.0, HEIGHT + 0.4)
        self.plot.texts = list(self._titles)
        self.plot.update()

    @Slot(QPointF)
    def _on_clicked(self, pixel: QPointF) -> None:
        index = self.plot.nearest(pixel)
        if index is None or self._activity is None:
            return
        layer, unit = self._spots[index]
        self.select(layer, unit)
        self.neuron_selected.emit(layer, unit)
