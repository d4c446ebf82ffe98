"""A strip of eight training digits as the network will see them under the form's augmentation.

The digits are drawn by an :class:`~nnstudio.core.augment.Augmenter` seeded afresh for every
picture, so the same strengths always show the same distortions and a slider moved back shows
the picture it left. One ImageItem holds the whole strip.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QWidget

from nnstudio.core.augment import Augmentation, Augmenter
from nnstudio.gui.naming import named

COUNT = 8
GAP = 2  # pixels between digits
SEED = 11
POOL = 16  # elastic fields drawn for the preview (the trainer draws 512)
IMAGE_SHAPE = (28, 28)
HEIGHT = 64  # pixels on screen: the digits at about twice their size


def pick_digits(images: np.ndarray, labels: np.ndarray | None, count: int = COUNT) -> np.ndarray:
    """The first training image of each digit 0, 1, 2... (``count`` of them), or the first
    ``count`` images when there are no labels or some digit is missing."""
    if labels is not None:
        firsts = [np.flatnonzero(labels == d) for d in range(count)]
        if all(len(f) for f in firsts):
            return images[[int(f[0]) for f in firsts]]
    return images[:count]


def strip(images: np.ndarray, shape: tuple[int, int] = IMAGE_SHAPE, gap: int = GAP) -> np.ndarray:
    """``(n, h*w)`` images side by side with ``gap`` pixels of paper between them, as one ``(h, W)`` array."""
    h, w = shape
    n = len(images)
    out = np.zeros((h, max(n * (w + gap) - gap, 1)), np.float32)
    for i, image in enumerate(images):
        out[:, i * (w + gap):i * (w + gap) + w] = image.reshape(h, w)
    return out


class AugmentationPreview(pg.GraphicsLayoutWidget):
    """Eight digits distorted as :meth:`set_augmentation` says; :attr:`picture` is what it shows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "augmentationPreview", "Augmentation preview",
              "Eight training digits as the network will see them with these augmentation settings")
        self.setToolTip("Eight training digits as the network will see them (load MNIST to see them)")
        self.setBackground("k")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a picture, not a control: no Tab stop
        self.ci.setContentsMargins(0, 0, 0, 0)
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.view.setDefaultPadding(0)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.setFixedHeight(HEIGHT)
        self.setMinimumWidth(120)  # the strip shrinks with the form; its aspect is kept
        self._digits: np.ndarray | None = None
        self._settings = Augmentation()
        self.picture = strip(np.zeros((COUNT, IMAGE_SHAPE[0] * IMAGE_SHAPE[1]), np.float32))
        self._show()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name): not pyqtgraph's 600x480; the form's width decides
        return QSize(200, HEIGHT)

    def wheelEvent(self, event) -> None:  # noqa: N802: the wheel scrolls the form, as over any picture
        event.ignore()

    def set_digits(self, images: np.ndarray | None, labels: np.ndarray | None = None) -> None:
        """The training images to preview (uint8 rows; the first of each digit is taken), or None."""
        self._digits = None if images is None or not len(images) else np.array(pick_digits(images, labels))
        self._render()

    def set_augmentation(self, settings: Augmentation) -> None:
        if settings != self._settings:
            self._settings = settings
            self._render()

    @property
    def has_digits(self) -> bool:
        return self._digits is not None

    def _render(self) -> None:
        if self._digits is None:
            rows = np.zeros((COUNT, IMAGE_SHAPE[0] * IMAGE_SHAPE[1]), np.float32)
        elif self._settings.problems():
            return  # keep the last picture; the form says what is wrong
        else:
            augmenter = Augmenter(self._settings, IMAGE_SHAPE, seed=SEED, pool_size=POOL)
            rows = augmenter(self._digits)
        self.picture = strip(rows)
        self._show()

    def _show(self) -> None:
        self.image.setImage(self.picture, levels=(0.0, 1.0), autoLevels=False)
        self.view.autoRange(padding=0)
