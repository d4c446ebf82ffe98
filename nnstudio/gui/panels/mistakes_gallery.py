"""The mistakes gallery: misclassified digits, most confident mistakes first, drawn as one image mosaic.

Each tile is captioned ``true>predicted confidence%``; hovering shows the top three answers; a
click puts the digit on the sketch pad (through the workspace). Filters by true and predicted digit,
set by the menus or by a click on the confusion matrix; a diagonal cell shows its correct answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from nnstudio.core.evaluation import Evaluation
from nnstudio.core.mosaic import Layout, mosaic
from nnstudio.gui.colors import BACKGROUND
from nnstudio.gui.steady_label import SteadyLabel

SHOWN = 60  # tiles at most
COLUMNS = 10
SCALE = 2


@dataclass(frozen=True, eq=False)
class GalleryPicture:
    """What the gallery shows for one evaluation and filter (plain data: drawn on any thread)."""

    filter: tuple[int | None, int | None]
    shown: np.ndarray  # evaluated-set indices of the tiles, in order
    caption: str
    picture: np.ndarray | None  # the mosaic, None when nothing matches
    layout: Layout | None


def gallery_picture(result: Evaluation, images: np.ndarray, true: int | None, predicted: int | None) -> GalleryPicture:
    """The tiles, caption and mosaic of ``result``'s images matching the filter (most confident first).
    The evaluation job draws it for the filter of the moment, so the window only shows it."""
    if true is not None and true == predicted:
        matches = result.images_in_cell(true, predicted)
        what = f"{len(matches):,} images of {true} read correctly"
    else:
        matches = result.mistakes(true, predicted)
        parts = [f"true {true}" if true is not None else "", f"read as {predicted}" if predicted is not None else ""]
        where = " and ".join(p for p in parts if p)
        what = f"{len(matches):,} mistakes" + (f" ({where})" if where else "")
    shown = matches[:SHOWN]
    more = f"; the {len(shown)} most confident shown" if len(matches) > SHOWN else ""
    hint = " Click one to put it on the sketch pad." if len(shown) else ""
    if not len(shown):
        return GalleryPicture((true, predicted), shown, f"{what}{more}.{hint}", None, None)
    captions = [f"{result.labels[i]}>{result.predictions[i]} {min(99, int(result.confidence[i] * 100))}%"
                for i in shown.tolist()]
    picture, grid = mosaic(images[shown], columns=COLUMNS, scale=SCALE, captions=captions, background=255, gap=4)
    return GalleryPicture((true, predicted), shown, f"{what}{more}.{hint}", picture, grid)


class MistakesGallery(QWidget):
    """``image_clicked(index)``: the index, in the evaluated set, of a clicked digit."""

    image_clicked = Signal(int)
    filter_changed = Signal(object, object)  # true, predicted (None: any)

    def __init__(self, workspace=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mistakesGallery")
        self.setAccessibleName("Mistakes gallery")
        self.workspace = workspace
        self._evaluation: Evaluation | None = None
        self._images: np.ndarray | None = None
        self._shown = np.empty(0, np.intp)
        self._full = None  # the layout of a full gallery (the view frames it)
        self._layout: Layout | None = None

        self.true_filter = self._digit_menu("galleryTrueFilter", "Filter by true digit", "true: any")
        self.predicted_filter = self._digit_menu("galleryPredictedFilter", "Filter by predicted digit",
                                                 "predicted: any")
        self.all_button = QPushButton("All")
        self.all_button.setObjectName("galleryShowAll")
        self.all_button.setAccessibleName("Show all mistakes")
        self.all_button.setToolTip("Show all mistakes (clear the filters)")
        self.all_button.setMinimumWidth(40)
        self.all_button.clicked.connect(lambda: self.set_filter(None, None))
        self.caption = SteadyLabel("galleryCaption", 2, "No evaluation yet")  # new text: no relayout
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("mistakesGalleryView")
        self.graphics.setBackground(BACKGROUND)
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)

        bar = QHBoxLayout()
        bar.addWidget(self.true_filter)
        bar.addWidget(self.predicted_filter)
        bar.addWidget(self.all_button)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.caption)
        layout.addWidget(self.graphics, 1)
        self.graphics.scene().sigMouseMoved.connect(self._on_moved)
        self.graphics.scene().sigMouseClicked.connect(self._on_clicked)

    def _digit_menu(self, name: str, accessible: str, any_text: str) -> QComboBox:
        menu = QComboBox()
        menu.setObjectName(name)
        menu.setAccessibleName(accessible)
        menu.addItem(any_text, None)
        for d in range(10):
            menu.addItem(f"{any_text.split(':')[0]}: {d}", d)
        menu.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        menu.setMinimumContentsLength(6)
        menu.setMinimumWidth(70)
        menu.currentIndexChanged.connect(self._on_menu)
        return menu

    # -- what is shown ---------------------------------------------------------------------------

    @property
    def filter(self) -> tuple[int | None, int | None]:
        return self.true_filter.currentData(), self.predicted_filter.currentData()

    def shown_indices(self) -> np.ndarray:
        """The indices (in the evaluated set) of the tiles shown, in order."""
        return self._shown.copy()

    def set_evaluation(self, evaluation: Evaluation | None, images: np.ndarray | None,
                       drawn: GalleryPicture | None = None) -> None:
        """Show ``evaluation``'s mistakes of ``images`` (uint8 rows of the evaluated set); ``drawn``: the
        gallery already drawn off the GUI thread (:func:`gallery_picture`), used if its filter is still on."""
        self._evaluation, self._images = evaluation, images
        self._refresh(drawn if drawn is not None and drawn.filter == self.filter else None)

    def set_filter(self, true: int | None, predicted: int | None) -> None:
        for menu, value in ((self.true_filter, true), (self.predicted_filter, predicted)):
            menu.blockSignals(True)
            menu.setCurrentIndex(0 if value is None else value + 1)
            menu.blockSignals(False)
        self._refresh()
        self.filter_changed.emit(true, predicted)

    def _on_menu(self) -> None:
        self._refresh()
        self.filter_changed.emit(*self.filter)

    def _refresh(self, drawn: GalleryPicture | None = None) -> None:
        result = self._evaluation
        if result is None or self._images is None:
            self._shown = np.empty(0, np.intp)
            self.image.clear()
            self.caption.setText("No evaluation yet")
            return
        drawn = drawn or gallery_picture(result, self._images, *self.filter)
        self._shown = drawn.shown
        self.caption.setText(drawn.caption)
        if drawn.picture is None:
            self.image.clear()
            self._layout = None
            return
        self._layout = drawn.layout
        self.image.setImage(drawn.picture, autoLevels=False, levels=(0, 255))
        if self._full is None:  # the frame of a full gallery, the same every time: laid out once
            self._full = mosaic(np.zeros((SHOWN, 784), np.uint8), columns=COLUMNS, scale=SCALE,
                                captions=[""] * SHOWN, gap=4)[1]
            self.view.setRange(xRange=(0, self._full.width), yRange=(0, self._full.height), padding=0.01)

    # -- the mouse -----------------------------------------------------------------------------

    def tile_at(self, scene_pos: QPointF) -> int | None:
        """The evaluated-set index of the tile under ``scene_pos``, or None."""
        if self._layout is None:
            return None
        point = self.view.mapSceneToView(scene_pos)
        tile = self._layout.tile_at(point.y(), point.x(), len(self._shown))
        return None if tile is None else int(self._shown[tile])

    def tile_center(self, position: int) -> QPoint:
        """Where the ``position``-th tile shown lies in :attr:`graphics`' viewport, for a click."""
        grid = self._layout
        row, col = divmod(position, grid.columns)
        point = QPointF(col * grid.cell_w + grid.tile_w / 2, row * grid.cell_h + grid.tile_h / 2)
        return self.graphics.mapFromScene(self.view.mapViewToScene(point))

    def describe(self, index: int) -> str:
        r = self._evaluation
        top = ", ".join(f"{c} ({p:.1%})" for c, p in zip(r.top_classes[index], r.top_probabilities[index]))
        return f"Image {index}: true {r.labels[index]}, read as {r.predictions[index]}. Top 3: {top}"

    def _on_moved(self, scene_pos: QPointF) -> None:
        index = self.tile_at(scene_pos)
        self.graphics.setToolTip("" if index is None else self.describe(index))

    def _on_clicked(self, event) -> None:
        index = self.tile_at(event.scenePos())
        if index is None:
            return
        if self.workspace is not None:
            self.workspace.request_pad_image(self._images[index].reshape(28, 28), int(self._evaluation.labels[index]))
        self.image_clicked.emit(index)
