"""The ``nnstudio`` command: open the training dashboard."""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
from pathlib import Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nnstudio", description="A training dashboard for a NumPy neural network.")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="the folder holding MNIST (default: the last one used, else $NNSTUDIO_DATA, "
                             "else the user cache)")
    parser.add_argument("--runs-dir", type=Path, default=None,
                        help="where runs are saved and listed from (default: a 'runs' folder in the app's data dir)")
    return parser.parse_args(argv)


def default_runs_root() -> Path:
    from PySide6.QtCore import QStandardPaths

    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / "runs"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # One BLAS thread for the whole app: on a 2-core machine a second BLAS thread fights the GUI thread.
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)

    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from nnstudio import __version__
    from nnstudio.resources import resource_path

    app = QApplication.instance() or QApplication(sys.argv[:1])
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
    restore_signals = close_on_signals(window, (signal.SIGINT, signal.SIGTERM))
    logging.getLogger("nnstudio").info("nnstudio %s is running; Ctrl+C here quits it", __version__)
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
