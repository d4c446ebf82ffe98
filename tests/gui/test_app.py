"""The app's entry points: a bug in a slot becomes a plain message; the command line is parsed."""

import os
import select
import signal
import subprocess
import sys
import time

import pytest
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


def start_app(tmp_path) -> subprocess.Popen:
    """``nnstudio`` in its own process, offscreen, on an empty data folder and its own settings."""
    empty = tmp_path / "data"
    empty.mkdir()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    return subprocess.Popen([sys.executable, "-m", "nnstudio", "--data-dir", str(empty), "--runs-dir",
                             str(tmp_path / "runs")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_ctrl_c_in_the_terminal_quits_cleanly(tmp_path):
    """SIGINT closes the window as File > Quit does and the app exits with 0, without a traceback."""
    app = start_app(tmp_path)
    try:
        started, deadline = b"", time.monotonic() + 60
        while b"is running" not in started and time.monotonic() < deadline:  # logged once the handler is in
            if select.select([app.stderr], [], [], 1)[0]:
                chunk = os.read(app.stderr.fileno(), 4096)
                if not chunk:
                    break
                started += chunk
        assert b"is running" in started, started.decode()
        app.send_signal(signal.SIGINT)
        _, rest = app.communicate(timeout=120)  # closing is quick; a busy machine may be slow to run it
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
    started, rest = started.decode(), rest.decode()
    assert app.returncode == 0, started + rest
    assert "Traceback" not in rest and "KeyboardInterrupt" not in rest, rest
    assert (tmp_path / "config" / "nnstudio" / "nnstudio.ini").is_file(), "the window remembered its layout"


def has_loaded(pid: int, library: str) -> bool:
    """Whether process ``pid`` has mapped a shared library whose name holds ``library`` (Linux)."""
    try:
        with open(f"/proc/{pid}/maps") as maps:
            return any(library in line for line in maps)
    except OSError:  # gone already
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_while_the_app_starts_closes_it_without_a_traceback(tmp_path):
    """Ctrl+C while NumPy, Qt and the window load is no KeyboardInterrupt inside an import: the window
    closes as soon as it is up, as File > Quit does."""
    app = start_app(tmp_path)
    try:
        # Qt's core library loads with the first PySide6 import: NumPy, pyqtgraph and the window are
        # still ahead (a second or more of work), the window's own Ctrl+C handling too.
        deadline = time.monotonic() + 60
        while not has_loaded(app.pid, "libQt6Core") and time.monotonic() < deadline:
            time.sleep(0.002)
        app.send_signal(signal.SIGINT)
        _, err = app.communicate(timeout=120)
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
    err = err.decode()
    assert app.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "SIGINT during start-up: closing" in err, err
    assert (tmp_path / "config" / "nnstudio" / "nnstudio.ini").is_file(), "it closed as File > Quit does"
