"""The studio's colours, in one module that loads no widgets (``nnstudio-train`` draws its PNG with them).

The Okabe-Ito palette: distinguishable with every common colour-vision deficiency. The plots follow
the system palette: dark text on a light card, or light text on a dark one (:func:`plot_colors`).
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette

BLUE, ORANGE, GREEN = "#0072B2", "#E69F00", "#009E73"
VERMILLION, PURPLE, SKY_BLUE, YELLOW = "#D55E00", "#CC79A7", "#56B4E9", "#F0E442"
TRAIN_COLOR, VALIDATION_COLOR, BEST_COLOR = BLUE, ORANGE, GREEN
CHANGE_COLOR = "#6E6E6E"
# Comparison runs: the live run's own colours come last, so the first five never clash with it.
RUN_COLORS = (PURPLE, VERMILLION, "#3A3A3A", SKY_BLUE, "#B8A300", GREEN, BLUE, ORANGE)
BACKGROUND, FOREGROUND = "#ffffff", "#303030"  # the light card (and the exported PNGs)
DARK_BACKGROUND, DARK_FOREGROUND = "#1e1f22", "#d8d8d8"


def run_color(index: int) -> QColor:
    """The colour of the ``index``-th run in comparisons (the runs list uses it too); cycles after 8."""
    return QColor(RUN_COLORS[index % len(RUN_COLORS)])


def is_dark(palette: QPalette) -> bool:
    """The palette draws light text on a dark window (a dark system theme)."""
    return palette.color(QPalette.ColorRole.Window).lightness() < palette.color(
        QPalette.ColorRole.WindowText).lightness()


def plot_colors(palette: QPalette) -> tuple[QColor, QColor]:
    """The plots' background and foreground (axes, text) under ``palette``."""
    if is_dark(palette):
        return QColor(DARK_BACKGROUND), QColor(DARK_FOREGROUND)
    return QColor(BACKGROUND), QColor(FOREGROUND)
