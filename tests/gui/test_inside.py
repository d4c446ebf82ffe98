"""The "Inside the network" tab, driven as a user would: draw, click a tile or a neuron, switch it off, train."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QPushButton, QSlider, QWidget

from nnstudio.core import weight_tiles
from nnstudio.core.layer_math import forward
from nnstudio.core.model_file import load_model
from nnstudio.core.neuron_lab import accuracy, switch_off
from nnstudio.core.softmax import softmax
from driving import draw, open_tab

pytest.importorskip("nnstudio.gui.workspace", reason="needs the studio's frame (issue 7)")

LEFT = Qt.MouseButton.LeftButton
SEVEN = [(0.25, 0.2), (0.5, 0.2), (0.75, 0.2), (0.65, 0.45), (0.55, 0.65), (0.45, 0.85)]


def child(window, name, kind=QWidget):
    found = window.findChild(kind, name)
    assert found is not None, f"no {name}"
    return found


def open_inside(qtbot, window):
    return open_tab(qtbot, window, "Inside the network")


def draw_seven(qtbot, window):
    with qtbot.waitSignal(window.workspace.sketch_changed, timeout=5000,
                          check_params_cb=lambda x: x is not None):
        draw(qtbot, window.sketch_panel.pad, SEVEN)
    return window.workspace.sketch


def test_drawing_a_stroke_updates_the_network_view_and_the_saliency(qtbot, window):
    open_inside(qtbot, window)
    view, saliency = child(window, "networkView"), child(window, "saliencyView")
    assert view.activity() is None and saliency.saliency() is None
    model = window.workspace.model
    x = draw_seven(qtbot, window)
    qtbot.waitUntil(lambda: view.activity() is not None and saliency.saliency() is not None)
    expected = int(model.predict(x.reshape(1, -1))[0])
    assert view.activity().predicted == saliency.saliency().predicted == expected
    h1 = np.maximum(x.reshape(1, -1) @ model.weights[0] + model.biases[0], 0)[0]
    np.testing.assert_allclose(view.activity().layers[1].values, h1, rtol=1e-4, atol=1e-5)
    assert view.more_texts()[1] == f"+{model.sizes[1] - 16} more"
    assert saliency.rgb().shape[:2] == (28, 60)
    assert str(expected) in child(window, "saliencyCaption").plain_text()
    before = view.updates, saliency.updates
    draw(qtbot, window.sketch_panel.pad, [(0.2, 0.5), (0.8, 0.5)])  # a stroke across: the input changes
    qtbot.waitUntil(lambda: view.updates > before[0] and saliency.updates > before[1])
    assert not np.array_equal(view.activity().layers[0].values, x.ravel())
    # Temperature: the sketch pad's bars follow the slider and say what it does (one set of bars in the studio).
    bars, slider = child(window, "probabilityBars"), child(window, "temperatureSlider", QSlider)
    assert len(window.findChildren(QWidget, "probabilityBars")) == 1 and window.sketch_panel.isAncestorOf(bars)
    logits = forward(model, window.workspace.sketch.reshape(1, -1)).logits[0]
    np.testing.assert_allclose(bars.probabilities(), softmax(logits), rtol=1e-6)
    slider.setFocus()
    for _ in range(3):
        qtbot.keyClick(slider, Qt.Key.Key_PageUp)
    assert bars.temperature > 1
    np.testing.assert_allclose(bars.probabilities(), softmax(logits, bars.temperature), rtol=1e-6)
    assert "less sure" in child(window, "temperatureExplanation").plain_text()


def test_the_tiles_are_the_first_layer_and_a_click_selects_the_unit(qtbot, window):
    open_inside(qtbot, window)
    tiles = child(window, "weightTiles")
    w1 = window.workspace.model.weights[0]
    np.testing.assert_array_equal(tiles.mosaic(), weight_tiles.mosaic(w1))
    unit = 23
    qtbot.mouseClick(tiles.plot.viewport(), LEFT, pos=tiles.tile_center(unit))
    qtbot.waitUntil(lambda: tiles.selected == unit)
    inspector = child(window, "neuronInspector")
    assert f"unit {unit}" in child(window, "neuronTitle").plain_text()
    assert "hidden layer 1" in child(window, "neuronTitle").plain_text()
    x = draw_seven(qtbot, window)
    d = inspector.detail()
    assert (d.layer, d.unit) == (1, unit)
    np.testing.assert_array_equal(d.as_image(d.incoming), w1[:, unit].reshape(28, 28))
    assert d.weighted_sum == pytest.approx(float(x.ravel() @ w1[:, unit]), rel=1e-4, abs=1e-5)


def test_switching_off_the_most_active_neuron_shows_the_test_accuracy_change(qtbot, window, tmp_path):
    open_inside(qtbot, window)
    view, inspector = child(window, "networkView"), child(window, "neuronInspector")
    model, split = window.workspace.model, window.workspace.split
    draw_seven(qtbot, window)
    qtbot.waitUntil(lambda: view.activity() is not None)
    last_hidden = len(model.sizes) - 2
    values = view.activity().layers[last_hidden].values
    unit = int(values.argmax())
    assert values[unit] > 0
    qtbot.mouseClick(view.plot.viewport(), LEFT, pos=view.node_center(last_hidden, unit))
    qtbot.waitUntil(lambda: inspector.detail() is not None and inspector.detail().unit == unit)
    assert inspector.detail().output == pytest.approx(float(values[unit]), rel=1e-4)
    with qtbot.waitSignal(inspector.accuracy_measured, timeout=20_000) as measured:
        box = child(window, "neuronOff", QCheckBox)
        qtbot.mouseClick(box, LEFT, pos=QPoint(6, box.height() // 2))  # on the tick box
    before, after = measured.args
    edited = switch_off(model, last_hidden, unit)
    assert before == accuracy(model, split.x_test, split.y_test) == model.evaluate(split.x_test, split.y_test)[1]
    assert after == edited.evaluate(split.x_test, split.y_test)[1]
    assert f"{before:.2%} → {after:.2%}" in child(window, "labAccuracy").plain_text()
    assert inspector.detail().output == 0  # the neuron is silent now, in the diagram too
    qtbot.waitUntil(lambda: view.activity().layers[last_hidden].values[unit] == 0)
    assert "edited" in child(window, "labPrediction").plain_text()
    # Save as model writes the edited network.
    assert inspector.save_to(tmp_path / "edited.npz") == ""
    saved = load_model(tmp_path / "edited.npz")
    for a, b in zip(saved.network.weights, edited.weights):
        np.testing.assert_array_equal(a, b)
    assert saved.metadata["test_accuracy"] == after
    # Reset: back to the model in use.
    qtbot.mouseClick(child(window, "neuronReset", QPushButton), LEFT)
    assert not child(window, "neuronOff", QCheckBox).isChecked()
    qtbot.waitUntil(lambda: view.activity().layers[last_hidden].values[unit] > 0)
    assert inspector.edit_list() == []


def test_training_with_the_tab_open_plots_the_diagnostics_and_moves_the_tiles(qtbot, window):
    from driving import retype, run_ends

    open_inside(qtbot, window)
    plots, tiles = child(window, "diagnosticsPlots"), child(window, "weightTiles")
    bundled_tiles = tiles.mosaic()
    retype(qtbot, window.controls.max_epochs_box, "2")
    retype(qtbot, window.controls.batch_size_box, "8")  # epochs long enough to measure each (5% rule)
    retype(qtbot, window.controls.patience_box, "0")
    reports, mosaics = [], []
    window.session.epoch_finished.connect(lambda r: (reports.append(r), mosaics.append(tiles.mosaic())))
    with run_ends(qtbot, window, 60_000):
        qtbot.mouseClick(window.train.start_button, LEFT)
    assert [r.epoch for r in reports] == [1, 2]
    # Every epoch is measured unless that would take more than 5% of the training time (tiny data).
    measured = [r for r in reports if r.diagnostics is not None]
    assert measured[0] is reports[0]
    ratios = plots.update_ratios()
    assert ratios.shape == (len(measured), len(reports[0].diagnostics.layers))
    np.testing.assert_array_equal(ratios[-1], measured[-1].diagnostics.update_ratios)
    assert np.all(ratios > 0)
    now, start = plots.histograms()
    assert now.sum() == start.sum() == measured[-1].diagnostics.layers[0].histogram.sum()
    qtbot.waitUntil(lambda: f"Epoch {measured[-1].epoch}" in child(window, "diagnosticsCaption").plain_text())
    # Each epoch the tiles showed the first layer being trained (not the bundled model's).
    for report, shown in zip(reports, mosaics):
        if report.diagnostics is not None:
            expected = weight_tiles.mosaic(report.diagnostics.first_layer.astype(np.float32))
            np.testing.assert_array_equal(shown, expected)
    assert mosaics[0].shape != bundled_tiles.shape
