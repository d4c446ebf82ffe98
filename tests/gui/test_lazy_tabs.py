"""Tabs are built when first needed: a tab the user opens only after a run, or after choosing a run in
the list, shows what it would have shown had it been open from the start."""

from __future__ import annotations

from PySide6.QtCore import Qt

from driving import open_tab, retype, run_ends
from nnstudio.core.config import TrainingConfig
from nnstudio.core.run_folder import save_run
from nnstudio.core.trainer import Trainer

def built(window) -> list[bool]:
    return [window.tabs.widget(i).built for i in range(1, window.tabs.count())]


def train_two_epochs(qtbot, window) -> None:
    c = window.controls
    for box, value in ((c.max_epochs_box, 2), (c.patience_box, 0), (c.hidden_edit, "16")):
        retype(qtbot, box, str(value))
    with run_ends(qtbot, window):
        qtbot.mouseClick(window.train.start_button, Qt.MouseButton.LeftButton)


def what_the_tabs_show(qtbot, window) -> dict:
    inside = open_tab(qtbot, window, "Inside the network")
    teach = open_tab(qtbot, window, "Teach")
    lab, replay = teach.show_panel("overfitLab"), teach.show_panel("patienceReplay")
    scrubber = window.panel("Evaluate").scrubber  # (not shown: its evaluation would cost the test seconds)
    return {"diagnostics": inside.diagnostics.epochs, "tiles": inside.tiles.caption.text(),
            "lab": [(r.epoch, r.train_loss, r.val_loss) for r in lab.history],
            "replay": replay.run_label.text(), "scrubber": (scrubber.epochs, scrubber.label.text())}


def test_tabs_first_opened_after_a_run_show_what_tabs_open_from_the_start_show(qtbot, make_window, small_split,
                                                                               tmp_path):
    seen = make_window(split=small_split, runs_root=tmp_path / "a")
    seen.build_pages()  # this window's tabs are all there from the start, as the app builds them when idle
    for title in ("Inside the network", "Teach", "Train"):
        open_tab(qtbot, seen, title)
    unseen = make_window(split=small_split, runs_root=tmp_path / "b")
    assert built(unseen) == [False, False, False]  # nothing built that nobody has looked at
    for window in (seen, unseen):
        train_two_epochs(qtbot, window)
    assert built(unseen) == [True, True, True]  # built as the run started, so they followed all of it
    before, after = what_the_tabs_show(qtbot, seen), what_the_tabs_show(qtbot, unseen)
    for window, shown in ((seen, before), (unseen, after)):  # every epoch measured (a CPU budget picks them)
        measured = [r.epoch for r in window.session.history if r.diagnostics is not None]
        assert shown.pop("diagnostics") == measured and measured
        assert shown.pop("tiles").startswith(f"Training, epoch {measured[-1]}:")  # the last measured weights
    assert before == after and len(after["lab"]) == 2 and "2 epochs" in after["replay"]


def test_a_run_chosen_before_its_tabs_were_built_is_the_run_they_show(qtbot, make_window, small_split, tmp_path):
    trainer = Trainer(TrainingConfig(hidden=(8,), max_epochs=3, patience=0), small_split.head(300, 100, 100))
    list(trainer.run())
    save_run(tmp_path / "runs" / "run", trainer, name="three epochs")
    window = make_window(split=small_split, runs_root=tmp_path / "runs")
    assert built(window) == [False, False, False]
    tree = window.train.runs_panel.tree
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(tree.topLevelItem(0)).center())
    assert window.workspace.selected_run is not None and built(window) == [True, True, True]
    scrubber = window.panel("Evaluate").scrubber
    qtbot.waitUntil(lambda: scrubber.epochs == [1, 2, 3], timeout=10_000)  # its checkpoints load off the GUI thread
    assert "three epochs" in scrubber.label.text()
    teach = open_tab(qtbot, window, "Teach")
    assert [r.epoch for r in teach.show_panel("overfitLab").history] == [1, 2, 3]
    assert "Replaying three epochs: 3 epochs" in teach.show_panel("patienceReplay").run_label.text()


def test_after_start_up_the_app_builds_the_other_tabs_once_idle(qtbot, window):
    assert built(window) == [False, False, False]
    window.build_pages_when_idle(0)
    qtbot.waitUntil(lambda: built(window) == [True, True, True])
    assert window.tabs.currentIndex() == 0 and window.train.isVisible()  # built behind the Train tab
