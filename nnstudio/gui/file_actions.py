"""The File menu's actions: open a data or run folder, load and save models, export the history and plots."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog

from nnstudio.core.atomic_file import atomic_write
from nnstudio.core.model_file import ModelFileError, save_model
from nnstudio.core.run_folder import write_history_csv
from nnstudio.gui.data_dialogs import choose_folder
from nnstudio.gui.messages import show_error
from nnstudio.gui.run_actions import make_action


class FileActions(QObject):
    """The actions of the File menu, on ``workspace`` and ``session``; ``plots`` is exported as PNG,
    ``banner`` chooses a data folder. Messages go to the status bar through the workspace."""

    def __init__(self, workspace, session, plots, banner, window) -> None:
        super().__init__(window)
        self.workspace, self.session, self.plots, self.window = workspace, session, plots, window
        a = make_action
        self.open_data = a(window, "Open data folder…", banner.choose_data_folder, QKeySequence.StandardKey.Open,
                           "Train on the MNIST files in another folder.", name="openDataAction")
        self.open_run = a(window, "Open run folder…", self.choose_run_folder, None,
                          "List a run saved elsewhere (e.g. by nnstudio-train --out).", name="openRunAction")
        self.load_model = a(window, "Load model…", self.choose_model_to_load, None,
                            "Classify sketches with a saved model file.", name="loadModelAction")
        self.save_model = a(window, "Save model…", self.choose_model_to_save, QKeySequence.StandardKey.Save,
                            "Save the current run's best network as a model file.", name="saveModelAction")
        self.export_csv = a(window, "Export history CSV…", self.choose_csv_to_export, None,
                            "Write the current run's per-epoch figures as CSV.", name="exportCsvAction")
        self.export_png = a(window, "Export plot PNG…", self.choose_png_to_export, None, "Save a picture of the plots.",
                            name="exportPngAction")
        self.all = (self.open_data, self.open_run, None, self.load_model, self.save_model, None, self.export_csv,
                    self.export_png)
        session.phase_changed.connect(self.update)
        session.cleared.connect(self.update)
        workspace.selection_changed.connect(self.update)
        self.update()

    @Slot()
    def update(self, *_: object) -> None:
        busy = self.session.busy
        # Like Export history CSV, Save model acts on the live run, else on the run selected in the list.
        selected = self.workspace.selected_run is not None
        self.save_model.setEnabled(not busy and (self.session.trainer is not None or selected))
        self.open_data.setEnabled(not busy)

    def _save_path(self, title: str, name: str, kinds: str) -> Path | None:
        """Ask where to save; a name typed without an extension gets ``name``'s (``mymodel`` -> ``mymodel.npz``)."""
        path, _ = QFileDialog.getSaveFileName(self.window, title, str(Path.home() / name), kinds)
        if not path:
            return None
        path = Path(path)
        return path if path.suffix else path.with_name(path.name + Path(name).suffix)

    def _current_history(self) -> tuple:
        """The live run's epochs as shown, else those of the run selected in the list."""
        if self.session.trainer is not None and self.session.history:
            return tuple(self.session.history)
        run = self.workspace.selected_run
        return run.history if run else ()

    @Slot()
    def choose_run_folder(self) -> None:
        folder = choose_folder(self.window, "Open a run folder", self.workspace.runs_root)
        if folder is None:
            return
        try:
            self.workspace.open_run(folder)
        except (OSError, ModelFileError) as exc:
            show_error(self.window, "Cannot open the run", f"{folder} is not a run folder: {exc}")

    @Slot()
    def choose_model_to_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Load a model", str(self.workspace.runs_root), "Models (*.npz)")
        if path:
            try:
                self.workspace.load_model_file(Path(path))
            except ModelFileError as exc:
                show_error(self.window, "Cannot load the model", str(exc))

    @Slot()
    def choose_model_to_save(self) -> None:
        """Save the live run's best network, or (with no live run) the model of the run selected in the list."""
        session = self.session
        run = self.workspace.selected_run if session.trainer is None else None
        if session.busy or (session.trainer is None and run is None):
            return
        path = self._save_path("Save the model", "model.npz", "Models (*.npz)")
        if path is None:
            return
        try:
            if run is not None:
                with atomic_write(path) as f, open(run.model_path, "rb") as source:
                    shutil.copyfileobj(source, f)
            else:
                metadata = {"name": session.run_name, "config": session.trainer.config.to_dict()}
                if session.last_result is not None:
                    metadata["test_accuracy"] = session.last_result.test_accuracy
                save_model(path, session.trainer.network, metadata=metadata)
        except OSError as exc:
            show_error(self.window, "Cannot save the model", f"{path}: {exc.strerror or exc}")
            return
        self.workspace.post_message(f"Saved the model to {path}")

    @Slot()
    def choose_csv_to_export(self) -> None:
        history = self._current_history()
        if not history:
            show_error(self.window, "Nothing to export", "Train a run (or select one in the runs list) first.")
            return
        path = self._save_path("Export the history", "history.csv", "CSV files (*.csv)")
        if path is None:
            return
        try:
            write_history_csv(path, history)
        except OSError as exc:
            show_error(self.window, "Cannot export", f"{path}: {exc.strerror or exc}")
            return
        self.workspace.post_message(f"Wrote {len(history)} epochs to {path}")

    @Slot()
    def choose_png_to_export(self) -> None:
        plots = self.plots
        if not self.session.history and not plots.overlay_keys() and not len(plots.batch_trace()[0]):
            show_error(self.window, "Nothing to export", "The plots are empty: train a run (or tick one in the runs "
                       "list) first.")
            return
        path = self._save_path("Export the plots", "training_plots.png", "PNG images (*.png)")
        if path is None:
            return
        try:
            plots.export_png(path)
        except OSError as exc:
            show_error(self.window, "Cannot export", str(exc))
            return
        self.workspace.post_message(f"Saved the plots to {path}")
