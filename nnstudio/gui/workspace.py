"""The workspace: the data in use, the runs kept, the model in use and the sketch, for every panel.

A :class:`Workspace` holds no widget. Panels read it and listen to its signals; they change
it only through its methods, so each change is announced once to all of them:

- data: :meth:`load_data` / :meth:`set_data` -> ``data_changed(bool)`` (is there data now);
- runs: :meth:`load_runs`, :meth:`add_run`, :meth:`open_run` -> ``runs_changed``; the runs
  ticked for comparison: :meth:`set_compared` -> ``comparison_changed(run, shown)``; the run
  selected in a list: :meth:`select_run` -> ``selection_changed(run or None)``;
- the model in use for inference (the running run's best weights, a listed run, a loaded
  file, or the bundled model): :meth:`set_model`, :meth:`use_run_model`, :meth:`load_model_file`
  -> ``model_changed(network or None, description)``;
- the sketch: ``sketch_changed(input)`` with the 28x28 float input the network sees (None when
  the pad is blank), set by the sketch pad through :meth:`set_sketch`; and
  ``pad_image_requested(image, label)``: a panel asks the pad to show a 28x28 uint8 image
  (a clicked mistake, say) through :meth:`request_pad_image`;
- ``message_posted(text)``: a line for the status bar, from any panel (:meth:`post_message`).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from nnstudio.core.dataset import Split, split_mnist
from nnstudio.core.formatting import percent
from nnstudio.core.limits import validation_size_for
from nnstudio.core.mnist import load_mnist
from nnstudio.core.model_file import ModelFileError, load_model
from nnstudio.core.network import Network
from nnstudio.core.run_folder import Run, UnreadableRun, list_runs, load_run, read_run, run_folders
from nnstudio.gui.worker import Worker, join

log = logging.getLogger(__name__)

DEFAULT_VALIDATION_SIZE = 6000


def bundled_model() -> tuple[Network | None, str]:
    """The model shipped with nnstudio and its description; ``(None, why)`` when there is none."""
    try:
        from nnstudio.resources import BUNDLED_MODEL
    except ImportError as exc:  # a partial installation: say so, keep the pad usable
        log.warning("bundled model unavailable: %s", exc)
        return None, ""
    if not BUNDLED_MODEL.exists():
        return None, ""
    try:
        saved = load_model(BUNDLED_MODEL)
    except ModelFileError as exc:
        return None, f"The bundled model cannot be used ({exc}). Train one or load a model file."
    accuracy = saved.metadata.get("test_accuracy")
    note = f", {accuracy:.1%} on the test set" if isinstance(accuracy, float) else ""
    return saved.network, f"bundled with nnstudio{note}"


class Workspace(QObject):
    """Data, runs, the model in use and the sketch; see the module doc for its signals."""

    data_changed = Signal(bool)  # whether there is data to train on now
    runs_changed = Signal()
    comparison_changed = Signal(object, bool)  # Run, shown
    group_comparison_changed = Signal(object, bool)  # RunGroup (repeats), shown: its mean curve and band
    selection_changed = Signal(object)  # Run or None
    model_changed = Signal(object, str)  # Network (the workspace's copy; don't modify) or None, its description
    sketch_changed = Signal(object)  # (28, 28) float32 input as the network sees it, or None
    pad_image_requested = Signal(object, object)  # (28, 28) uint8 image, true label (int) or None
    message_posted = Signal(str)

    def __init__(self, runs_root: Path, parent: QObject | None = None, *, load_bundled: bool = True) -> None:
        super().__init__(parent)
        self.runs_root = Path(runs_root)
        self.split: Split | None = None
        self.data_folder: Path | None = None
        self.data_problem = ""  # why there is no data, when there is none
        self.data_note = ""  # e.g. why the validation size asked for is not the one used
        self.mnist = None  # the data as loaded, re-split when the validation size changes (None: a given split)
        self.validation_size = DEFAULT_VALIDATION_SIZE
        self.runs: list[Run] = []
        self.unreadable_runs: list[UnreadableRun] = []  # run folders that cannot be read, with the reason
        self.runs_thread = None  # listing a large runs folder, see load_runs_in_background
        self._stop_listing: threading.Event | None = None
        self.compared: list[Run] = []
        self.selected_run: Run | None = None
        self.model: Network | None = None
        self.model_description = ""
        self.sketch: np.ndarray | None = None
        if load_bundled:
            network, description = bundled_model()
            self.set_model(network, description)

    # -- data --------------------------------------------------------------------------------

    def load_data(self, folder: Path) -> str:
        """Load MNIST from ``folder`` and use it; returns ``""``, or why it cannot be used
        (the data loaded before, if any, stays in use)."""
        folder = Path(folder)
        try:
            mnist = load_mnist(folder)
            split, note = self._split(mnist)
        except (ValueError, OSError) as exc:  # DataError is a ValueError, as is too small a training set
            reason = str(exc) or type(exc).__name__
            if self.split is None:
                self.data_folder, self.data_problem = folder, reason
            self.data_changed.emit(self.split is not None)
            return reason
        self.mnist, self.data_note = mnist, note
        self.split, self.data_folder, self.data_problem = split, folder, ""
        self.data_changed.emit(True)
        return ""

    def _split(self, mnist) -> tuple[Split, str]:
        """``mnist`` split with the validation size asked for, or 10% of a set too small for it (and why)."""
        n, asked = len(mnist.train_images), self.validation_size
        size = validation_size_for(n, asked)
        note = "" if size == asked else (f"{n:,} training images cannot spare {asked:,} for validation: "
                                         f"validating on the last {size:,} (10%)")
        return split_mnist(mnist, size), note

    def set_validation_size(self, size: int) -> None:
        """Validate on the last ``size`` training images from now on (re-splits loaded data)."""
        size = int(size)
        if size == self.validation_size:
            return
        self.validation_size = size
        if self.mnist is not None:
            self.split, self.data_note = self._split(self.mnist)
            self.data_changed.emit(True)

    def set_data(self, split: Split, folder: Path | None) -> None:
        """Use ``split`` from now on, as given (``folder`` is where it came from, if anywhere)."""
        self.split, self.data_folder, self.data_problem, self.data_note, self.mnist = split, folder, "", "", None
        self.data_changed.emit(True)

    def describe_data(self) -> str:
        split = self.split
        if split is None:
            return f"No training data: {self.data_problem}" if self.data_problem else "No training data"
        where = f" from {self.data_folder}" if self.data_folder else ""
        note = f" ({self.data_note})" if self.data_note else ""
        return (f"{len(split.x_train):,} training, {len(split.x_val):,} validation and "
                f"{len(split.x_test):,} test images{where}{note}")

    # -- runs --------------------------------------------------------------------------------

    def load_runs(self) -> list[UnreadableRun]:
        """List the runs saved under the runs folder; returns the folders that cannot be read (kept
        in :attr:`unreadable_runs`, each with its reason, for the runs list to show)."""
        runs, problems = list_runs(self.runs_root)
        for problem in problems:
            log.warning("cannot read a run folder: %s", problem)
        self.runs = list(runs)
        self.unreadable_runs = list(problems)
        self.runs_changed.emit()
        return problems

    def load_runs_in_background(self, chunk: int = 50):
        """List the runs folder on a worker thread, ``chunk`` runs at a time, so that thousands of
        runs never block the window; returns the worker's thread (see :func:`~nnstudio.gui.worker.join`)."""
        folders = run_folders(self.runs_root)

        stop = self._stop_listing = threading.Event()

        def job():
            for start in range(0, len(folders), chunk):
                if stop.is_set():
                    return
                yield [read_run(folder) for folder in folders[start:start + chunk]]

        self.runs, self.unreadable_runs = [], []
        worker = Worker(job, name="runs")
        worker.yielded.connect(self._runs_read)
        self.runs_thread = worker.start()
        return self.runs_thread

    def _runs_read(self, chunk: list) -> None:
        listed = {r.folder for r in self.runs}  # a run saved meanwhile is listed already
        for run in chunk:
            if isinstance(run, UnreadableRun):
                log.warning("cannot read a run folder: %s", run)
                self.unreadable_runs.append(run)
            elif run.folder not in listed:
                self.runs.append(run)
        self.runs_changed.emit()

    def stop_listing(self, timeout_ms: int = 10_000) -> bool:
        """End a background listing (closing); True once its thread has ended."""
        if self._stop_listing is not None:
            self._stop_listing.set()
        return join(self.runs_thread, timeout_ms)

    def add_run(self, run: Run) -> None:
        """List ``run``, or replace the listed run of the same folder (its tick stays)."""
        for i, listed in enumerate(self.runs):
            if listed.folder == run.folder:
                self.runs[i] = run
                break
        else:
            self.runs.append(run)
        self.compared = [run if r.folder == run.folder else r for r in self.compared]
        if self.selected_run is not None and self.selected_run.folder == run.folder:
            self.selected_run = run
        self.runs_changed.emit()

    def open_run(self, folder: Path) -> Run:
        """List the run saved in ``folder`` and tick it; raises OSError or ModelFileError if it is none."""
        run = load_run(folder)
        self.add_run(run)
        self.set_compared(run, True)
        return run

    def run_index(self, run: Run) -> int:
        """Where ``run`` is listed (its colour in comparisons follows); the end of the list if it is not."""
        return next((i for i, r in enumerate(self.runs) if r.folder == run.folder), len(self.runs))

    def set_compared(self, run: Run, shown: bool) -> None:
        """Tick (or untick) ``run`` for comparison on the plots."""
        was = any(r.folder == run.folder for r in self.compared)
        self.compared = [r for r in self.compared if r.folder != run.folder] + ([run] if shown else [])
        if was != shown or shown:
            self.comparison_changed.emit(run, shown)

    def set_group_compared(self, group, shown: bool) -> None:
        """Show (or hide) a group of repeats (:class:`~nnstudio.core.repeats.RunGroup`) on the plots."""
        self.group_comparison_changed.emit(group, shown)

    def select_run(self, run: Run | None) -> None:
        self.selected_run = run
        self.selection_changed.emit(run)

    # -- the model in use ----------------------------------------------------------------------

    def set_model(self, network: Network | None, description: str = "") -> None:
        """Classify with (a copy of) ``network`` from now on."""
        self.model = network.copy() if network is not None else None
        self.model_description = description
        self.model_changed.emit(self.model, description)

    def use_run_model(self, run: Run) -> None:
        """Use the best model of a listed run; raises ModelFileError if it cannot be read."""
        saved = load_model(run.model_path)
        self.set_model(saved.network, f"{run.name}, test acc {percent(run.summary.get('test_accuracy'), '–')}")

    def load_model_file(self, path: Path) -> None:
        """Use the model saved in ``path``; raises ModelFileError if it is none."""
        saved = load_model(path)
        self.set_model(saved.network, str(saved.metadata.get("name", Path(path).name)))

    # -- the sketch ------------------------------------------------------------------------------

    def set_sketch(self, network_input: np.ndarray | None) -> None:
        self.sketch = None if network_input is None else np.array(network_input, dtype=np.float32)
        self.sketch_changed.emit(self.sketch)

    def request_pad_image(self, image: np.ndarray, label: int | None = None) -> None:
        """Ask the sketch pad to show ``image`` (28x28 uint8), with its true ``label`` if known."""
        self.pad_image_requested.emit(np.asarray(image, dtype=np.uint8), label)

    def post_message(self, text: str) -> None:
        self.message_posted.emit(text)
