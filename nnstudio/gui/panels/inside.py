"""The "Inside the network" workspace: training diagnostics and weight tiles on the left; the
network at work on the sketch, its saliency and the probabilities with a temperature in the
middle; the neuron inspector and lab on the right. The panels talk through this container:
a clicked neuron or tile opens in the inspector, and the lab's edits show in the diagram."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QHBoxLayout, QSplitter, QWidget

from nnstudio.gui.panels.diagnostics_plots import DiagnosticsPlots
from nnstudio.gui.panels.network_view import NetworkView
from nnstudio.gui.panels.neuron_inspector import NeuronInspector
from nnstudio.gui.panels.saliency_view import SaliencyView
from nnstudio.gui.panels.temperature_bars import TemperatureBars
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
        self.bars = TemperatureBars(workspace)
        self.inspector = NeuronInspector(workspace)

        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.diagnostics)
        left.addWidget(self.tiles)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.saliency)
        bottom.addWidget(self.bars)
        middle = QSplitter(Qt.Orientation.Vertical)
        middle.addWidget(self.network_view)
        middle.addWidget(bottom)
        middle.setStretchFactor(0, 3)
        middle.setStretchFactor(1, 2)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("insideSplitter")
        for widget, stretch in ((left, 3), (middle, 4), (self.inspector, 2)):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(self.splitter.indexOf(widget), stretch)
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
        """The diagram, the saliency and the bars show the edited network (the model in use when no edit)."""
        network = edited if edited is not None else self.workspace.model
        for view in (self.network_view, self.saliency, self.bars):
            view.set_network(network)
