"""What the "Inside the network" panels share: the diverging colours and a bare plot."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

POSITIVE = (214, 96, 77)  # red: excites, raises a score
NEGATIVE = (67, 147, 195)  # blue: inhibits, lowers a score
LAYER_COLOURS = ((64, 156, 255), (255, 159, 64), (92, 184, 92), (200, 90, 200), (230, 200, 60), (120, 200, 200))


def diverging_lut(points: int = 256) -> np.ndarray:
    """A blue-white-red lookup table, ``(points, 3)`` uint8: -1 blue, 0 white, +1 red."""
    return pg.colormap.get("CET-D1").getLookupTable(0.0, 1.0, points, alpha=False)


def diverging_rgb(values: np.ndarray, lut: np.ndarray | None = None) -> np.ndarray:
    """Values in [-1, 1] as RGB floats in [0, 1] through :func:`diverging_lut`."""
    lut = diverging_lut() if lut is None else lut
    index = np.clip(((np.nan_to_num(values) + 1) / 2 * (len(lut) - 1)).round().astype(int), 0, len(lut) - 1)
    return lut[index].astype(np.float32) / 255


def layer_colour(i: int) -> tuple[int, int, int]:
    return LAYER_COLOURS[i % len(LAYER_COLOURS)]


def bare_plot(widget_parent=None, *, invert_y: bool = True) -> pg.PlotWidget:
    """A plot without axes, menu or mouse panning, its aspect locked: for images and diagrams."""
    plot = pg.PlotWidget(widget_parent, background=None)
    plot.hideAxis("left")
    plot.hideAxis("bottom")
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.getViewBox().setAspectLocked(True)
    plot.getViewBox().invertY(invert_y)
    return plot
