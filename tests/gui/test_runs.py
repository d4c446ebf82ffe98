"""The runs list: runs kept across restarts, overlaid on the plots with a click, opened from folders."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QStyle, QStyleOptionViewItem

from nnstudio.core.config import TrainingConfig
from nnstudio.core.run_folder import save_run
from nnstudio.core.trainer import Trainer
from nnstudio.gui.runs_panel import SETTINGS_COLUMN, run_cells
from driving import run_ends

LEFT = Qt.MouseButton.LeftButton


def retype(qtbot, box, text):
    box.lineEdit().setFocus()
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(box.lineEdit(), text)
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)


def train(qtbot, window, rate: str, epochs: int = 2):
    retype(qtbot, window.controls.learning_rate_box, rate)
    retype(qtbot, window.controls.max_epochs_box, str(epochs))
    with run_ends(qtbot, window, 60_000):
        qtbot.mouseClick(window.train.start_button, LEFT)


def click_checkbox(qtbot, tree, row: int) -> None:
    """Click the tick box of a row, where the style draws it."""
    item = tree.topLevelItem(row)
    option = QStyleOptionViewItem()
    option.initFrom(tree)
    option.rect = tree.visualItemRect(item)
    option.rect.setWidth(tree.columnWidth(0))
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasDecoration
    box = tree.style().subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, tree)
    qtbot.mouseClick(tree.viewport(), LEFT, pos=box.center())


@pytest.fixture
def two_runs(qtbot, window):
    """The seed project's learning-rate experiment, short: lr 0.1 against lr 0.001."""
    train(qtbot, window, "1e-1")
    train(qtbot, window, "1e-3")
    return window


def test_every_run_is_listed_with_its_settings_and_scores(two_runs):
    runs = two_runs.train.runs_panel.runs()
    assert [r.config.learning_rate for r in runs] == [0.1, 0.001]
    fast, slow = runs
    assert fast.summary["best_val_accuracy"] > slow.summary["best_val_accuracy"]  # 0.001 crawls
    cells = run_cells(fast)
    assert cells[-1] == "lr 0.1 · 128-64 · batch 64 · patience 5"
    assert cells[1].endswith("%") and cells[2].endswith("%") and cells[3] == "2"
    tree = two_runs.train.runs_panel.tree
    assert tree.topLevelItem(1).text(SETTINGS_COLUMN).startswith("lr 0.001 ·")


def test_two_clicks_overlay_two_runs_in_their_own_colours(qtbot, two_runs):
    window = two_runs
    tree = window.train.runs_panel.tree
    fast, slow = window.train.runs_panel.runs()
    assert window.train.plots.overlay_keys() == []
    click_checkbox(qtbot, tree, 0)
    click_checkbox(qtbot, tree, 1)
    assert window.train.plots.overlay_keys() == [str(fast.folder), str(slow.folder)]
    assert window.train.plots.overlay(str(fast.folder)).color != window.train.plots.overlay(str(slow.folder)).color
    assert len(window.train.plots.overlay(str(slow.folder)).history) == 2
    click_checkbox(qtbot, tree, 0)
    assert window.train.plots.overlay_keys() == [str(slow.folder)]
    qtbot.mouseClick(window.train.runs_panel.clear_button, LEFT)
    assert window.train.plots.overlay_keys() == []


def test_runs_are_still_listed_after_a_restart(qtbot, two_runs, make_window, small_split):
    folders = [r.folder for r in two_runs.train.runs_panel.runs()]
    two_runs.close()
    again = make_window(split=small_split)
    assert [r.folder for r in again.train.runs_panel.runs()] == folders
    train(qtbot, again, "1e-2", epochs=1)
    assert len(again.train.runs_panel.runs()) == 3
    assert again.train.runs_panel.runs()[2].name.endswith("#3")  # numbering goes on


def test_a_run_saved_elsewhere_opens_and_its_model_goes_to_the_sketch_pad(qtbot, window, small_split,
                                                                          tmp_path, monkeypatch):
    # A run folder as `nnstudio-train --out` writes it.
    trainer = Trainer(TrainingConfig(max_epochs=1, hidden=(32,)), small_split)
    for _ in trainer.run():
        pass
    folder = save_run(tmp_path / "elsewhere" / "cli-run", trainer, name="from the CLI")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    window.file_actions.open_run.trigger()
    (run,) = window.train.runs_panel.runs()
    assert run.name == "from the CLI"
    assert window.train.plots.overlay_keys() == [str(folder)]

    tree = window.train.runs_panel.tree
    tree.setCurrentItem(tree.topLevelItem(0))
    qtbot.mouseClick(window.train.runs_panel.sketch_button, LEFT)
    assert window.sketch_panel.network.sizes == (784, 32, 10)
    assert "from the CLI" in window.sketch_panel.caption.text()


