"""The sketch pad beside every tab: draw a digit and see what the model in use thinks."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QWidget

from nnstudio.gui.sketch_panel import SketchPanel


class SketchDockPanel(SketchPanel):
    """:class:`SketchPanel` on ``workspace``: it classifies with ``workspace.model``, samples the test
    set of ``workspace.split``, announces its input (``sketch_changed``) and shows requested images."""

    def __init__(self, workspace, parent: QWidget | None = None) -> None:
        super().__init__(workspace.model, workspace.model_description, parent, bundled=False)
        self.setObjectName("sketchPanel")
        self.setAccessibleName("Sketch a digit")
        self.workspace = workspace
        workspace.model_changed.connect(self.set_network)
        workspace.data_changed.connect(self._on_data_changed)
        workspace.pad_image_requested.connect(self.show_image)
        self.input_changed.connect(workspace.set_sketch)
        self._on_data_changed()

    @Slot()
    def _on_data_changed(self, *_: object) -> None:
        split = self.workspace.split
        if split is None:
            self.set_test_set(None, None)
        else:
            self.set_test_set(split.x_test.reshape(-1, *split.image_shape), split.y_test)
