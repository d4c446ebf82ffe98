"""The network at work on the sketch: input → hidden layers → outputs, neurons shaded by
activation (wide layers show their most active units and "+N more"), the connections that
contribute most drawn red (excite) or blue (inhibit). Click a neuron to inspect it."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPoint, QPointF, QRectF, Signal, Slot
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsObject, QVBoxLayout, QWidget

from nnstudio.core.network_at_work import NetworkActivity, network_activity
from nnstudio.gui.panels.inside_style import NEGATIVE, POSITIVE, bare_plot, steady_label, text_item

HEIGHT = 16.0  # the diagram's height in view units; the input image is HEIGHT × HEIGHT
SPACING = 9.0  # between layer columns
WIDTHS = (1.0, 2.0, 3.0)  # connection widths, weakest third to strongest
TINTS = (0.45, 0.75, 1.0)  # and how much of their colour they show over PALE
PALE = (225, 225, 225)
IDLE = np.array((150, 150, 150), dtype=np.float32)
LEVELS = 8  # shades per sign


def _shades() -> dict[int, object]:
    """Brushes from -LEVELS (most inhibited, blue) through 0 (idle gray) to LEVELS (most active, red)."""
    brushes = {}
    for level in range(-LEVELS, LEVELS + 1):
        a = abs(level) / LEVELS
        colour = np.array(POSITIVE if level >= 0 else NEGATIVE, dtype=np.float32)
        brushes[level] = pg.mkBrush(*(IDLE * (1 - a) + colour * a).astype(int))
    return brushes


SHADES = _shades()
TOP_LABEL = (255, 200, 0)
OTHER_LABEL = (160, 160, 160)


def _set_text(item: pg.TextItem, text: str, colour=None) -> None:
    """Change a text item only when its text or colour changes (each change re-renders it)."""
    if getattr(item, "shown", None) != (text, colour):
        item.shown = (text, colour)
        item.setText(text, colour) if colour is not None else item.setText(text)
HINT = "Draw a digit on the sketch pad to see the network at work."


class ConnectionLines(QGraphicsObject):
    """Every connection line in one item, drawn with plain ``drawLines`` per pen (sign × strength):
    far cheaper than one plot curve per pen, and never antialiased (wide antialiased lines are slow)."""

    def __init__(self) -> None:
        super().__init__()
        self.pens = {}
        for sign, colour in ((1, POSITIVE), (-1, NEGATIVE)):
            for strength, (width, tint) in enumerate(zip(WIDTHS, TINTS)):
                # Opaque pens (a weak line is a paler one): blending translucent lines is slow.
                rgb = (np.array(colour) * tint + np.array(PALE) * (1 - tint)).astype(int)
                self.pens[sign, strength] = pg.mkPen(*rgb, width=width)
        self.lines: dict[tuple[int, int], list[QLineF]] = {}
        self.bounds = QRectF()

    def set_lines(self, lines: dict[tuple[int, int], list[QLineF]]) -> None:
        ends = [p for group in lines.values() for line in group for p in (line.p1(), line.p2())]
        bounds = QRectF()
        if ends:
            xs, ys = [p.x() for p in ends], [p.y() for p in ends]
            bounds = QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)).adjusted(-1, -1, 1, 1)
        if bounds != self.bounds:
            self.prepareGeometryChange()
            self.bounds = bounds
        self.lines = lines
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        return self.bounds

    def paint(self, painter, *_: object) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for key, group in sorted(self.lines.items(), key=lambda kv: kv[0][1]):  # strongest on top
            painter.setPen(self.pens[key])
            painter.drawLines(group)

    def count(self) -> int:
        return sum(len(group) for group in self.lines.values())


class NetworkView(QWidget):
    neuron_selected = Signal(int, int)  # layer (1: first hidden .. last: output), unit

    def __init__(self, workspace=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("networkView")
        self.setAccessibleName("The network at work")
        self.plot = bare_plot(invert_y=True)
        self.plot.getViewBox().setAspectLocked(False)
        self.input_image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.input_image)
        self.edges = ConnectionLines()
        self.plot.addItem(self.edges)
        self.nodes = pg.ScatterPlotItem(size=13, pxMode=True, pen=pg.mkPen(60, 60, 60), hoverable=True)
        self.nodes.sigClicked.connect(self._on_node_clicked)
        self.plot.addItem(self.nodes)
        self.ring = pg.ScatterPlotItem(size=21, pxMode=True, pen=pg.mkPen(255, 200, 0, width=2.5), brush=None)
        self.plot.addItem(self.ring)
        self.labels: list[pg.TextItem] = []  # per layer: a title above, "+N more" below
        self.more: list[pg.TextItem] = []
        self.output_labels: list[pg.TextItem] = []
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
        self._spots: list[tuple[int, int]] = []
        self._dirty = False
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
        self._refresh()

    @Slot(object)
    def set_input(self, network_input: np.ndarray | None) -> None:
        """The input to draw (``(28, 28)`` floats in [0, 1]), or None for a blank pad."""
        self.input = None if network_input is None else np.asarray(network_input, dtype=np.float32)
        self._refresh()

    def select(self, layer: int, unit: int) -> None:
        """Ring neuron ``unit`` of ``layer`` (no signal); it stays ringed while it is drawn."""
        self.selected = (layer, unit)
        self._draw_ring()

    def activity(self) -> NetworkActivity | None:
        """What the diagram shows now (None when it shows nothing)."""
        return self._activity

    def node_center(self, layer: int, unit: int) -> QPoint | None:
        """Where neuron ``unit`` of ``layer`` is drawn on ``self.plot``, in its pixels; None if not drawn."""
        if layer >= len(self._positions) or unit not in self._positions[layer]:
            return None
        x, y = self._positions[layer][unit]
        return self.plot.mapFromScene(self.plot.getViewBox().mapViewToScene(QPointF(x, y)))

    def more_texts(self) -> list[str]:
        return [t.toPlainText() for t in self.more]

    # -- drawing ----------------------------------------------------------------------------------

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._dirty:
            self._refresh()

    def _refresh(self) -> None:
        if not self.isVisible():
            self._dirty = True  # drawn when shown: a hidden tab costs the sketch nothing
            return
        self._dirty = False
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
        self.input_image.clear()
        self.edges.set_lines({})
        self.nodes.clear()
        self.ring.clear()
        self._positions = []
        self._spots = []

    def _column(self, layer: int, shown: np.ndarray) -> dict[int, tuple[float, float]]:
        if layer == 0 and self.network.sizes[0] == 784:
            side = HEIGHT / 28
            return {int(u): ((u % 28 + 0.5) * side, (u // 28 + 0.5) * side) for u in shown}
        k = len(shown)
        x = HEIGHT + SPACING * layer - (0 if layer else SPACING / 2)
        return {int(u): (x, (i + 0.5) * HEIGHT / k) for i, u in enumerate(shown)}

    def _draw(self, activity: NetworkActivity, x: np.ndarray) -> None:
        square = self.network.sizes[0] == 784
        self.input_image.setImage(x.reshape(28, 28) if square else np.zeros((1, 1)), levels=(0, 1),
                                  rect=QRectF(0, 0, HEIGHT, HEIGHT) if square else QRectF(0, 0, 0.01, 0.01))
        self._positions = [self._column(layer.index, layer.shown) for layer in activity.layers]
        # Connections, in six buckets: sign × strength.
        buckets: dict[tuple[int, int], list[QLineF]] = {}
        strongest = max((np.abs(c.contributions).max() for c in activity.connections if len(c.contributions)),
                        default=0.0)
        for c in activity.connections:
            src, tgt = self._positions[c.layer], self._positions[c.layer + 1]
            for s, t, v in zip(c.sources, c.targets, c.contributions):
                strength = min(int(abs(v) / strongest * 3), 2) if strongest > 0 else 0
                (x0, y0), (x1, y1) = src[int(s)], tgt[int(t)]
                buckets.setdefault((1 if v > 0 else -1, strength), []).append(QLineF(x0, y0, x1, y1))
        self.edges.set_lines(buckets)
        # Neurons, shaded by activation relative to their layer's strongest. The spots stay put
        # (the i-th drawn unit of a layer is always in the same place); only their shades change,
        # from a small fixed palette so the symbols are drawn from pyqtgraph's cache.
        spots = [(layer.index, rank) for layer in activity.layers[1:] for rank in range(len(layer.shown))]
        if spots != self._spots:
            self._spots = spots
            xy = [self._positions[layer][int(activity.layers[layer].shown[rank])] for layer, rank in spots]
            self.nodes.setData(pos=xy, data=spots, brush=[SHADES[0]] * len(spots))
        shades = []
        for layer in activity.layers[1:]:
            values = layer.values[layer.shown]
            peak = float(np.abs(layer.values).max()) or 1.0
            levels = np.rint(np.clip(values / peak, -1, 1) * LEVELS).astype(int)
            shades += [SHADES[level] for level in levels]
        self.nodes.setBrush(shades)
        for i, layer in enumerate(activity.layers):
            if i < len(self.more):
                _set_text(self.more[i], f"+{layer.more} more" if layer.more and i > 0 else "")
        p = activity.probabilities
        top = activity.predicted
        for d, label in enumerate(self.output_labels):
            _set_text(label, f"{d}  {p[d]:.0%}", TOP_LABEL if d == top else OTHER_LABEL)
        self.caption.setText(f"Says {top} ({p[top]:.0%}). Neurons: brighter = more active. Lines: the strongest "
                             "contributions (weight × activation), red excites, blue inhibits. Click a neuron.")
        self._draw_ring()

    def _draw_ring(self) -> None:
        if self.selected is None:
            self.ring.clear()
            return
        layer, unit = self.selected
        if layer < len(self._positions) and unit in self._positions[layer]:
            self.ring.setData(pos=[self._positions[layer][unit]])
        else:
            self.ring.clear()

    def _make_labels(self, network) -> None:
        for item in self.labels + self.more + self.output_labels:
            self.plot.removeItem(item)
        self.labels, self.more, self.output_labels = [], [], []
        if network is None:
            return
        sizes = network.sizes
        last = len(sizes) - 1
        for i, size in enumerate(sizes):
            x = HEIGHT / 2 if i == 0 else HEIGHT + SPACING * i - (0 if i else SPACING / 2)
            name = "input 28×28" if i == 0 and size == 784 else (
                "input" if i == 0 else "output" if i == last else f"hidden {i}")
            title = text_item(f"{name} · {size}", anchor=(0.5, 1.0), color=(170, 170, 170))
            title.setPos(x, -0.4)
            more = text_item("", anchor=(0.5, 0.0), color=(170, 170, 170))
            more.setPos(x, HEIGHT + 0.3)
            for item in (title, more):
                self.plot.addItem(item)
            self.labels.append(title)
            self.more.append(more)
        for d in range(sizes[-1]):
            label = text_item("", anchor=(0.0, 0.5), color=OTHER_LABEL)
            label.setPos(HEIGHT + SPACING * last + 0.6, (d + 0.5) * HEIGHT / sizes[-1])
            self.plot.addItem(label)
            self.output_labels.append(label)
        self.plot.getViewBox().setRange(xRange=(-0.5, HEIGHT + SPACING * last + 3.5), yRange=(-1.6, HEIGHT + 1.4),
                                        padding=0)

    @Slot(object, object, object)
    def _on_node_clicked(self, _item, points, _event=None) -> None:
        if not len(points) or self._activity is None:
            return
        layer, rank = points[0].data()
        unit = int(self._activity.layers[layer].shown[rank])
        self.select(layer, unit)
        self.neuron_selected.emit(layer, unit)
