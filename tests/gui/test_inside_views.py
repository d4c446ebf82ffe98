"""The Inside views on their own: changes coalesce into one update per event-loop turn, a hidden
view computes nothing, and the diagnostics charts' ranges move in coarse steps."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnstudio.core.network import Network
from nnstudio.gui.panels.diagnostics_plots import decades, nice_ceiling
from nnstudio.gui.panels.mini_chart import ticks
from nnstudio.gui.panels.network_view import NetworkView
from nnstudio.gui.panels.saliency_view import SaliencyView


@pytest.fixture
def views(qtbot):
    shown = []
    for view in (NetworkView(), SaliencyView()):
        qtbot.addWidget(view)
        view.resize(500, 300)
        view.show()
        qtbot.waitExposed(view)
        shown.append(view)
    return shown


def test_a_burst_of_model_changes_makes_one_update_and_a_sketch_is_drawn_at_once(qtbot, views):
    networks = [Network((784, 24, 12, 10), seed=seed) for seed in range(3)]
    inputs = np.random.default_rng(0).random((2, 28, 28), dtype=np.float32)
    for view in views:
        view.set_input(inputs[0])  # no model yet: nothing to draw
        for network in networks:  # the model in use, then the lab's edit...: within one turn
            view.set_network(network)
        assert view.updates == 0  # nothing computed yet: it waits for the end of the turn
    qtbot.waitUntil(lambda: all(view.updates == 1 for view in views))
    qtbot.wait(20)
    assert [view.updates for view in views] == [1, 1]
    for view in views:
        view.set_input(inputs[1])  # a new sketch: drawn before the call returns, with the last model
        assert view.updates == 2
    qtbot.wait(20)
    assert [view.updates for view in views] == [2, 2]
    network = networks[-1]
    network_view, saliency_view = views
    h1 = np.maximum(inputs[-1].reshape(1, -1) @ network.weights[0] + network.biases[0], 0)[0]
    np.testing.assert_allclose(network_view.activity().layers[1].values, h1, rtol=1e-5, atol=1e-6)
    assert saliency_view.saliency().predicted == int(network.predict(inputs[-1].reshape(1, -1))[0])
    # A click on a drawn neuron selects it.
    layer, unit = 2, int(network_view.activity().layers[2].shown[0])
    with qtbot.waitSignal(network_view.neuron_selected) as selected:
        qtbot.mouseClick(network_view.plot.viewport(), Qt.MouseButton.LeftButton,
                         pos=network_view.node_center(layer, unit))
    assert selected.args == [layer, unit]


def test_a_hidden_view_computes_nothing_until_shown(qtbot, views):
    network = Network((784, 16, 10), seed=2)
    for view in views:
        view.hide()
        view.set_network(network)
        view.set_input(np.full((28, 28), 0.5, np.float32))
    qtbot.wait(20)
    assert [view.updates for view in views] == [0, 0]
    for view in views:
        view.show()
    qtbot.waitUntil(lambda: all(view.updates == 1 for view in views))


def test_chart_ranges_move_in_coarse_steps():
    assert [nice_ceiling(v) for v in (0.3, 1, 3, 5, 7, 12, 20, 21, 480)] == [1, 1, 5, 5, 10, 20, 20, 50, 500]
    assert decades(np.array([2.3e-3, 1.6e-3, np.nan, 0.0]), -4, -1) == (-4, -1)
    assert decades(np.array([3e-6, 0.4]), -4, -1) == (-6, 0)
    assert ticks(-4, -1, True) == [-4.0, -3.0, -2.0, -1.0]
    assert ticks(0, 20000, False, 4) == [0, 5000, 10000, 15000, 20000]
