"""The sweep panel, as a user: two settings, Run sweep, live curves, the table and the heatmap; Cancel."""

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from nnstudio.core.config import TrainingConfig
from nnstudio.core.sweeps import SWEEP_FILE
from driving import open_tab


TINY = TrainingConfig(hidden=(16,), max_epochs=2, patience=0, train_size=500, validation_size=1000)


@pytest.fixture
def sweeps(qtbot, make_window, mnist_dir):
    window = make_window(data_dir=mnist_dir)
    qtbot.waitUntil(lambda: window.workspace.split is not None, timeout=30_000)
    window.controls.set_config(TINY)
    teach = open_tab(qtbot, window, "Teach")
    return window, teach.show_panel("sweepPanel")


def choose(qtbot, window, k: int, setting: str, values: str) -> None:
    combo = window.findChild(object, f"sweepSetting{k}")
    combo.setCurrentIndex(combo.findData(setting) if setting != "(none)" else 0)
    if setting == "(none)":
        return
    edit = window.findChild(object, f"sweepValues{k}")
    edit.selectAll()
    qtbot.keyClicks(edit, values)


def test_a_two_setting_sweep_fills_the_curves_table_and_heatmap_and_cancel_ends_one(qtbot, sweeps):
    window, panel = sweeps
    choose(qtbot, window, 1, "lr", "0.001,0.1")
    choose(qtbot, window, 2, "hidden", "16")
    assert panel.axes_texts() == ["lr=0.001,0.1", "hidden=16"]
    with qtbot.waitSignal(panel.sweep_finished, timeout=120_000) as finished:
        qtbot.mouseClick(window.findChild(object, "startSweepButton"), Qt.MouseButton.LeftButton)
        assert window.findChild(object, "cancelSweepButton").isEnabled()
    results = finished.args[0]
    assert sorted(r.point for r in results) == [0, 1] and all(r.test_accuracy for r in results)
    assert [len(c.getData()[0]) for c in panel.curves] == [2, 2]
    table = window.findChild(object, "sweepTable")
    assert table.rowCount() == 2 and table.item(1, 0).text() == "0.1" and table.item(1, 5).text().endswith("%")
    assert panel.heatmap.isVisible() and len(panel.heat_texts) == 2
    assert (Path(panel.out) / SWEEP_FILE).exists()
    assert {run.name for run in window.workspace.runs} >= {"sweep lr=0.001 hidden=16", "sweep lr=0.1 hidden=16"}
    assert "best lr=0.1 hidden=16" in panel.status_label.text()

    # a bad value is refused; Cancel ends a sweep, keeping what finished
    choose(qtbot, window, 2, "(none)", "")
    choose(qtbot, window, 1, "lr", "0.1,fast")
    assert not panel.start() and "'fast' is not" in panel.status_label.text()
    choose(qtbot, window, 1, "lr", "0.001,0.01,0.1")
    with qtbot.waitSignal(panel.sweep_finished, timeout=120_000):
        qtbot.mouseClick(window.findChild(object, "startSweepButton"), Qt.MouseButton.LeftButton)
        qtbot.mouseClick(window.findChild(object, "cancelSweepButton"), Qt.MouseButton.LeftButton)
    assert len(panel.results) < 3 or all(r.reason in ("stopped", "max_epochs") for r in panel.results)
    assert not panel.running and window.findChild(object, "startSweepButton").isEnabled()
