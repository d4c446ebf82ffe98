"""Draw a digit, see what the network thinks, live: the pad, its buttons and the prediction.

Predictions follow the pen. Every change of the drawing arms a single-shot timer unless
one is already pending, so while the pen moves the panel predicts
at most every :data:`THROTTLE_MS` milliseconds, and once more the moment the pen lifts.
A prediction is preprocessing (about a millisecond) plus one forward pass (tens of
microseconds), so the pad never waits for it.

The panel owns its network: :meth:`SketchPanel.set_network` keeps a private copy, so a
training run on another thread can never change the weights under a prediction (the dock beside
the tabs uses the workspace's model in use, itself a copy never changed in place). The forward
pass is the one every view of the sketch shares (:func:`~nnstudio.core.shared_pass.shared_forward`).
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider, QVBoxLayout, QWidget

from nnstudio.core.network import Network
from nnstudio.core.preprocess import to_mnist
from nnstudio.core.shared_pass import shared_forward
from nnstudio.core.softmax import softmax
from nnstudio.gui.naming import named
from nnstudio.gui.prediction_view import PredictionView
from nnstudio.gui.sketch_pad import SketchPad
from nnstudio.gui.steady_label import SteadyLabel

log = logging.getLogger(__name__)

THROTTLE_MS = 30
NO_MODEL = "No model yet: train one or load a model file."
NO_TEST_SET = "No test set loaded: download or choose MNIST first."
#: Pen width slider, in thousandths of the canvas side.
BRUSH_RANGE = (20, 160)
BRUSH_DEFAULT = 75


class SketchPanel(QWidget):
    """A column: a :class:`SketchPad`, its Undo/Clear/Sample buttons and pen slider, a :class:`PredictionView`.

    ``network`` classifies the drawing; ``None`` loads the model bundled with nnstudio
    (or, when there is none, asks for one). ``model_description`` names it in the caption.
    """

    predicted = Signal(int, float)
    """A prediction was shown: (digit, confidence)."""
    input_changed = Signal(object)
    """The 28x28 input the network sees now (float32), or None when the pad is blank."""

    def __init__(self, network: Network | None = None, model_description: str = "",
                 parent: QWidget | None = None, *, bundled: bool = True, seed: int | None = None) -> None:
        super().__init__(parent)
        self.network: Network | None = None
        self.last_prediction: tuple[int, float] | None = None
        self._test_images: np.ndarray | None = None
        self._test_labels: np.ndarray | None = None
        self._sample_label: int | None = None
        self._rng = np.random.default_rng(seed)  # which test digits "Sample" shows (tests give a seed)

        self.pad = SketchPad()
        self.prediction_view = PredictionView()
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Remove the last stroke (Ctrl+Z)")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Wipe the pad (Esc)")
        self.sample_button = QPushButton("Sample from test set")
        self.brush_slider = QSlider(Qt.Orientation.Horizontal)
        self.brush_slider.setRange(*BRUSH_RANGE)
        self.brush_slider.setValue(BRUSH_DEFAULT)
        self.brush_slider.setToolTip("Pen width. MNIST's strokes are about 8% of the digit box.")
        # Two lines always, and a SteadyLabel: the running run's model is renamed every epoch, and a
        # QLabel's new text asked the dock and the window for a new layout each time.
        self.caption = SteadyLabel("modelCaption", lines=2)
        named(self.pad, "sketchPad", "Sketch pad", "Draw a digit with the mouse; Esc clears, Ctrl+Z undoes")
        named(self.undo_button, "undoButton", "Undo")
        named(self.clear_button, "clearButton", "Clear")
        named(self.sample_button, "sampleButton", "Sample from test set")
        named(self.brush_slider, "penWidth", "Pen width")
        named(self.caption, "modelCaption", "Model in use")
        self.pad.set_brush_fraction(BRUSH_DEFAULT / 1000)
        policy = self.pad.sizePolicy()
        policy.setVerticalPolicy(QSizePolicy.Policy.Preferred)  # the probability bars take the spare height
        self.pad.setSizePolicy(policy)

        # One column, top to bottom, as the eye follows it: draw, (fix the drawing), read the answer.
        buttons = QHBoxLayout()
        buttons.addWidget(self.undo_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        buttons.addWidget(self.sample_button)
        brush = QHBoxLayout()
        brush.addWidget(QLabel("Pen"))
        brush.addWidget(self.brush_slider, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.pad)  # as tall as it is wide (height for width): no bands around the canvas
        layout.addLayout(buttons)
        layout.addLayout(brush)
        layout.addWidget(self.prediction_view, 1)
        layout.addWidget(self.caption)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(THROTTLE_MS)
        self._timer.timeout.connect(self.predict)
        self.pad.drawing_changed.connect(self._schedule_prediction)
        self.pad.stroke_finished.connect(self.predict)
        self.undo_button.clicked.connect(self.pad.undo)
        self.clear_button.clicked.connect(self.pad.clear)
        self.sample_button.clicked.connect(self.show_random_sample)
        self.brush_slider.valueChanged.connect(self._brush_changed)

        if network is None and bundled:
            self._load_bundled_model()
        else:
            self.set_network(network, model_description)
        self.set_test_set(None, None)

    # -- API for the dashboard -------------------------------------------------------------

    def set_network(self, network: Network | None, description: str = "") -> None:
        """Classify with (a private copy of) ``network`` from now on, and re-predict the drawing.

        ``None`` removes the model. A network that does not map 784 inputs to 10 classes
        is refused with a message in the caption; the previous model stays.
        """
        if network is None:
            self.network = None
            self.caption.setText(description or NO_MODEL)
        elif network.sizes[0] != 28 * 28 or network.sizes[-1] != 10:
            self.caption.setText(f"Cannot use a {_shape(network)} network here: "
                                 "the pad needs 784 inputs (28×28) and 10 outputs.")
            return
        else:
            self.network = self._own(network)
            self.caption.setText(f"Model: {description or 'unnamed'} ({_shape(network)})")
        self.predict()

    def set_test_set(self, images: np.ndarray | None, labels: np.ndarray | None) -> None:
        """Offer samples from ``images`` ((n, 28, 28) uint8) and their ``labels``, or none."""
        if images is None or labels is None or len(images) == 0:
            self._test_images = self._test_labels = None
            self.sample_button.setEnabled(False)
            self.sample_button.setToolTip(NO_TEST_SET)
            return
        images = np.asarray(images)
        if images.ndim == 2:
            images = images.reshape(len(images), 28, 28)
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} test images but {len(labels)} labels")
        self._test_images, self._test_labels = images, np.asarray(labels)
        self.sample_button.setEnabled(True)
        self.sample_button.setToolTip(f"Show one of the {len(images):,} test digits, which the "
                                      "network never trained on")

    @Slot()
    def show_random_sample(self) -> None:
        """Put a random test digit on the pad and predict it, showing its true label."""
        if self._test_images is None:
            return
        self.show_sample(int(self._rng.integers(len(self._test_images))))

    def show_sample(self, index: int) -> None:
        """Put test digit number ``index`` on the pad and predict it, showing its true label."""
        self._sample_label = int(self._test_labels[index])
        self.pad.set_image(np.asarray(self._test_images[index], dtype=np.uint8))
        self.predict()

    @Slot(object, object)
    def show_image(self, image: np.ndarray, label: int | None = None) -> None:
        """Put a 28x28 uint8 ``image`` on the pad and predict it, showing its true ``label`` if given."""
        self._sample_label = None if label is None else int(label)
        self.pad.set_image(np.asarray(image, dtype=np.uint8))
        self.predict()

    @property
    def shown_label(self) -> int | None:
        """The true label of the test digit on the pad, or ``None`` once the user draws on it."""
        return self._sample_label if self.pad.shows_untouched_sample() else None

    @Slot()
    def predict(self) -> None:
        """Classify what the pad shows now and display it (the placeholder when the pad is blank)."""
        self._timer.stop()
        if self.network is None:
            self._show_nothing("No model", NO_MODEL)
            return
        digit_input = None if self.pad.is_empty() else to_mnist(self.pad.image())
        self.input_changed.emit(digit_input)
        if digit_input is None:
            self._show_nothing()
            return
        logits = np.asarray(shared_forward(self.network, digit_input).logits[0])
        probabilities = softmax(logits)  # the network's own (temperature 1)
        digit = int(probabilities.argmax())
        confidence = float(probabilities[digit])
        self.prediction_view.show_prediction(probabilities, digit_input, self.shown_label, logits=logits)
        self.last_prediction = (digit, confidence)
        self.predicted.emit(digit, confidence)

    # -- internals ---------------------------------------------------------------------------

    def _own(self, network: Network) -> Network:
        """The network to classify with: a private copy of ``network``."""
        return network.copy()

    @property
    def throttle_ms(self) -> int:
        """While the pen moves, predict at most this often."""
        return self._timer.interval()

    @throttle_ms.setter
    def throttle_ms(self, ms: int) -> None:
        self._timer.setInterval(int(ms))

    @Slot()
    def _schedule_prediction(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    @Slot(int)
    def _brush_changed(self, value: int) -> None:
        self.pad.set_brush_fraction(value / 1000)

    def _show_nothing(self, message: str = "Draw a digit", detail: str = "") -> None:
        self.last_prediction = None
        self.prediction_view.show_placeholder(message, detail)

    def _load_bundled_model(self) -> None:
        from nnstudio.gui.workspace import bundled_model

        self.set_network(*bundled_model())


def _shape(network: Network) -> str:
    return "–".join(str(s) for s in network.sizes)
