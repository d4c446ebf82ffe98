"""The ``nnstudio`` command: open the training dashboard."""

from __future__ import annotations

import argparse
import logging
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
    try:
        return app.exec()
    finally:  # let go of the window here: a pyqtgraph scene alive at interpreter exit can crash it
        sys.excepthook = sys.__excepthook__


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
