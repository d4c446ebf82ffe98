"""Issue 8 in the app: malformed runs and settings never stop it opening; downloads never touch the
user's files; a failed save leaves nothing half done; $NNSTUDIO_DATA is not remembered."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

import nnstudio.gui.data_dialogs as data_dialogs
from hostile import set_encrypted_flag
from nnstudio.core import atomic_file
from nnstudio.core.config import PRESETS, TrainingConfig
from nnstudio.core.model_file import load_model, save_model
from nnstudio.core.run_folder import MODEL, save_run
from nnstudio.core.trainer import Trainer
from nnstudio.gui.app import parse_args
from nnstudio.gui.panels.runs_list import RunsListPanel
from nnstudio.gui.settings import Settings

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(scope="module")
def trained(small_split):
    trainer = Trainer(TrainingConfig(hidden=(16,), max_epochs=2, patience=0), small_split.head(600, 200, 200))
    list(trainer.run())
    return trainer


def damage(folder: Path, **changes) -> None:
    saved = load_model(folder / MODEL)
    save_model(folder / MODEL, saved.network, metadata={**saved.metadata, **changes})


def broken_runs(root: Path, trained) -> None:
    """One good run and three the app cannot read: Infinity epoch, a 400-digit figure, encrypted entries."""
    save_run(root / "good", trained, name="good one")
    inf = save_run(root / "infinity", trained)
    rows = [dict(r, epoch=float("inf")) for r in load_model(inf / MODEL).metadata["history"]]
    damage(inf, history=rows)
    damage(save_run(root / "huge", trained), summary={"epochs": 10 ** 400})
    set_encrypted_flag(save_run(root / "locked", trained) / MODEL)


def test_app_opens_with_malformed_runs_and_lists_them_as_unreadable(make_window, small_split, trained, tmp_path,
                                                                    caplog):
    broken_runs(tmp_path / "runs", trained)
    window = make_window(split=small_split)
    panel = window.findChild(RunsListPanel)
    assert [r.name for r in panel.runs()] == ["good one"]
    rows = dict(panel.unreadable())
    assert set(rows) == {"infinity (unreadable)", "huge (unreadable)", "locked (unreadable)"}
    assert "epoch is inf" in rows["infinity (unreadable)"]
    assert "encrypted" in rows["locked (unreadable)"]
    assert "out of range" in rows["huge (unreadable)"]
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("value", ["[1, 2]", '"fast"', "3", "null", "{", '{"hidden": [1e999]}'])
def test_settings_valid_json_but_not_an_object_fall_back_to_defaults_with_one_log_line(
        make_window, small_split, tmp_path, caplog, value):
    store = QSettings(str(tmp_path / "odd.ini"), QSettings.Format.IniFormat)
    store.setValue("training/config", value)
    caplog.set_level(logging.WARNING)
    window = make_window(split=small_split, settings_=Settings(store))
    assert window.controls.config() == PRESETS["seed"]  # the form's defaults
    lines = [r for r in caplog.records if "saved training settings cannot be used" in r.getMessage()]
    assert len(lines) == 1


def test_download_goes_into_the_own_cache_never_the_users_folder(qtbot, make_window, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from nnstudio.core.mnist import default_data_dir

    mine = tmp_path / "my-digits"
    mine.mkdir()
    (mine / "train-images-idx3-ubyte").write_bytes(b"the user's own file")
    asked = []

    def fake_download(dest, *, progress, cancel):
        asked.append(Path(dest))
        raise data_dialogs.DownloadCancelled("stop here")

    monkeypatch.setattr(data_dialogs, "download_mnist", fake_download)
    window = make_window(data_dir=mine)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=20_000)
    qtbot.mouseClick(window.banner.download_button, LEFT)
    qtbot.waitUntil(lambda: bool(asked) and window.banner.download_dialog is None, timeout=20_000)
    assert asked == [default_data_dir()]
    assert (mine / "train-images-idx3-ubyte").read_bytes() == b"the user's own file"


def test_a_failed_gui_save_leaves_no_empty_run_folder(qtbot, make_window, small_split, tmp_path, monkeypatch):
    from driving import run_ends

    window = make_window(split=small_split.head(300, 100, 100))
    window.controls.set_config(TrainingConfig(hidden=(8,), max_epochs=1, patience=0), "custom")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_file.os, "fsync", disk_full)
    with qtbot.waitSignal(window.session.save_failed, timeout=30_000) as failure:
        with run_ends(qtbot, window):
            qtbot.mouseClick(window.train.start_button, LEFT)
    monkeypatch.undo()
    assert "No space left" in failure.args[0]
    for box in window.findChildren(QMessageBox):
        box.close()
    runs_root = tmp_path / "runs"
    assert not runs_root.exists() or list(runs_root.iterdir()) == []


def test_tilde_is_expanded_in_runs_dir_and_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    args = parse_args(["--runs-dir=~/runs", "--data-dir", "~/data"])
    assert args.runs_dir == tmp_path / "runs" and args.data_dir == tmp_path / "data"


def test_a_data_folder_from_nnstudio_data_is_not_remembered(qtbot, make_window, settings, mnist_dir, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA", str(mnist_dir))
    window = make_window()
    qtbot.waitUntil(lambda: window.workspace.split is not None, timeout=20_000)
    assert window.workspace.data_folder == mnist_dir
    window.close()
    assert settings.data_dir is None


def test_a_thousand_runs_list_in_the_background_without_blocking_the_window(qtbot, make_window, small_split,
                                                                           trained, tmp_path):
    import shutil

    from nnstudio.gui.main_window import RUNS_LISTED_AT_ONCE

    root = tmp_path / "runs"
    first = save_run(root / "run-0000", trained)
    count = 3 * RUNS_LISTED_AT_ONCE  # enough for the background path; benchmarks/list_runs.py times 1,000
    for i in range(1, count):
        shutil.copytree(first, root / f"run-{i:04d}")
    (root / "run-0001" / MODEL).write_bytes(b"garbage")
    window = make_window(split=small_split)
    panel = window.findChild(RunsListPanel)
    assert window.workspace.runs_thread is not None  # listing goes on while the window is up
    qtbot.waitUntil(lambda: len(panel.runs()) + len(panel.unreadable()) == count, timeout=60_000)
    assert [name for name, _ in panel.unreadable()] == ["run-0001 (unreadable)"]
    assert [r.folder.name for r in panel.runs()][:3] == ["run-0000", "run-0002", "run-0003"]


@pytest.mark.parametrize("tab", ["99999999999999999999", "²", "-1", "1e3", "\x00"])
def test_an_odd_remembered_tab_opens_on_the_first_tab(make_window, small_split, tmp_path, tab):
    store = QSettings(str(tmp_path / "tab.ini"), QSettings.Format.IniFormat)
    store.setValue("window/tab", tab)
    window = make_window(split=small_split, settings_=Settings(store))
    assert window.tabs.currentIndex() == 0
