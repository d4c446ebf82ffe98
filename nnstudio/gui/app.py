"""The ``nnstudio`` command: open the training dashboard."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from pathlib import Path


def user_path(text: str) -> Path:
    """A folder given on the command line, ``~`` expanded (a shell leaves ``--runs-dir=~/runs`` as is)."""
    return Path(text).expanduser()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nnstudio", description="A training dashboard for a NumPy neural network.")
    parser.add_argument("--data-dir", type=user_path, default=None,
                        help="the folder holding MNIST (default: the last one used, else $NNSTUDIO_DATA, "
                             "else the user cache)")
    parser.add_argument("--runs-dir", type=user_path, default=None,
                        help="where runs are saved and listed from (default: a 'runs' folder in the app's data dir)")
    from nnstudio import __version__

    parser.add_argument("--version", action="version", version=f"nnstudio {__version__}")
    parser.add_argument("--install-desktop-entry", action="store_true",
                        help="add nnstudio (this install) to the desktop's applications menu, then exit")
    parser.add_argument("--uninstall-desktop-entry", action="store_true",
                        help="remove nnstudio from the applications menu, then exit")
    return parser.parse_args(argv)


def default_runs_root() -> Path:
    from PySide6.QtCore import QStandardPaths

    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / "runs"


class StartUpSignals:
    """Ctrl+C or SIGTERM while the app starts (NumPy, Qt and pyqtgraph load, the window is built) is
    remembered quietly instead of raising KeyboardInterrupt inside an import; the window then closes
    as soon as it is up, as File > Quit does; a second one quits at once (exit code 130).
    ``restore`` puts the previous handlers back."""

    def __init__(self, signals) -> None:
        self.received: int | None = None
        self.previous = {number: signal.signal(number, self.remember) for number in signals}

    def remember(self, number, frame) -> None:
        if self.received is not None:
            os.write(2, b"\nnnstudio: interrupted again: quitting at once\n")
            os._exit(130)
        self.received = number

    def restore(self) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)


def main(argv: list[str] | None = None) -> int:
    start_up = StartUpSignals((signal.SIGINT, signal.SIGTERM))  # first: before any heavy import
    try:
        return run_app(argv, start_up)
    finally:
        start_up.restore()


def run_app(argv: list[str] | None, start_up: StartUpSignals) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.install_desktop_entry or args.uninstall_desktop_entry:  # no window, no QApplication
        from nnstudio.desktop_entry import main as desktop_entry_main

        return desktop_entry_main(install_entry=args.install_desktop_entry)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # One BLAS thread for the whole app: on a 2-core machine a second BLAS thread fights the GUI thread.
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)

    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from nnstudio import __version__
    from nnstudio.resources import resource_path

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from nnstudio.gui.gui_gc import GuiThreadCollector

    GuiThreadCollector(parent=app)  # cyclic garbage is collected on this thread only, never on a worker's
    app.setApplicationName("nnstudio")
    app.setApplicationDisplayName("nnstudio")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("nnstudio")
    icon = resource_path("icon.svg")
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))

    from nnstudio.gui.main_window import MainWindow
    from nnstudio.gui.settings import Settings

    window = MainWindow(Settings(), args.runs_dir or default_runs_root(), data_dir=args.data_dir)
    sys.excepthook = report_unexpected_errors(window)
    window.show()
    window.build_pages_when_idle()  # the tabs not shown yet, before the user's first Start
    restore_signals = close_on_signals(window, (signal.SIGINT, signal.SIGTERM))
    logging.getLogger("nnstudio").info("nnstudio %s is running; Ctrl+C here quits it", __version__)
    if start_up.received is not None:  # Ctrl+C came while starting: quit now that closing is safe
        logging.getLogger("nnstudio").info("%s during start-up: closing", signal.Signals(start_up.received).name)
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, window.close)
    try:
        return app.exec()
    finally:  # let go of the window here: a pyqtgraph scene alive at interpreter exit can crash it
        restore_signals()
        sys.excepthook = sys.__excepthook__
        # The window waits for its threads before it closes; should the event loop end another way,
        # wait here: a QThread still running when Python exits aborts the process.
        from nnstudio.gui.worker import running_threads

        for thread in running_threads():
            thread.wait()


def close_on_signals(window, signals):
    """Make Ctrl+C (SIGINT) and SIGTERM close ``window`` as File > Quit does: a run is stopped and
    saved, and the app exits with 0. Returns a function that puts the previous handlers back.

    Python runs a signal handler only when the interpreter gets control, which Qt's event loop
    does not give it while it waits. So the C-level handler also writes the signal's number to a
    socket (``signal.set_wakeup_fd``), whose notifier wakes the event loop into Python, and Python
    then runs the handler.
    """
    from PySide6.QtCore import QSocketNotifier

    reader, writer = socket.socketpair()
    for end in (reader, writer):
        end.setblocking(False)
    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, window)

    def drain() -> None:
        try:
            reader.recv(64)
        except OSError:
            pass

    notifier.activated.connect(drain)
    from PySide6.QtCore import QTimer

    # Queued, not called: a signal that comes just before app.exec() would close the window while no
    # event loop runs, and the loop started afterwards would then wait for ever.
    previous = {number: signal.signal(number, lambda *_: QTimer.singleShot(0, window.close)) for number in signals}

    def restore() -> None:
        notifier.setEnabled(False)
        for number, handler in previous.items():
            signal.signal(number, handler)
        signal.set_wakeup_fd(previous_fd)
        reader.close()
        writer.close()

    return restore


def report_unexpected_errors(window):
    """An excepthook for the GUI thread: a bug in a slot is logged with its traceback and shown
    to the user as one plain sentence; the app keeps running and the current run is not lost."""
    from PySide6.QtCore import QThread

    from nnstudio.gui.messages import show_error

    log = logging.getLogger("nnstudio")

    def hook(kind, error, traceback):
        log.error("unexpected error", exc_info=(kind, error, traceback))
        if issubclass(kind, KeyboardInterrupt):
            window.close()
        elif QThread.currentThread() == window.thread():
            show_error(window, "Unexpected error", f"Something went wrong: {error or kind.__name__}. "
                       "The details are in the log; the app is still usable.")

    return hook


if __name__ == "__main__":
    sys.exit(main())
