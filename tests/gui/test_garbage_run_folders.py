"""Property: whatever garbage lands in any file of a real run folder or in the settings file, the app
opens, lists what it can (the rest as unreadable, with a reason) and no exception escapes.

Hypothesis draws the damage (seeded: the same examples every run, few of them, since each opens a
window, plus explicit ones for what those miss); pytest-qt fails the test if any exception reaches
Qt's event loop.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QSettings

from nnstudio.core.config import TrainingConfig
from nnstudio.core.model_file import load_model, save_model
from nnstudio.core.run_folder import HISTORY, MODEL, PLOT, save_run
from nnstudio.core.trainer import Trainer
from nnstudio.gui.history_png import write_history_png
from nnstudio.gui.main_window import MainWindow
from nnstudio.gui.panels.runs_list import RunsListPanel
from nnstudio.gui.settings import Settings

FILES = (MODEL, HISTORY, PLOT, "settings")
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=8)
FEW = settings(max_examples=3, derandomize=True, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def template(small_split, tmp_path_factory) -> Path:
    """A real run folder: model, history CSV and picture of a short run on real digits."""
    trainer = Trainer(TrainingConfig(hidden=(8,), max_epochs=2, patience=0), small_split.head(300, 100, 100))
    list(trainer.run())
    folder = save_run(tmp_path_factory.mktemp("template") / "run", trainer, name="real run")
    write_history_png(folder / PLOT, trainer.history)
    return folder


@st.composite
def damage(draw):
    target = draw(st.sampled_from(FILES))
    how = draw(st.sampled_from(("random bytes", "flipped bytes", "truncated", "json")))
    payload = draw(st.binary(max_size=300)) if how == "random bytes" else draw(JSON)
    cut = draw(st.floats(0, 1))
    flips = draw(st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=8))
    return target, how, payload, cut, flips


def apply(damage_, folder: Path, ini: Path) -> None:
    target, how, payload, cut, flips = damage_
    path = ini if target == "settings" else folder / target
    if target == "settings":
        QSettings(str(ini), QSettings.Format.IniFormat).sync()
        original = b"[training]\nconfig=" + json.dumps(TrainingConfig().to_dict()).encode() + \
            b"\npreset=seed\n[window]\ntab=1\n[data]\nfolder=/nowhere\n[view]\nlog_loss=true\n"
    else:
        original = path.read_bytes()
    if how == "random bytes":
        data = payload
    elif how == "truncated":
        data = original[: int(cut * len(original))]
    elif how == "flipped bytes":
        data = bytearray(original)
        for where, xor in flips:
            if data:
                data[min(int(where * len(data)), len(data) - 1)] ^= xor
        data = bytes(data)
    elif target == MODEL:  # valid weights, metadata fields replaced by arbitrary JSON
        saved = load_model(path)
        keys = ("history", "summary", "config", "live_settings", "name", "created")
        save_model(path, saved.network, metadata={**saved.metadata, keys[int(cut * 5.99)]: payload})
        return
    elif target == "settings":
        data = b"[training]\nconfig=" + json.dumps(payload).encode() + b"\n[window]\ntab=" + \
            json.dumps(payload).encode()[:40] + b"\n"
    else:
        data = json.dumps(payload).encode()
    path.write_bytes(data)


@FEW
@given(damage_=damage())
# Each example opens a window (about a second): a few drawn ones, and these that cover every file and
# every kind of damage the drawn ones miss.
@example(damage_=(MODEL, "truncated", None, 0.5, [(0.0, 1)]))
@example(damage_=(MODEL, "json", {"epochs": [None, 1.5]}, 0.0, [(0.0, 1)]))
@example(damage_=(HISTORY, "flipped bytes", None, 0.0, [(0.1, 255), (0.6, 7), (0.9, 128)]))
@example(damage_=("settings", "json", [1, "x", {"a": None}], 0.0, [(0.0, 1)]))
@example(damage_=("settings", "truncated", None, 0.3, [(0.0, 1)]))
def test_garbage_in_any_run_file_or_the_settings_never_stops_the_app(qtbot, template, small_split, tmp_path_factory,
                                                                     caplog, damage_):
    root = tmp_path_factory.mktemp("garbage")
    folder = root / "runs" / "run"
    shutil.copytree(template, folder)
    ini = root / "settings.ini"
    apply(damage_, folder, ini)
    caplog.clear()
    caplog.set_level(logging.INFO)
    window = MainWindow(Settings(QSettings(str(ini), QSettings.Format.IniFormat)), root / "runs",
                        split=small_split.head(300, 100, 100))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    panel = window.findChild(RunsListPanel)
    listed, unreadable = panel.runs(), panel.unreadable()
    assert len(listed) + len(unreadable) == 1  # the run is listed, readable or not
    if damage_[0] in (HISTORY, PLOT, "settings"):  # the model holds the history: the run still reads
        assert [r.name for r in listed] == ["real run"]
    if unreadable:
        assert unreadable[0][0] == "run (unreadable)" and "cannot be read: " in unreadable[0][1]
    assert "Traceback" not in caplog.text
    window.close()
