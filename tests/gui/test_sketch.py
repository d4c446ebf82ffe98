"""The sketch panel driven as a user would: drawing with the mouse, Clear, Undo, test samples."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import split_mnist
from nnstudio.core.network import Network
from nnstudio.core.preprocess import to_mnist
from nnstudio.core.trainer import Trainer
from nnstudio.gui.prediction_view import PLACEHOLDER
from nnstudio.gui.sketch_pad import HINT
from nnstudio.gui.sketch_panel import NO_MODEL, NO_TEST_SET, SketchPanel
from driving import draw


@pytest.fixture
def network(quick_network):
    return quick_network


@pytest.fixture
def panel(qtbot, network, mnist):
    widget = SketchPanel(network, "test model", seed=0)
    widget.set_test_set(mnist.test_images[:500], mnist.test_labels[:500])
    qtbot.addWidget(widget)
    widget.resize(900, 520)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def same_digit(a: np.ndarray, b: np.ndarray) -> bool:
    """Two pads hold the same drawing: equal network inputs, up to the one-pixel centring shift."""
    x, y = to_mnist(a), to_mnist(b)
    shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return min(np.abs(np.roll(x, s, axis=(0, 1)) - y).mean() for s in shifts) < 0.01


ONE = [(0.5, 0.15 + 0.7 * t) for t in np.linspace(0, 1, 20)]
ZERO = [(0.5 + 0.22 * np.sin(a), 0.5 - 0.33 * np.cos(a)) for a in np.linspace(0, 2 * np.pi, 40)]
CROSSBAR = [(0.3 + 0.4 * t, 0.5) for t in np.linspace(0, 1, 10)]


def test_drawn_digits_are_recognised_and_the_prediction_follows_the_drawing(qtbot, panel):
    draw(qtbot, panel.pad, ONE)
    assert panel.last_prediction is not None
    assert panel.last_prediction[0] == 1
    assert panel.prediction_view.headline_text().startswith("1 · ")
    probabilities = panel.prediction_view.probabilities()
    assert probabilities.argmax() == 1 and probabilities.sum() == pytest.approx(1, abs=1e-4)
    assert panel.prediction_view.input_image.pixmap().width() > 28  # "what the network sees" is shown

    panel.clear_button.click()
    with qtbot.waitSignal(panel.predicted, timeout=2000) as signal:
        draw(qtbot, panel.pad, ZERO)
    assert signal.args[0] == 0
    assert panel.last_prediction[0] == 0


def test_drawn_digits_are_preprocessed_as_by_the_general_path(qtbot, panel):
    """The pad's canvas (uint8) takes a shortcut through preprocessing: the same 28x28 input, to the bit,
    as the general path (which a one-channel 3-D picture takes)."""
    for strokes in ([ONE], [ZERO], [ZERO, CROSSBAR]):
        panel.clear_button.click()
        for stroke in strokes:
            draw(qtbot, panel.pad, stroke)
        image = panel.pad.image()
        x = to_mnist(image)
        assert x is not None and np.array_equal(x, to_mnist(image[..., None]))


def test_predictions_are_live_while_drawing_and_coalesced(qtbot, panel):
    predictions = []
    panel.predicted.connect(lambda digit, confidence: predictions.append(digit))
    # A long throttle here: on a loaded machine sixty moves may take longer than the real 30 ms.
    panel.throttle_ms = 1000
    rect = panel.pad.canvas_rect()
    qtbot.mousePress(panel.pad, Qt.MouseButton.LeftButton, pos=rect.center())
    for i in range(60):  # sixty moves at once: at most one prediction may result
        qtbot.mouseMove(panel.pad, rect.center() + QPoint(0, i))
    assert predictions == []  # nothing computed inside the mouse handlers
    qtbot.waitUntil(lambda: len(predictions) == 1, timeout=5000)  # ...but one comes without lifting the pen
    qtbot.wait(100)
    assert len(predictions) == 1
    qtbot.mouseRelease(panel.pad, Qt.MouseButton.LeftButton, pos=rect.center() + QPoint(0, 60))
    assert len(predictions) == 2  # and one at once when the stroke ends


def test_clear_button_and_escape_reset_to_the_placeholder(qtbot, panel):
    for clear in (panel.clear_button.click, lambda: qtbot.keyClick(panel.pad, Qt.Key.Key_Escape)):
        draw(qtbot, panel.pad, ONE)
        assert panel.last_prediction is not None
        clear()
        qtbot.waitUntil(lambda: panel.last_prediction is None, timeout=1000)
        assert panel.pad.is_empty()
        assert panel.prediction_view.headline_text() == PLACEHOLDER
        assert panel.prediction_view.probabilities() is None
        assert not panel.pad.image().any()


def test_undo_removes_the_last_stroke(qtbot, panel):
    draw(qtbot, panel.pad, ONE)
    one_only = panel.pad.image()
    draw(qtbot, panel.pad, CROSSBAR)
    assert panel.pad.stroke_count() == 2
    assert np.count_nonzero(panel.pad.image() != one_only) > 100

    panel.undo_button.click()
    assert panel.pad.stroke_count() == 1
    assert same_digit(panel.pad.image(), one_only)
    qtbot.waitUntil(lambda: panel.last_prediction is not None and panel.last_prediction[0] == 1, timeout=1000)

    qtbot.keyClick(panel.pad, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert panel.pad.is_empty()
    qtbot.waitUntil(lambda: panel.last_prediction is None, timeout=1000)


def test_samples_from_the_test_set_show_their_true_label(qtbot, panel, mnist):
    agreed = 0
    for _ in range(20):
        panel.sample_button.click()
        label = panel.shown_label
        assert label is not None
        assert panel.prediction_view.detail_text().startswith(f"true label: {label}")
        assert panel.pad.image().max() > 200  # the digit is on the pad
        agreed += panel.last_prediction[0] == label
    assert agreed >= 17

    draw(qtbot, panel.pad, CROSSBAR)  # drawing over a sample makes it the user's drawing
    qtbot.waitUntil(lambda: panel.prediction_view.detail_text() == "", timeout=1000)
    assert panel.shown_label is None


def test_a_sample_is_what_the_network_trained_on(panel, mnist, network):
    panel.show_sample(3)
    expected = network.predict_proba(to_mnist(mnist.test_images[3]).reshape(1, -1))[0]
    assert np.allclose(panel.prediction_view.probabilities(), expected, atol=0.05)


def test_sample_button_needs_a_test_set(qtbot, network):
    panel = SketchPanel(network, "test model")
    qtbot.addWidget(panel)
    assert not panel.sample_button.isEnabled()
    assert panel.sample_button.toolTip() == NO_TEST_SET


def test_empty_canvas_predicts_nothing(qtbot, panel):
    panel.predict()
    assert panel.last_prediction is None
    assert panel.prediction_view.headline_text() == PLACEHOLDER
    qtbot.mouseClick(panel.pad, Qt.MouseButton.RightButton)  # not a stroke
    assert panel.pad.is_empty() and panel.last_prediction is None


def test_without_a_model_the_pad_still_works_and_says_so(qtbot, panel, network):
    panel.set_network(None)
    assert panel.caption.text() == NO_MODEL
    draw(qtbot, panel.pad, ONE)
    assert panel.last_prediction is None
    assert panel.prediction_view.headline_text() == "No model"

    panel.set_network(Network((784, 16, 3)), "wrong")
    assert "784 inputs (28×28) and 10 outputs" in panel.caption.text()
    assert panel.network is None

    panel.set_network(network, "back")  # re-predicts the drawing at once
    assert panel.caption.text().startswith("Model: back")
    assert panel.last_prediction[0] == 1


def test_set_network_keeps_a_private_copy(qtbot, panel, network):
    draw(qtbot, panel.pad, ONE)
    before = panel.prediction_view.probabilities()
    outside = network.copy()
    panel.set_network(outside, "copy")
    for w in outside.weights:  # a training thread changing its network...
        w[...] = 0
    panel.predict()
    assert np.allclose(panel.prediction_view.probabilities(), before)  # ...does not touch the panel's


def test_pen_width_and_resizing_keep_the_drawing(qtbot, panel):
    draw(qtbot, panel.pad, ZERO)
    before = panel.pad.image()
    thin_ink = np.count_nonzero(panel.pad.image() > 128)
    panel.brush_slider.setValue(panel.brush_slider.maximum())
    assert np.count_nonzero(panel.pad.image() > 128) > 1.5 * thin_ink
    panel.brush_slider.setValue(75)
    panel.resize(1200, 800)
    qtbot.waitUntil(lambda: panel.pad.image().shape[0] > 400, timeout=1000)
    assert same_digit(panel.pad.image(), before)  # the same drawing, redrawn larger
    assert panel.pad.width() >= 280 and panel.pad.image().shape[0] == panel.pad.canvas_rect().width()


def test_pad_stays_at_least_280_pixels_square(qtbot, panel):
    panel.resize(300, 200)
    qtbot.wait(10)
    rect = panel.pad.canvas_rect()
    assert rect.width() == rect.height() >= 280


def test_default_panel_uses_the_bundled_model_or_asks_for_one(qtbot):
    from nnstudio.resources import BUNDLED_MODEL

    panel = SketchPanel()
    qtbot.addWidget(panel)
    if BUNDLED_MODEL.exists():
        assert panel.network is not None and panel.caption.text().startswith("Model: bundled")
    else:
        assert panel.network is None and panel.caption.text() == NO_MODEL


def test_predicts_while_a_training_runs_on_another_thread(qtbot, panel, mnist):
    import threading

    trainer = Trainer(TrainingConfig(max_epochs=1, patience=0), split_mnist(mnist).head(8000, 500, 500))
    panel.set_network(trainer.network, "being trained")  # untrained weights, copied now
    thread = threading.Thread(target=lambda: list(trainer.run()))
    thread.start()
    try:
        seen = []
        while thread.is_alive() and len(seen) < 5:
            draw(qtbot, panel.pad, ONE if len(seen) % 2 else ZERO)
            seen.append(panel.prediction_view.probabilities())
            panel.pad.clear()
    finally:
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert len(seen) >= 1 and all(p is not None for p in seen)
    draw(qtbot, panel.pad, ZERO)
    untrained = panel.prediction_view.probabilities()
    panel.set_network(trainer.network, "trained")
    assert not np.allclose(panel.prediction_view.probabilities(), untrained)  # the copy was frozen until now


def hint_pixels_on_screen(pad) -> int:
    """How many pixels of the grey "draw a digit here" hint the screen shows over the pad now.

    The screen, not ``pad.grab()``: a grab repaints the whole pad, while the screen keeps whatever
    the pad's (partial) repaints left there."""
    QApplication.processEvents()
    corner = pad.mapTo(pad.window(), QPoint(0, 0))
    shot = pad.screen().grabWindow(pad.window().winId(), corner.x(), corner.y(), pad.width(), pad.height())
    image = shot.toImage().convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes()).reshape(
        image.height(), image.bytesPerLine() // 4, 4)[:, :image.width(), 2::-1].astype(int)
    hint = np.array(HINT.getRgb()[:3])
    bluish = pixels[..., 2] - pixels[..., 0] >= 8  # the hint's blue-grey, unlike the grey edges of white ink
    return int(((np.abs(pixels - hint).max(axis=-1) <= 25) & bluish).sum())


@pytest.mark.parametrize("clear_key", [Qt.Key.Key_Escape, Qt.Key.Key_Delete, Qt.Key.Key_Backspace, "undo"],
                         ids=["esc", "delete", "backspace", "undo"])
def test_the_hint_goes_as_soon_as_the_empty_pad_is_drawn_on(qtbot, panel, clear_key):
    pad = panel.pad
    corner_stroke = [(0.1, 0.1), (0.2, 0.12), (0.25, 0.2)]  # far from the centred hint
    assert hint_pixels_on_screen(pad) > 50
    draw(qtbot, pad, corner_stroke)
    assert hint_pixels_on_screen(pad) == 0
    if clear_key == "undo":
        qtbot.keyClick(pad, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    else:
        qtbot.keyClick(pad, clear_key)
    assert pad.is_empty() and hint_pixels_on_screen(pad) > 50
    draw(qtbot, pad, corner_stroke)
    assert hint_pixels_on_screen(pad) == 0
