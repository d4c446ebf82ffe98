"""Getting MNIST when there is none: a banner offering to download it or choose a folder.

The download runs on its own thread (:class:`DownloadWorker`) behind a cancellable
progress dialog; a cancel or a failure leaves nothing half-written (the downloader
guarantees it) and is reported in plain words.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QLabel, QProgressDialog, QPushButton, QWidget

from nnstudio.core.download import DownloadCancelled, DownloadError, download_mnist
from nnstudio.gui.naming import named
from nnstudio.gui.worker import join, start_in_thread

log = logging.getLogger(__name__)

MNIST_MEGABYTES = 11.6


class DataBanner(QFrame):
    """A strip across the top of the window: why there is no data, and two ways to get it."""

    download_requested = Signal()
    choose_folder_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataBanner")
        self.setStyleSheet(
            "#dataBanner { background: #fff4ce; border: 1px solid #e0c060; border-radius: 4px; }"
            "#dataBanner QLabel { color: #4a3b00; }")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.download_button = QPushButton(f"Download MNIST ({MNIST_MEGABYTES:g} MB)")
        self.download_button.setToolTip("Fetch the four MNIST files from a public mirror into the folder above.")
        self.choose_button = QPushButton("Choose folder…")
        self.choose_button.setToolTip("Use a folder that already holds the MNIST files.")
        named(self.message, "dataMessage", "Why there is no data")
        named(self.download_button, "downloadButton", "Download MNIST")
        named(self.choose_button, "chooseFolderButton", "Choose folder")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.download_button)
        layout.addWidget(self.choose_button)
        self.download_button.clicked.connect(self.download_requested)
        self.choose_button.clicked.connect(self.choose_folder_requested)

    def show_missing(self, folder: Path, reason: str) -> None:
        self.message.setText(
            f"<b>No MNIST data yet.</b> Training needs the MNIST digits; the sketch pad works meanwhile "
            f"with the bundled model.<br><small>{reason}</small>")
        self.show()


class DownloadWorker(QObject):
    """Runs :func:`download_mnist` on a worker thread; cancel through :attr:`cancel_event`."""

    progressed = Signal(object, object)  # bytes done, bytes total
    succeeded = Signal(str)  # the folder
    failed = Signal(str)  # the reason
    cancelled = Signal()
    finished = Signal()  # the job is over, however it ended (quits the thread)
    name = "download"

    def __init__(self, dest: Path) -> None:
        super().__init__()
        self.dest = Path(dest)
        self.cancel_event = threading.Event()

    @Slot()
    def run(self) -> None:
        try:
            download_mnist(self.dest, progress=self.progressed.emit, cancel=self.cancel_event)
        except DownloadCancelled:
            self.cancelled.emit()
        except DownloadError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # never let a thread die silently
            log.exception("download failed")
            self.failed.emit(f"could not download MNIST: {exc}")
        else:
            self.succeeded.emit(str(self.dest))
        finally:
            self.finished.emit()


class DownloadDialog(QProgressDialog):
    """A cancellable progress dialog for one download; emits ``downloaded`` or ``download_failed``."""

    downloaded = Signal(object)  # Path
    download_failed = Signal(str)

    def __init__(self, dest: Path, parent: QWidget | None = None) -> None:
        super().__init__(f"Downloading MNIST into {dest}…", "Cancel", 0, 1000, parent)
        self.setObjectName("downloadDialog")
        self.setWindowTitle("Download MNIST")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.dest = Path(dest)
        worker = DownloadWorker(self.dest)
        self._cancel = worker.cancel_event  # kept: the worker deletes itself when its thread ends
        worker.progressed.connect(self._on_progress)
        worker.succeeded.connect(self._on_succeeded)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_canceled)  # a declared slot: queued to the GUI thread
        # QProgressDialog.cancel() (the Cancel button) only hides the dialog: reject it too, so that
        # ``finished`` always comes (and the window forgets the dialog), whichever way it ends.
        self.canceled.connect(self._on_canceled)
        self.thread_ = start_in_thread(worker, "run")

    def cancel_download(self) -> None:
        """Ask the download to stop (it checks between two reads); returns at once."""
        self._cancel.set()

    def cancel_and_wait(self, timeout_ms: int = 10_000) -> bool:
        """Cancel the download and wait for its thread; True when it has ended."""
        self._cancel.set()
        return join(self.thread_, timeout_ms)

    @Slot()
    def _on_canceled(self) -> None:
        self.reject()

    def reject(self) -> None:
        """Esc, Cancel, closing the dialog: the download stops too."""
        self._cancel.set()
        super().reject()

    @Slot(object, object)
    def _on_progress(self, done: int, total: int) -> None:
        if self._cancel.is_set() or not total:
            return  # a report sent before the cancel: the dialog may be on its way out
        self.setLabelText(f"Downloading MNIST into {self.dest}…\n{done / 1e6:.1f} of {total / 1e6:.1f} MB")
        # Last: a modal progress dialog's setValue turns the event loop, which may delete this dialog.
        self.setValue(int(1000 * done / total))

    @Slot(str)
    def _on_succeeded(self, folder: str) -> None:
        self.accept()
        self.downloaded.emit(Path(folder))

    @Slot(str)
    def _on_failed(self, reason: str) -> None:
        self.reject()
        self.download_failed.emit(reason)


def choose_folder(parent: QWidget, title: str, start: Path | None) -> Path | None:
    """Ask for a folder; None when the user cancels."""
    folder = QFileDialog.getExistingDirectory(parent, title, str(start or Path.home()))
    return Path(folder) if folder else None

