"""Hovering a cell of the confusion matrix says its count and its share of the row (real mouse moves)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QApplication
from threadpoolctl import threadpool_limits

from nnstudio.core.evaluation import evaluate
from nnstudio.gui.panels.confusion_matrix import ConfusionMatrixView
from nnstudio.gui.workspace import bundled_model


@pytest.fixture
def every_mouse_move():
    """pyqtgraph drops mouse moves that come within 10 ms of the last (its ``mouseRateLimit``): a test's
    moves come faster than a hand's, so let each one through, whatever the clock says."""
    limit = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOptions(mouseRateLimit=0)
    yield
    pg.setConfigOptions(mouseRateLimit=limit)


def test_hovering_a_cell_shows_its_count_and_share(qtbot, small_split, every_mouse_move):
    network, _ = bundled_model()
    with threadpool_limits(limits=1):
        confusion = evaluate(network, small_split.x_test, small_split.y_test).confusion
    direct = np.zeros((10, 10), int)
    np.add.at(direct, (small_split.y_test, network.predict(small_split.x_test)), 1)
    assert np.array_equal(confusion, direct)
    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    view.resize(420, 420)
    view.show()
    qtbot.waitExposed(view)
    view.show_matrix(confusion)
    assert view.cell_texts() == [str(c) if c else "" for c in confusion.ravel().tolist()]
    off = confusion - np.diag(np.diag(confusion))
    true, predicted = (int(i) for i in np.unravel_index(off.argmax(), off.shape))
    viewport, window = view.graphics.viewport(), view.windowHandle()
    for t, p in ((true, predicted), (true, true), (predicted, true)):
        count, total = int(confusion[t, p]), int(confusion[t].sum())
        # The move goes to the window, as the platform delivers it (a widget-level QTest move goes
        # through the cursor, which the offscreen platform does not always pass on).
        QApplication.processEvents()  # a relayout the last hover text asked for, before reading where cells are
        qtbot.mouseMove(window, viewport.mapTo(view, view.cell_center(t, p)))
        text = view.hover.text()
        assert text.startswith(f"{count:,} of the {total:,} images of {t}")
        assert f"({count / total:.1%})" in text
        assert ("read correctly" if t == p else f"read as {p}") in text
        assert view.graphics.toolTip() == text
