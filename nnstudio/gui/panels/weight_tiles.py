"""The first hidden layer's units as 28×28 weight images in one mosaic, updated each epoch
while training (else the model in use); clicking a tile selects that unit."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QGraphicsRectItem, QVBoxLayout, QWidget

from nnstudio.core import weight_tiles
from nnstudio.core.diagnostics import TILE_UNITS
from nnstudio.gui.panels.inside_style import bare_plot, diverging_lut
from nnstudio.gui.steady_label import steady_label

HINT = "Red: ink there excites the unit; blue: inhibits it (each tile scaled to its own range). Click a tile."


class WeightTilesView(QWidget):
    unit_selected = Signal(int)  # a first-layer unit, clicked

    def __init__(self, workspace=None, session=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("weightTiles")
        self.setAccessibleName("First-layer weight tiles")
        self.plot = bare_plot()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(diverging_lut())
        self.image.setLevels((-1, 1))
        self.plot.addItem(self.image)
        self.highlight = QGraphicsRectItem(0, 0, 28, 28)
        self.highlight.setPen(pg.mkPen((255, 200, 0), width=2, cosmetic=True))
        self.highlight.setVisible(False)
        self.plot.addItem(self.highlight)
        self.plot.scene().sigMouseClicked.connect(self._on_clicked)
        self.caption = steady_label("weightTilesCaption", 2, "No model yet.")
        self.caption.setToolTip(HINT)
        self.plot.setToolTip(HINT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)
        self.units = 0
        self.image_shape = (28, 28)
        self.selected: int | None = None
        self._mosaic: np.ndarray | None = None
        self._training = False
        self._pending: tuple[np.ndarray, str] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self._draw_pending)
        if workspace is not None:
            workspace.model_changed.connect(self._on_model_changed)
            if workspace.model is not None:
                self._on_model_changed(workspace.model, getattr(workspace, "model_description", ""))
        if session is not None:
            session.epoch_finished.connect(self._on_epoch)
            session.started.connect(self._on_started)
            session.ended.connect(self._on_ended)
            for name in ("failed", "cleared"):  # a run that broke or was forgotten trains no more
                if hasattr(session, name):
                    getattr(session, name).connect(self._on_ended)

    # -- public API -----------------------------------------------------------------------------

    def show_weights(self, w1: np.ndarray, caption: str) -> None:
        """Show the tiles of the first-layer weights ``w1`` ``(784, units)``."""
        w1 = np.asarray(w1, dtype=np.float32)
        if w1.ndim != 2 or w1.shape[0] != self.image_shape[0] * self.image_shape[1]:
            self._mosaic = None
            self.image.clear()
            self.highlight.setVisible(False)
            self.caption.setText("The first layer does not take a 28×28 image: no tiles to show.")
            return
        total = w1.shape[1]
        w1 = w1[:, :TILE_UNITS]  # a mosaic of thousands of tiles would show nothing and cost much
        self.units = w1.shape[1]
        self._mosaic = weight_tiles.mosaic(w1, self.image_shape)
        self.image.setImage(self._mosaic, autoLevels=False, levels=(-1, 1))
        self.plot.getViewBox().autoRange(padding=0.01)
        shown = f"the first {self.units} of {total}" if total > self.units else f"the {total}"
        self.caption.setText(f"{caption}: {shown} first-layer units' weights")
        if self.selected is not None and self.selected >= self.units:
            self.selected = None
        self._place_highlight()

    def mosaic(self) -> np.ndarray | None:
        """The mosaic shown (NaN between tiles), or None; an epoch's weights not drawn yet are drawn first."""
        if self._pending is not None:
            self._draw_pending()
        return None if self._mosaic is None else self._mosaic.copy()

    def select_unit(self, unit: int | None) -> None:
        """Outline ``unit``'s tile (None: no outline); does not emit ``unit_selected``."""
        self.selected = unit if unit is not None and 0 <= unit < self.units else None
        self._place_highlight()

    def tile_center(self, unit: int) -> QPoint:
        """Where tile ``unit``'s centre is on this panel's plot widget (``self.plot``), in its pixels."""
        rows, columns = weight_tiles.grid(self.units)
        r, c = divmod(unit, columns)
        h, w = self.image_shape
        scene = self.plot.getViewBox().mapViewToScene(QPointF(c * (w + weight_tiles.GAP) + w / 2,
                                                              r * (h + weight_tiles.GAP) + h / 2))
        return self.plot.mapFromScene(scene)

    # -- helpers ----------------------------------------------------------------------------------

    def _place_highlight(self) -> None:
        if self.selected is None or self._mosaic is None:
            self.highlight.setVisible(False)
            return
        _, columns = weight_tiles.grid(self.units)
        r, c = divmod(self.selected, columns)
        h, w = self.image_shape
        self.highlight.setRect(c * (w + weight_tiles.GAP) - 0.5, r * (h + weight_tiles.GAP) - 0.5, w + 1, h + 1)
        self.highlight.setVisible(True)

    @Slot(object)
    def _on_clicked(self, event) -> None:
        if self._mosaic is None or event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.plot.getViewBox().mapSceneToView(event.scenePos())
        unit = weight_tiles.unit_at(int(np.floor(point.y())), int(np.floor(point.x())), self.units, self.image_shape)
        if unit is not None:
            self.select_unit(unit)
            self.unit_selected.emit(unit)

    @Slot(object, str)
    def _on_model_changed(self, network, description: str = "") -> None:
        if self._training:
            return  # while training, the tiles follow the epochs
        self._pending = None
        if network is None:
            self._mosaic = None
            self.image.clear()
            self.highlight.setVisible(False)
            self.caption.setText("No model yet.")
            return
        self.show_weights(network.weights[0], f"Model in use ({description})" if description else "Model in use")

    @Slot(object)
    def _on_epoch(self, report) -> None:
        d = getattr(report, "diagnostics", None)
        if d is not None and d.first_layer is not None:
            # Drawn soon, once for however many epochs came meanwhile; when hidden, when shown.
            self._pending = (d.first_layer, f"Training, epoch {report.epoch}")
            if self.isVisible() and not self._timer.isActive():
                self._timer.start()

    def _draw_pending(self) -> None:
        if self._pending is not None:
            w1, caption = self._pending
            self._pending = None
            self.show_weights(w1, caption)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._draw_pending()

    @Slot(object)
    def _on_started(self, *_: object) -> None:
        self._training = True

    @Slot(object)
    def _on_ended(self, *_: object) -> None:
        self._training = False
