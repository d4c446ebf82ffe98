"""The sketch pad's probability bars carry the softmax temperature: drive the slider as a user would."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSlider, QWidget

from nnstudio.core.network import Network
from nnstudio.core.softmax import softmax
from nnstudio.gui.sketch_panel import SketchPanel
from driving import draw

SEVEN = [(0.25, 0.2), (0.5, 0.2), (0.75, 0.2), (0.65, 0.45), (0.55, 0.65), (0.45, 0.85)]


@pytest.fixture
def panel(qtbot):
    network = Network((784, 32, 10), seed=3)
    network.weights[-1] *= 8  # confident enough that the temperature visibly moves the bars
    widget = SketchPanel(network, "tiny", bundled=False, seed=0)
    qtbot.addWidget(widget)
    widget.resize(360, 760)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_the_pads_bars_follow_the_temperature_slider(qtbot, panel):
    bars = panel.findChild(QWidget, "probabilityBars")
    slider = panel.findChild(QSlider, "temperatureSlider")
    explanation = panel.findChild(QWidget, "temperatureExplanation")
    assert bars is not None and slider is not None and explanation is not None
    assert bars.isAncestorOf(slider) and bars.isVisible()
    assert bars.probabilities() is None  # a blank pad: no bars
    inputs = []
    panel.input_changed.connect(inputs.append)
    draw(qtbot, panel.pad, SEVEN)
    x = inputs[-1]
    logits = panel.network.logits(x.reshape(1, -1))[0]
    np.testing.assert_allclose(bars.probabilities(), softmax(logits), rtol=1e-6)
    assert "own probabilities" in explanation.plain_text()
    own_top = float(softmax(logits).max())

    slider.setFocus()
    for _ in range(3):  # hotter: the bars even out, the ranking stays
        qtbot.keyClick(slider, Qt.Key.Key_PageUp)
    t = bars.temperature
    assert t > 1
    p = bars.probabilities()
    np.testing.assert_allclose(p, softmax(logits, t), rtol=1e-6)
    assert p.max() < own_top and p.argmax() == logits.argmax()
    assert "less sure" in explanation.plain_text()
    top = int(logits.argmax())
    assert panel.prediction_view.headline_text() == f"{top} · {p[top]:.1%}"  # the headline says what the bars show

    slider.setValue(slider.minimum())  # colder: the top bar takes more
    t = bars.temperature
    assert t < 1
    np.testing.assert_allclose(bars.probabilities(), softmax(logits, t), rtol=1e-6)
    assert bars.probabilities().max() > own_top
    assert "surer" in explanation.plain_text()

    draw(qtbot, panel.pad, [(0.2, 0.5), (0.8, 0.5)])  # a new stroke keeps the chosen temperature
    logits = panel.network.logits(inputs[-1].reshape(1, -1))[0]
    np.testing.assert_allclose(bars.probabilities(), softmax(logits, t), rtol=1e-6)
    assert panel.last_prediction[1] == pytest.approx(float(softmax(logits).max()), rel=1e-6)  # the model's own

    qtbot.keyClick(panel.pad, Qt.Key.Key_Escape)  # cleared: no bars
    qtbot.waitUntil(lambda: bars.probabilities() is None)

