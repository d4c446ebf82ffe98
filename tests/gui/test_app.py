"""The app's entry points: a bug in a slot becomes a plain message; the command line is parsed."""

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

from nnstudio.gui.app import parse_args, report_unexpected_errors


def test_a_bug_in_a_slot_shows_a_message_not_a_traceback(window, qtbot, monkeypatch, caplog):
    monkeypatch.setattr(sys, "excepthook", report_unexpected_errors(window))

    def broken_slot():
        raise RuntimeError("the plot could not be drawn")

    QTimer.singleShot(0, broken_slot)
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "errorBox") is not None, timeout=3000)
    box = window.findChild(QMessageBox, "errorBox")
    assert "the plot could not be drawn" in box.text() and "Traceback" not in box.text()
    assert "unexpected error" in caplog.text and "the plot could not be drawn" in caplog.text
    box.close()


def test_command_line(tmp_path):
    args = parse_args(["--data-dir", str(tmp_path), "--runs-dir", str(tmp_path / "runs")])
    assert args.data_dir == tmp_path and args.runs_dir == tmp_path / "runs"
