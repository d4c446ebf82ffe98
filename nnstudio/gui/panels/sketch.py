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
        if workspace.model is not None:
            self.set_network(workspace.model, workspace.model_description)  # the model itself, not a copy
        self._on_data_changed()

    def _own(self, network):
        """The workspace's model in use as it is: already a private copy, replaced but never changed in
        place, and the very network the Inside views read, so all of them share one forward pass."""
        workspace = getattr(self, "workspace", None)  # None while the base class is being built
        return network if workspace is not None and network is workspace.model else network.copy()

    @Slot()
    def _on_data_changed(self, *_: object) -> None:
        split = self.workspace.split
        if split is None:
            self.set_test_set(None, None)
        else:
            self.set_test_set(split.x_test.reshape(-1, *split.image_shape), split.y_test)
