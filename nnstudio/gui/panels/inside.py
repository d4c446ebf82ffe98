"""The "Inside the network" workspace: training diagnostics along the top; below, the first
layer's weight tiles, the network at work on the sketch with its saliency, and the neuron
inspector and lab. (The probabilities, with their temperature, are the sketch pad's own bars,
beside every tab.) The panels talk through this container:
a clicked neuron or tile opens in the inspector, and the lab's edits show in the diagram."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QSplitter, QWidget

from nnstudio.gui.panels.diagnostics_plots import DiagnosticsPlots
from nnstudio.gui.panels.network_view import NetworkView
from nnstudio.gui.panels.neuron_inspector import NeuronInspector
from nnstudio.gui.panels.saliency_view import SaliencyView
from nnstudio.gui.panels.weight_tiles import WeightTilesView


class InsidePanel(QWidget):
    def __init__(self, workspace, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("insidePanel")
        self.setAccessibleName("Inside the network")
        self.workspace = workspace
        self.diagnostics = DiagnosticsPlots(session)
        self.tiles = WeightTilesView(workspace, session)
        self.network_view = NetworkView(workspace)
        self.saliency = SaliencyView(workspace)
        self.inspector = NeuronInspector(workspace)

        # Top: how training changes the layers. Below: the first layer's tiles; the network at
        # work on the sketch with its saliency; the neuron inspector and lab.
        middle = QSplitter(Qt.Orientation.Vertical)
        middle.addWidget(self.network_view)
        middle.addWidget(self.saliency)
        middle.setStretchFactor(0, 3)
        middle.setStretchFactor(1, 2)
        middle.setSizes([300, 200])
        inspector = QScrollArea()  # tall: it scrolls rather than making the window taller
        inspector.setWidget(self.inspector)
        inspector.setWidgetResizable(True)
        inspector.setFrameShape(QFrame.Shape.NoFrame)
        inspector.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inspector.setMinimumWidth(self.inspector.minimumSizeHint().width() + 16)
        below = QSplitter(Qt.Orientation.Horizontal)
        for widget, stretch in ((self.tiles, 2), (middle, 4), (inspector, 2)):
            below.addWidget(widget)
            below.setStretchFactor(below.indexOf(widget), stretch)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("insideSplitter")
        self.splitter.addWidget(self.diagnostics)
        self.splitter.addWidget(below)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([240, 600])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.splitter)

        self.network_view.neuron_selected.connect(self.inspector.select_neuron)
        self.tiles.unit_selected.connect(self._on_tile_selected)
        self.inspector.network_edited.connect(self._on_network_edited)

    @Slot(int)
    def _on_tile_selected(self, unit: int) -> None:
        self.inspector.select_neuron(1, unit)
        self.network_view.select(1, unit)

    @Slot(object)
    def _on_network_edited(self, edited) -> None:
        """The diagram and the saliency show the edited network (the model in use when no edit)."""
        network = edited if edited is not None else self.workspace.model
        for view in (self.network_view, self.saliency):
            view.set_network(network)
