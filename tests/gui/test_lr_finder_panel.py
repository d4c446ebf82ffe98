"""The learning-rate finder panel, driven as a user would: one click, the plot, a click on the curve."""

import math

import pytest
from PySide6.QtCore import QPointF, Qt

from nnstudio.core.lr_finder import LrFinderResult
from driving import open_tab


def click_plot_at(qtbot, panel, learning_rate: float) -> None:
    view = panel.plot.getPlotItem().vb
    low, high = view.viewRange()[1]
    scene_point = view.mapViewToScene(QPointF(math.log10(learning_rate), (low + high) / 2))
    qtbot.mouseClick(panel.plot.viewport(), Qt.MouseButton.LeftButton, pos=panel.plot.mapFromScene(scene_point))


def test_one_click_finds_a_learning_rate_and_a_click_on_the_curve_sets_the_form(qtbot, window):
    panel = open_tab(qtbot, window, "Teach").show_panel("lrFinder")
    model_before = [p.copy() for p in window.workspace.model.parameters()] if window.workspace.model else []
    button = window.findChild(object, "findLrButton")
    with qtbot.waitSignal(panel.range_test_finished, timeout=60_000) as finished:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert not button.isEnabled() and window.findChild(object, "cancelLrButton").isEnabled()
    result = finished.args[0]
    assert isinstance(result, LrFinderResult) and len(result.curves) == 3
    qtbot.waitUntil(lambda: button.isEnabled())
    assert f"{result.suggestion:.3g}" in panel.suggestion_label.text()
    assert "three runs" in panel.suggestion_label.text()
    assert all(region.isVisible() for region, _ in panel.zones) and panel.band.isVisible()
    assert all(len(curve.getData()[0]) > 50 for curve in panel.curves)
    if model_before:  # the model in use is not what the test trains
        assert all((a == b).all() for a, b in zip(model_before, window.workspace.model.parameters()))

    with qtbot.waitSignal(panel.learning_rate_chosen) as chosen:
        click_plot_at(qtbot, panel, 0.3)
    assert chosen.args[0] == pytest.approx(0.3, rel=0.15)
    assert window.controls.config().learning_rate == chosen.args[0]

    use = window.findChild(object, "useLrButton")
    qtbot.mouseClick(use, Qt.MouseButton.LeftButton)
    assert window.controls.config().learning_rate == float(f"{result.suggestion:.2g}")
    assert window.controls.config().hidden == (128, 64)  # the rest of the form is as it was


def test_cancel_stops_the_range_test_and_keeps_the_form(qtbot, window):
    panel = window.panel("Teach").show_panel("lrFinder")
    before = window.controls.config()
    qtbot.mouseClick(window.findChild(object, "findLrButton"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.findChild(object, "cancelLrButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    assert "cancelled" in panel.status_label.text()
    assert window.controls.config() == before and panel.result is None
    assert not window.findChild(object, "useLrButton").isEnabled()
