"""Reading what a widget or a PNG shows, for tests that check colours on screen."""

import numpy as np
from PySide6.QtGui import QColor, QImage


def rgb(image: QImage) -> np.ndarray:
    """The image as an (h, w, 3) uint8 array of red, green, blue."""
    image = image.convertToFormat(QImage.Format_RGB32)
    data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes()).copy()  # outlives image
    return data.reshape(image.height(), image.bytesPerLine() // 4, 4)[:, :image.width(), 2::-1]


def count_colour(pixels: np.ndarray, colour: str, tolerance: int = 12) -> int:
    """How many pixels are within ``tolerance`` of ``colour`` in every channel."""
    target = np.array(QColor(colour).getRgb()[:3])
    return int((np.abs(pixels.astype(int) - target).max(axis=-1) <= tolerance).sum())