def test_a_folder_that_is_no_run_is_refused_with_a_reason(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    window.file_actions.open_run.trigger()
    (box,) = [b for b in window.findChildren(QMessageBox, "errorBox") if b.isVisible()]
    assert "is not a run folder" in box.text() and "no such file" in box.text()
    box.close()
    assert window.train.runs_panel.runs() == []


def test_the_runs_list_names_a_dropout_changed_live():
    from nnstudio.core.config import TrainingConfig
    from nnstudio.gui.runs_panel import settings_summary

    text = settings_summary(TrainingConfig(), {"learning_rate": 0.1, "dropout": 0.3})
    assert "dropout 0→0.3" in text and "input dropout" not in text


def fake_run(folder, seed: int, accuracy: float, group=None):
    from nnstudio.core.reports import EpochReport
    from nnstudio.core.run_folder import Run

    history = tuple(EpochReport(epoch=e, train_loss=1.0, train_accuracy=0.5, val_loss=1.0 / e,
                                val_accuracy=accuracy - 0.1 / e, learning_rate=0.1, seconds=1.0, best_epoch=e,
                                best_val_loss=1.0 / e, best_val_accuracy=accuracy, patience_left=None,
                                improved=True) for e in (1, 2))
    return Run(folder, f"run {seed}", TrainingConfig(seed=seed), history,
               {"test_accuracy": accuracy, "best_val_accuracy": accuracy, "epochs": 2, "seconds": 3.0}, "", {}, (),
               group)


def test_a_group_of_repeats_is_one_row_that_opens_to_its_runs(qtbot, tmp_path):
    from nnstudio.core.repeats import summary_text
    from nnstudio.core.run_folder import UnreadableRun
    from nnstudio.gui.runs_panel import COLUMNS, RunsPanel

    from PySide6.QtGui import QColor

    def palette(i):
        return QColor.fromHsv((i * 40) % 360, 200, 200)

    panel = RunsPanel(color_of=palette)
    qtbot.addWidget(panel)
    group = tmp_path / "20261126-120000-x3"
    alone = fake_run(tmp_path / "alone", 7, 0.95)
    members = [fake_run(group / f"seed-{k}", k, a, group) for k, a in enumerate((0.97, 0.975, 0.96))]
    panel.set_runs([alone, members[0], members[1]])
    panel.set_unreadable([UnreadableRun(tmp_path / "broken", "no model")])
    panel.add_run(members[2])  # a repeat that ends later joins its group's row
    tree = panel.tree
    assert tree.topLevelItemCount() == 3  # the lone run, the group, the unreadable folder last
    row = panel.group_item(group)
    assert tree.indexOfTopLevelItem(row) == 1 and row.childCount() == 3
    assert row.text(0) == "20261126-120000-x3 (×3)"
    assert row.text(COLUMNS.index("Test")) == summary_text([0.97, 0.975, 0.96]) == "96.83% ± 0.76 (96.00–97.50)"
    assert "seeds 0, 1, 2" in row.text(COLUMNS.index("Settings"))
    assert panel.unreadable() == [("broken (unreadable)", f"{tmp_path / 'broken'}\ncannot be read: no model")]
    assert [r.name for r in panel.runs()] == ["run 7", "run 0", "run 1", "run 2"]
    assert panel.color(members[2]) == palette(3)  # colours follow the order listed, as the plots'

    shown = []
    panel.group_toggled.connect(lambda g, on: shown.append((g.folder, len(g.runs), on)))
    ticks = []
    panel.overlay_toggled.connect(lambda run, on: ticks.append((run.name, on)))
    row.setCheckState(0, Qt.CheckState.Checked)
    row.child(1).setCheckState(0, Qt.CheckState.Checked)  # one run of the group, overlaid alone
    assert shown == [(group, 3, True)] and ticks == [("run 1", True)]
    panel.untick_all()
    assert shown[-1] == (group, 3, False) and ticks[-1] == ("run 1", False)


def test_a_runs_live_changes_are_listed_where_they_happened(qtbot, tmp_path):
    import dataclasses

    from nnstudio.core.reports import SettingChanged
    from nnstudio.gui.runs_panel import RunsPanel

    panel = RunsPanel()
    qtbot.addWidget(panel)
    run = dataclasses.replace(fake_run(tmp_path / "r", 0, 0.9),
                              setting_changes=(SettingChanged(2, 15, 40, "dropout", 0.0, 0.3),))
    item = panel.add_run(run)
    assert item.toolTip(SETTINGS_COLUMN).splitlines()[-1] == "epoch 2, batch 15: dropout 0→0.3"
