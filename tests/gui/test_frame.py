"""The frame: a run session driven without a window, the tabs and the dock, names for automation, and
the keyboard (Space acts on the focused widget)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QAbstractSlider, QAbstractSpinBox, QComboBox,
                               QLineEdit, QScrollBar, QTabBar)

from nnstudio.core.config import TrainingConfig
from nnstudio.gui.run_session import RunSession
from nnstudio.gui.workspace import Workspace
from driving import run_ends

LEFT = Qt.MouseButton.LeftButton
AUTOMATION_NAMES = ("startButton pauseButton stopButton oneMoreButton resetButton learningRate patience maxEpochs "
                    "batchSize hiddenLayers momentum sketchPad predictionLabel probabilityBars runsTree").split()


def test_a_session_runs_saves_and_lists_a_run_without_any_window(qtbot, small_split, tmp_path):
    workspace = Workspace(tmp_path / "runs", load_bundled=False)
    session = RunSession(workspace)
    phases, epochs, models, saved = [], [], [], []
    session.phase_changed.connect(phases.append)
    session.epoch_finished.connect(epochs.append)
    session.best_network_changed.connect(lambda network, report: models.append(report.epoch))
    session.saved.connect(saved.append)
    with qtbot.waitSignal(session.phase_changed, timeout=60_000, check_params_cb=lambda phase: phase == "idle"):
        assert session.start(TrainingConfig(max_epochs=2, patience=0), small_split.head(500, 200, 200), "seed")
    assert phases == ["running", "ending", "saving", "idle"]
    assert [r.epoch for r in epochs] == [1, 2] and session.history == epochs
    assert models == [r.epoch for r in epochs if r.improved]
    assert session.last_result.message == "reached the maximum of 2 epochs"
    (run,) = saved
    assert workspace.runs == [run] and run.name == "seed #1" and len(run.history) == 2
    assert session.can_continue and not session.busy


def test_the_window_has_tabs_and_a_sketch_dock_seen_from_every_tab(qtbot, window):
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles[:3] == ["Train", "Evaluate", "Inside the network"]
    assert [window.panel(title).objectName() for title in titles[:3]] == ["trainPanel", "evaluatePanel", "insidePanel"]
    for index in range(3):
        window.tabs.setCurrentIndex(index)
        qtbot.waitUntil(lambda: window.sketch_panel.pad.isVisible())


def test_every_control_has_an_object_name_and_an_accessible_name(window):
    for name in AUTOMATION_NAMES:
        widget = window.findChild(QAbstractButton, name) or window.findChild(QAbstractSpinBox, name) or \
            window.findChild(QLineEdit, name) or window.findChild(QAbstractItemView, name) or \
            window.findChild(type(window.sketch_panel.pad), name) or window.findChild(type(window.status), name)
        assert widget is not None or window.findChildren(object, name), name
    kinds = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QAbstractSlider, QAbstractItemView)
    controls = [w for kind in kinds for w in window.centralWidget().findChildren(kind)
                + window.sketch_dock.widget().findChildren(kind)]
    own = [w for w in controls if not isinstance(w, QScrollBar) and not inside_a_control(w)]
    assert len(own) >= 25
    unnamed = [w for w in own if not w.objectName() or not w.accessibleName()]
    assert not unnamed, [(type(w).__name__, w.objectName(), w.accessibleName()) for w in unnamed]


def inside_a_control(widget) -> bool:
    """A part of another control (a spin box's text field, a list's header, a combo box's popup list)."""
    parent = widget.parent()
    while parent is not None:
        if isinstance(parent, (QAbstractSpinBox, QAbstractItemView, QComboBox, QTabBar)):
            return True
        parent = parent.parent()
    return False


@pytest.mark.parametrize("target", ["nesterov", "logLoss", "runsTree"])
def test_space_acts_on_the_focused_widget_and_does_not_start_a_run(qtbot, window, target):
    if target == "runsTree":  # a run to tick with the keyboard
        with run_ends(qtbot, window):
            window.controls.max_epochs_box.setValue(1)
            qtbot.mouseClick(window.train.start_button, LEFT)
    widget = window.findChild(QAbstractButton, target) or window.findChild(QAbstractItemView, target)
    if target == "runsTree":
        widget.setCurrentItem(widget.topLevelItem(0))
        checked = lambda: widget.topLevelItem(0).checkState(0) == Qt.CheckState.Checked  # noqa: E731
    else:
        checked = widget.isChecked
    before = checked()
    widget.setFocus()
    qtbot.keyClick(widget, Qt.Key.Key_Space)
    assert checked() != before, "Space toggled the focused widget"
    assert not window.session.busy, "and did not start a run"
    if target == "runsTree":
        assert window.workspace.compared and window.train.plots.overlay_keys()
