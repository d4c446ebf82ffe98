"""The strip shown when there is no data: why, and two ways to get it (download, choose a folder)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QApplication, QWidget

from nnstudio.core.mnist import default_data_dir
from nnstudio.gui.data_dialogs import DataBanner, DownloadDialog, choose_folder
from nnstudio.gui.messages import show_error
from nnstudio.gui.worker import is_running, join


class DataBannerPanel(DataBanner):
    """:class:`DataBanner` on ``workspace``: shown while it has no data; loads what the user picks."""

    def __init__(self, workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("No data yet")
        self.workspace = workspace
        self.download_dialog: DownloadDialog | None = None
        self.download_thread = None  # kept until it ends (a cancel may take a while)
        self.closing = False
        self.hide()
        self.download_requested.connect(self.download_data)
        self.choose_folder_requested.connect(self.choose_data_folder)
        workspace.data_changed.connect(self._on_data_changed)

    def load(self, folder: Path, *, quiet: bool = False) -> bool:
        """Load MNIST from ``folder``; on failure say why (a dialog unless ``quiet``) and keep the offer."""
        workspace = self.workspace
        workspace.post_message(f"Loading MNIST from {folder}…")
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            reason = workspace.load_data(folder)
        finally:
            QApplication.restoreOverrideCursor()
        if not reason:
            workspace.post_message(workspace.describe_data())
            return True
        if workspace.split is None:
            workspace.post_message(f"No training data: {reason}")
        else:
            where = f" from {workspace.data_folder}" if workspace.data_folder else ""
            reason = f"{reason}\n\nThe data loaded before{where} is still in use."
            workspace.post_message(f"Cannot use {folder}; still training on the data loaded before")
        if not quiet:
            show_error(self.window(), "Cannot use this folder", reason)
        return False

    @Slot(bool)
    def _on_data_changed(self, has_data: bool) -> None:
        if not has_data:
            self.show_missing(self.workspace.data_folder, self.workspace.data_problem)
            return
        window = self.window()
        focus = window.focusWidget()
        if focus is None or self.isAncestorOf(focus):
            # The banner's buttons go with it: hand the keys to the window, so Space starts a run
            # (left on a hidden button, Space would press it again). This also holds when the window
            # is inactive, e.g. behind a native folder dialog: Qt gives it this focus when it returns.
            window.setFocus(Qt.FocusReason.OtherFocusReason)
        self.hide()

    @Slot()
    def choose_data_folder(self) -> None:
        folder = choose_folder(self.window(), "Choose the MNIST folder",
                               self.workspace.data_folder or default_data_dir())
        if folder is not None:
            self.load(folder)

    @Slot()
    def download_data(self) -> None:
        if self.download_dialog is not None or self.closing:
            return
        if is_running(self.download_thread):
            self.workspace.post_message("The cancelled download is still ending: try again in a moment")
            return
        dest = self.workspace.data_folder or default_data_dir()
        self.download_dialog = DownloadDialog(dest, self.window())
        self.download_thread = self.download_dialog.thread_
        self.download_dialog.downloaded.connect(self.load)
        self.download_dialog.download_failed.connect(self._on_download_failed)
        self.download_dialog.finished.connect(self._forget_download)
        self.download_dialog.open()

    @Slot(str)
    def _on_download_failed(self, reason: str) -> None:
        show_error(self.window(), "Download failed", f"{reason}.\n\nIf you have the files, press Choose folder… "
                   "in the banner (or File > Open data folder) and pick the folder that holds them.")

    @Slot()
    def _forget_download(self) -> None:
        dialog, self.download_dialog = self.download_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    def cancel_download(self, timeout_ms: int) -> bool:
        """Cancel a download and wait up to ``timeout_ms`` for its thread; True when none is left."""
        self.closing = True
        if self.download_dialog is not None:
            self.download_dialog.cancel_download()
        return not is_running(self.download_thread) or join(self.download_thread, timeout_ms)

    def download_running(self) -> bool:
        return is_running(self.download_thread)
