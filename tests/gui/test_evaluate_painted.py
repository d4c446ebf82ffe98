"""The Evaluate views painted with QPainter: the layer map's points answer the mouse, and a new result
repaints a view once (real mouse moves and clicks, offscreen)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtWidgets import QApplication, QWidget
from threadpoolctl import threadpool_limits

from nnstudio.core.evaluation import evaluate
from nnstudio.gui.panels.layer_map import DIGIT_COLORS
from nnstudio.gui.panels.per_digit import PerDigitView
from nnstudio.gui.panels.scatter_canvas import ScatterCanvas
from nnstudio.gui.workspace import bundled_model

LEFT = Qt.MouseButton.LeftButton


class PaintCounter(QObject):
    """Counts the paint events each widget under ``root`` receives."""

    def __init__(self, root: QWidget) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}
        for widget in [root, *root.findChildren(QWidget)]:
            widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Paint:
            name = watched.objectName() or type(watched).__name__
            self.counts[name] = self.counts.get(name, 0) + 1
        return False


def test_layer_map_points_answer_hover_and_click(qtbot):
    canvas = ScatterCanvas(DIGIT_COLORS, "#ffffff")
    qtbot.addWidget(canvas)
    canvas.resize(300, 240)
    canvas.show()
    qtbot.waitExposed(canvas)
    points = np.random.default_rng(3).normal(size=(400, 2))
    canvas.set_points(points, np.arange(400) % 10)
    target = int(np.argmax(points[:, 0]))  # the rightmost point: no neighbour within reach
    window = canvas.windowHandle()
    with qtbot.waitSignal(canvas.hovered, check_params_cb=lambda position: position == target):
        qtbot.mouseMove(window, canvas.mapTo(canvas.window(), canvas.point_position(target)))
    with qtbot.waitSignal(canvas.clicked) as clicked:
        qtbot.mouseClick(canvas, LEFT, pos=canvas.point_position(target))
    assert clicked.args == [target]
    # A click far from every point picks nothing.
    with qtbot.assertNotEmitted(canvas.clicked):
        qtbot.mouseClick(canvas, LEFT, pos=QPoint(1, 1))  # (QTest reads (0, 0) as the centre)
    # The points are drawn in their digit's colour.
    image = canvas.grab().toImage()
    at = canvas.point_position(target)
    assert image.pixelColor(at).name().upper() == DIGIT_COLORS[target % 10].upper()


def test_per_digit_figures_repaint_once_per_new_result(qtbot, small_split):
    network, _ = bundled_model()
    with threadpool_limits(limits=1):
        figures = evaluate(network, small_split.x_test, small_split.y_test).per_digit()
    view = PerDigitView()
    qtbot.addWidget(view)
    view.resize(360, 260)
    view.show()
    qtbot.waitExposed(view)
    QApplication.processEvents()
    counter = PaintCounter(view)
    view.show_figures(figures)
    for _ in range(3):
        QApplication.processEvents()
    # The bars once, and the figures' label (with the card behind it) once.
    assert counter.counts.get("perDigitBars") == 1 and max(counter.counts.values()) == 1, counter.counts
    assert view.figures() is figures
    assert "Weakest: <b>" in view.table.text()
