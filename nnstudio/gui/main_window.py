"""The dashboard's main window: the form, the live plots, the sketch pad and the runs list.

A run is a :class:`~nnstudio.core.trainer.Trainer` driven by a :class:`TrainingWorker` on
its own thread. The worker's signals land in this window's slots (GUI thread), which feed
the plots, the status bar and the sketch panel, then re-emit a relay signal
(``epoch_shown``, ``run_finished``...) that tests and other views can wait on. The window
steers a run through the trainer's thread-safe methods: pause, resume, stop, and the live
settings (learning rate, momentum, patience), which apply from the next batch.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.dataset import Split, split_mnist
from nnstudio.core.mnist import default_data_dir, load_mnist, resolve_data_dir
from nnstudio.core.model_file import ModelFileError, load_model, save_model
from nnstudio.core.network import Network
from nnstudio.core.reports import BatchProgress, EpochReport, SettingChanged, TrainingResult
from nnstudio.core.run_folder import PLOT, Run, list_runs, load_run, new_run_folder, save_run, write_history_csv
from nnstudio.core.trainer import Trainer
from nnstudio.gui.about import show_about
from nnstudio.gui.controls import ControlsPanel
from nnstudio.gui.data_dialogs import DataBanner, DownloadDialog, choose_folder
from nnstudio.gui.history_png import draw_history, save_png
from nnstudio.gui.messages import show_error
from nnstudio.gui.runs_panel import RunsPanel, is_number
from nnstudio.gui.settings import Settings
from nnstudio.gui.sketch_panel import SketchPanel
from nnstudio.gui.threads import is_running, join
from nnstudio.gui.training_plots import TrainingPlots, run_color
from nnstudio.gui.worker import TrainingWorker
from nnstudio.resources import resource_path

log = logging.getLogger(__name__)

DEFAULT_SIZE = (1400, 900)
MINIMUM_SIZE = (1100, 700)
DEFAULT_COLUMNS = (330, 730, 340)  # form, plots and runs, sketch pad: the splitter's widths at 1400 px
DEFAULT_RUNS_HEIGHT = 165  # the runs list under the plots: a header, four rows and its buttons
SKETCH_MIN_WIDTH = 300
PLOT_INTERVAL_MS = 200  # how often the batch trace and the progress bar redraw during a run
LIVE_EDIT_DELAY_MS = 300  # a live setting reaches the trainer once it has rested this long (or the slider is let go)
CLOSE_WAIT_MS = 3000  # closing waits this long for a run or a download to end, then closes once they have
KEY_OWNERS = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)
# Each tip is tried by a test in tests/gui/test_main_window.py (test_try_this_*): keep them true.
TRY_THIS = (
    "• <b>seed-slow</b>, then mid-run set the learning rate to 1e-1: the loss falls at once.<br>"
    "• Learning rate 3, Start: the run diverges and says so.<br>"
    "• Patience 1: it stops at the first epoch that does not improve.<br>"
    "• Tick two runs below to compare them; draw while one trains."
)


def percent(value: float | None) -> str:
    """``"97.12%"``; ``"–"`` for no value yet, ``""`` for a value that is not a number."""
    if value is None:
        return "–"
    return f"{100 * value:.2f}%" if is_number(value) else ""


def copy_file(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` atomically: a reader never sees half a file, a failure leaves none."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def seconds_text(seconds: float) -> str:
    if seconds < 1:
        return "<1 s"  # an epoch of the seed's network takes 0.4 s: "0 s left" would read as done
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


class MainWindow(QMainWindow):
    """The training dashboard.

    ``settings`` remembers the form, the data folder and the layout; ``runs_root`` is where
    finished runs are saved and listed from; ``data_dir`` overrides where MNIST is looked for
    (else the remembered folder, else ``$NNSTUDIO_DATA``, else the user cache). Passing
    ``split`` uses that data instead of loading MNIST (tests pass small real subsets).
    """

    run_started = Signal()
    batch_shown = Signal(object)  # BatchProgress, after the plots took it
    epoch_shown = Signal(object)  # EpochReport, after the plots and the status bar took it
    change_shown = Signal(object)  # SettingChanged, after it was marked on the plots
    run_finished = Signal(object)  # TrainingResult, once the thread is gone and the run is listed
    run_failed = Signal(str)
    data_changed = Signal(bool)  # whether there is data to train on now
    _epoch_deferred = Signal()  # queued to itself, see _on_epoch_finished

    def __init__(self, settings: Settings, runs_root: Path, *, data_dir: Path | None = None,
                 split: Split | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.runs_root = Path(runs_root)
        self.split: Split | None = None
        self.data_folder: Path | None = None
        self.trainer: Trainer | None = None
        self.worker: TrainingWorker | None = None
        self.thread_ = None
        self.run_folder: Path | None = None
        self.run_name = ""
        self.last_result: TrainingResult | None = None
        self.download_dialog: DownloadDialog | None = None
        self._download_thread = None  # the download's thread, kept until it ends (a cancel may take a while)
        self._run_ending = False  # the run's result (or failure) is in: Pause and Stop have nothing left to act on
        self._close_pending = False  # the window was asked to close and closes once its threads have ended
        self._launch_epochs = 0  # the epoch count the current launch trains up to ("Epoch 3 of 3" after +1)
        self._history_shown: list[EpochReport] = []  # the live run's reports, as shown (the GUI's own copy)
        self._runs_started = 0
        self._pending_batches: list[BatchProgress] = []
        self._plot_timer = QTimer(self)
        self._plot_timer.setSingleShot(True)
        self._plot_timer.setInterval(PLOT_INTERVAL_MS)
        self._plot_timer.timeout.connect(self._show_pending_batches)
        self._saving: Iterator[None] | None = None  # the steps left of saving a finished run
        self._save_timer = QTimer(self)
        self._save_timer.setInterval(0)
        self._save_timer.timeout.connect(self._save_next_step)
        self._live_edits: dict[str, float] = {}  # live settings edited but not yet handed to the trainer
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_EDIT_DELAY_MS)
        self._live_timer.timeout.connect(self._apply_live_edits)

        self.setWindowTitle("nnstudio")
        self.setObjectName("mainWindow")
        icon = resource_path("icon.svg")
        if icon.exists():
            self.setWindowIcon(QIcon(str(icon)))
        self._build_widgets()
        self._build_actions()
        self._build_menus()
        self._build_layout()
        self._connect()
        self._restore()
        self._load_runs()
        QApplication.instance().installEventFilter(self)

        if split is not None:
            self.set_data(split, None)
        else:
            self._update_actions()
            folder = data_dir or settings.data_dir or resolve_data_dir()
            QTimer.singleShot(0, lambda: self.load_data(folder, quiet=True))

    # -- construction ------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.controls = ControlsPanel()
        saved = self.settings.training_config
        if saved is not None:
            self.controls.set_config(saved, self.settings.preset)
        self.plots = TrainingPlots()
        self.plots.set_log_loss(self.settings.log_loss)
        self.sketch_panel = SketchPanel()
        self.runs_panel = RunsPanel(color_of=run_color)
        self.banner = DataBanner()
        self.banner.hide()

        self.start_reason = QLabel()
        self.start_reason.setObjectName("startReason")
        self.start_reason.setWordWrap(True)
        self.start_reason.setStyleSheet("color: #8a5a00;")
        self.status_label = QLabel("Ready")
        self.epoch_label = QLabel()
        self.epoch_label.setObjectName("epochLabel")
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("epochProgress")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("idle")
        self.progress_bar.setFixedWidth(260)
        # Labels whose text changes every epoch must not ask for a new layout of the whole window.
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.epoch_label.setMinimumWidth(self.epoch_label.fontMetrics().horizontalAdvance(
            "Epoch 100 of 100 · val acc 100.00% · best 100.00% (epoch 100) · patience 100 left"))
        self.epoch_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.epoch_label)
        self.statusBar().addPermanentWidget(self.progress_bar)

    def _action(self, text: str, slot, shortcut=None, tip: str = "", checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)  # shortcuts work without a menu bar too
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.open_data_action = a("Open data folder…", self.choose_data_folder, QKeySequence.StandardKey.Open,
                                  "Train on the MNIST files in another folder.")
        self.open_run_action = a("Open run folder…", self.choose_run_folder, None,
                                 "List a run saved elsewhere (e.g. by nnstudio-train --out).")
        self.load_model_action = a("Load model…", self.choose_model_to_load, None,
                                   "Classify sketches with a saved model file.")
        self.save_model_action = a("Save model…", self.choose_model_to_save, QKeySequence.StandardKey.Save,
                                   "Save the current run's best network as a model file.")
        self.export_csv_action = a("Export history CSV…", self.choose_csv_to_export, None,
                                   "Write the current run's per-epoch figures as CSV.")
        self.export_png_action = a("Export plot PNG…", self.choose_png_to_export, None,
                                   "Save a picture of the plots.")
        self.quit_action = a("Quit", self.close, QKeySequence.StandardKey.Quit)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))

        self.start_action = a("Start", self.start_run, None, "Train a new network with the settings on the left.")
        self.pause_action = a("Pause", self.set_paused, None, "Pause after the current batch; press again to resume.",
                              checkable=True)
        self.stop_action = a("Stop", self.stop_run, Qt.Key.Key_Escape,
                             "Stop after the current batch and keep the best weights so far (Esc).")
        self.one_more_action = a("+1 epoch", self.train_one_more_epoch, None,
                                 "Train the finished run's network for one more epoch.")
        self.reset_action = a("Reset", self.reset_run, None, "Clear the plots and forget the current run.")
        self.toggle_action = a("Start / Pause", self.start_or_pause, Qt.Key.Key_Space,
                               "Start a run, or pause and resume the one going on (Space).")
        self.log_loss_action = a("Log-scale loss", self.plots.set_log_loss, None,
                                 "Show both loss plots on a logarithmic scale.", checkable=True)
        self.log_loss_action.setChecked(self.plots.log_loss)
        self.fit_action = a("Fit plots", self.plots.fit_view, "Ctrl+0", "Show the whole run and follow it.")
        self.about_action = a("About nnstudio", lambda: show_about(self))
        for action in (self.start_action, self.stop_action, self.toggle_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.start_action.setIcon(QIcon.fromTheme("media-playback-start"))
        self.stop_action.setIcon(QIcon.fromTheme("media-playback-stop"))
        self.pause_action.setIcon(QIcon.fromTheme("media-playback-pause"))

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        for action in (self.open_data_action, self.open_run_action, None, self.load_model_action,
                       self.save_model_action, None, self.export_csv_action, self.export_png_action, None,
                       self.quit_action):
            menu.addSeparator() if action is None else menu.addAction(action)
        menu = self.menuBar().addMenu("&Run")
        for action in (self.toggle_action, None, self.start_action, self.pause_action, self.stop_action,
                       self.one_more_action, None, self.reset_action):
            menu.addSeparator() if action is None else menu.addAction(action)
        menu = self.menuBar().addMenu("&View")
        menu.addAction(self.log_loss_action)
        menu.addAction(self.fit_action)
        menu = self.menuBar().addMenu("&Help")
        menu.addAction(self.about_action)

    def _button(self, action: QAction, name: str) -> QToolButton:
        button = QToolButton()
        button.setObjectName(name)
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        button.setMinimumHeight(30)
        return button

    def _build_layout(self) -> None:
        self.start_button = self._button(self.start_action, "startButton")
        self.start_button.setStyleSheet("QToolButton { font-weight: bold; }")
        self.pause_button = self._button(self.pause_action, "pauseButton")
        self.stop_button = self._button(self.stop_action, "stopButton")
        self.one_more_button = self._button(self.one_more_action, "oneMoreButton")
        self.reset_button = self._button(self.reset_action, "resetButton")
        run_box = QGroupBox("Run")
        grid = QGridLayout(run_box)
        grid.addWidget(self.start_button, 0, 0, 1, 2)
        grid.addWidget(self.pause_button, 1, 0)
        grid.addWidget(self.stop_button, 1, 1)
        grid.addWidget(self.one_more_button, 2, 0)
        grid.addWidget(self.reset_button, 2, 1)
        grid.addWidget(self.start_reason, 3, 0, 1, 2)

        tips = QLabel(TRY_THIS)
        tips.setObjectName("tryThis")
        tips.setWordWrap(True)
        tips.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # wraps to the form's width
        tips_box = QGroupBox("Try this")
        QVBoxLayout(tips_box).addWidget(tips)

        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(6, 6, 6, 6)
        column.addWidget(run_box)
        column.addWidget(self.controls)
        column.addWidget(tips_box)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(left.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 4)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        # Three columns: the form; the plots over a compact runs list; the sketch pad and its answer.
        runs_box = QGroupBox("Runs")
        runs_layout = QVBoxLayout(runs_box)
        runs_layout.setContentsMargins(6, 4, 6, 6)
        runs_layout.addWidget(self.runs_panel)
        self.centre_splitter = QSplitter(Qt.Orientation.Vertical)
        self.centre_splitter.setObjectName("plotsSplitter")
        self.centre_splitter.addWidget(self.plots)
        self.centre_splitter.addWidget(runs_box)
        self.centre_splitter.setStretchFactor(0, 1)  # a taller window is for the plots
        self.centre_splitter.setStretchFactor(1, 0)
        self.centre_splitter.setCollapsible(0, False)

        sketch_box = QGroupBox("Sketch a digit")
        sketch_box.setObjectName("sketchBox")
        QVBoxLayout(sketch_box).addWidget(self.sketch_panel)
        sketch_box.setMinimumWidth(SKETCH_MIN_WIDTH)

        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.setObjectName("columnsSplitter")
        self.main_splitter.addWidget(scroll)
        self.main_splitter.addWidget(self.centre_splitter)
        self.main_splitter.addWidget(sketch_box)
        self.main_splitter.setStretchFactor(0, 0)
        self.main_splitter.setStretchFactor(1, 1)  # a wider window is for the plots too
        self.main_splitter.setStretchFactor(2, 0)
        self.main_splitter.setCollapsible(1, False)
        self.splitters = (self.main_splitter, self.centre_splitter)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.main_splitter, 1)
        self.setCentralWidget(central)

    def _connect(self) -> None:
        self._epochs_to_show: list[EpochReport] = []
        self._epoch_deferred.connect(self._show_deferred_epochs, Qt.ConnectionType.QueuedConnection)
        self.controls.validity_changed.connect(self._update_actions)
        self.controls.learning_rate_edited.connect(self._on_learning_rate_edited)
        self.controls.momentum_edited.connect(self._on_momentum_edited)
        self.controls.patience_edited.connect(self._on_patience_edited)
        self.controls.learning_rate_slider.sliderReleased.connect(self._apply_live_edits)
        self.runs_panel.selection_changed.connect(self._update_actions)
        self.plots.log_loss_changed.connect(self.log_loss_action.setChecked)
        self.runs_panel.overlay_toggled.connect(self._on_overlay_toggled)
        self.runs_panel.model_requested.connect(self.show_run_model)
        self.banner.download_requested.connect(self.download_data)
        self.banner.choose_folder_requested.connect(self.choose_data_folder)

    def _restore(self) -> None:
        """The remembered geometry and splitter positions, else the default layout at 1400×900."""
        self.setMinimumSize(*MINIMUM_SIZE)
        self.resize(*DEFAULT_SIZE)
        self.main_splitter.setSizes(list(DEFAULT_COLUMNS))
        self.centre_splitter.setSizes([DEFAULT_SIZE[1] - DEFAULT_RUNS_HEIGHT, DEFAULT_RUNS_HEIGHT])
        self.restoreGeometry(self.settings.byte_array("geometry"))
        for splitter in self.splitters:
            state = self.settings.byte_array(splitter.objectName())
            if not state.isEmpty():
                splitter.restoreState(state)

    def _load_runs(self) -> None:
        runs, problems = list_runs(self.runs_root)
        self.runs_panel.set_runs(runs)
        for problem in problems:
            log.warning("skipped a run folder: %s", problem)
        self._runs_started = len(runs)

    # -- data --------------------------------------------------------------------------------

    def load_data(self, folder: Path, *, quiet: bool = False) -> bool:
        """Load MNIST from ``folder``; without it, offer a download (and, unless ``quiet``, say why)."""
        folder = Path(folder)
        self.status_label.setText(f"Loading MNIST from {folder}…")
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            mnist = load_mnist(folder)
            split = split_mnist(mnist)
        except (ValueError, OSError) as exc:  # DataError is a ValueError, as is too small a training set
            reason = str(exc) or type(exc).__name__
            if self.split is None:
                self.status_label.setText(f"No training data: {reason}")
                self.data_folder = folder
                self.banner.show_missing(folder, reason)
            else:
                where = f" from {self.data_folder}" if self.data_folder else ""
                reason = f"{reason}\n\nThe data loaded before{where} is still in use."
                self.status_label.setText(f"Cannot use {folder}; still training on the data loaded before")
            if not quiet:
                show_error(self, "Cannot use this folder", reason)
            self._update_actions()
            self.data_changed.emit(self.split is not None)
            return False
        finally:
            QApplication.restoreOverrideCursor()
        self.set_data(split, folder)
        return True

    def set_data(self, split: Split, folder: Path | None) -> None:
        """Train on ``split`` from now on; its test images feed the sketch panel's samples."""
        self.split = split
        self.data_folder = folder
        if folder is not None:
            self.settings.data_dir = folder
        focus = self.focusWidget()
        if focus is None or self.banner.isAncestorOf(focus):
            # The banner's buttons go with it: hand the keys to the window, so Space starts a run
            # (left on a hidden button, Space would press it again). This also holds when the window
            # is inactive, e.g. behind a native folder dialog: Qt gives it this focus when it returns.
            self.setFocus(Qt.FocusReason.OtherFocusReason)
        self.banner.hide()
        shape = split.image_shape
        self.sketch_panel.set_test_set(split.x_test.reshape(-1, *shape), split.y_test)
        where = f" from {folder}" if folder else ""
        self.status_label.setText(f"{len(split.x_train):,} training, {len(split.x_val):,} validation and "
                                  f"{len(split.x_test):,} test images{where}")
        self._update_actions()
        self.data_changed.emit(True)

    @Slot()
    def choose_data_folder(self) -> None:
        folder = choose_folder(self, "Choose the MNIST folder", self.data_folder or default_data_dir())
        if folder is not None:
            self.load_data(folder)

    @Slot()
    def download_data(self) -> None:
        if self.download_dialog is not None or self._close_pending:
            return
        if is_running(self._download_thread):
            self.status_label.setText("The cancelled download is still ending: try again in a moment")
            return
        dest = self.data_folder or default_data_dir()
        self.download_dialog = DownloadDialog(dest, self)
        self._download_thread = self.download_dialog.thread_
        self._download_thread.finished.connect(self._on_download_thread_finished)
        self.download_dialog.downloaded.connect(self._on_downloaded)
        self.download_dialog.download_failed.connect(self._on_download_failed)
        self.download_dialog.finished.connect(self._forget_download)
        self.download_dialog.open()

    @Slot(object)
    def _on_downloaded(self, folder: Path) -> None:
        self.load_data(folder)

    @Slot(str)
    def _on_download_failed(self, reason: str) -> None:
        show_error(self, "Download failed", f"{reason}.\n\nIf you have the files, press Choose folder… in the "
                   "banner (or File > Open data folder) and pick the folder that holds them.")

    @Slot()
    def _forget_download(self) -> None:
        dialog, self.download_dialog = self.download_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    @Slot()
    def _on_download_thread_finished(self) -> None:
        join(self._download_thread)  # it emits finished just before it ends: a moment at most
        if self._close_pending:
            self._close_when_idle()

    # -- running -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """A worker is training."""
        return self.worker is not None

    @property
    def busy(self) -> bool:
        """Training, or still saving the run that just ended."""
        return self.worker is not None or self._saving is not None

    @Slot()
    def start_or_pause(self) -> None:
        if self.running:
            self.pause_action.toggle()
        elif self.start_action.isEnabled():
            self.start_run()

    @Slot()
    def start_run(self) -> None:
        """Train a fresh network with the form's configuration."""
        config = self.controls.config()
        if self.busy or config is None or self.split is None:
            return
        try:
            self.trainer = Trainer(config, self.split)
        except ValueError as exc:
            show_error(self, "Cannot start", str(exc))
            return
        self._runs_started += 1
        self.run_name = f"{self.controls.current_preset()} #{self._runs_started}"
        self.run_folder = None
        self.last_result = None
        self._history_shown = []
        self.plots.start_run(self._run_title(), config.max_epochs, config.patience)
        self.epoch_label.setText(f"Epoch 0 of {config.max_epochs}")
        self._launch(config.max_epochs)

    def _run_title(self, learning_rate: float | None = None) -> str:
        """The live run's name and its learning rate, "lr 0.001→0.1" once changed live."""
        started = self.trainer.config.learning_rate
        rate = f"{started:g}" if learning_rate in (None, started) else f"{started:g}→{learning_rate:g}"
        return f"{self.run_name} (lr {rate})"

    @Slot()
    def train_one_more_epoch(self) -> None:
        """Continue the finished run by one epoch, with the form's live settings."""
        if self.busy or self.trainer is None or not self.one_more_action.isEnabled():
            return  # also after a failure or a divergence: see _update_actions
        self._push_live_settings()
        self._launch(1)
        self.epoch_label.setText(f"Epoch {self.trainer.epoch} of {self._launch_epochs}")

    def _push_live_settings(self) -> None:
        self._live_timer.stop()
        self._live_edits.clear()
        trainer, form = self.trainer, self.controls
        trainer.set_learning_rate(form.learning_rate_box.value())
        trainer.set_momentum(form.momentum_box.value())
        trainer.set_patience(form.patience_box.value())

    def _launch(self, epochs: int) -> None:
        # A Stop or Pause pressed as the last run ended is still set in the trainer: forget it, or it
        # would end (or hold) this run at its first batch. No thread drives the trainer now.
        self.trainer.reset_controls()
        self._run_ending = False
        self._launch_epochs = self.trainer.epoch + epochs
        worker = TrainingWorker(self.trainer)
        worker.batch_progressed.connect(self._on_batch_progressed)
        worker.epoch_finished.connect(self._on_epoch_finished)
        worker.best_network_changed.connect(self._on_best_network_changed)
        worker.setting_changed.connect(self._on_setting_changed)
        worker.finished.connect(self._on_run_finished)
        worker.failed.connect(self._on_run_failed)
        worker.done.connect(self._on_worker_done)
        self.worker = worker
        self._reset_pause_action()
        # Until the first batch reports (seconds, with a big network) say so, not what the last run said.
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("starting…")
        self.status_label.setText(f"Training {self.run_name}: starting…")
        self.thread_ = worker.start(epochs)
        self._update_actions()
        self.run_started.emit()

    def _reset_pause_action(self) -> None:
        """Unchecked and reading "Pause", without pausing or resuming anything."""
        with_pause = self.pause_action.blockSignals(True)
        self.pause_action.setChecked(False)
        self.pause_action.setText("Pause")
        self.pause_action.blockSignals(with_pause)

    @property
    def controllable(self) -> bool:
        """A run is training and has not ended yet: Pause and Stop act on it."""
        return self.running and not self._run_ending

    @Slot(bool)
    def set_paused(self, paused: bool) -> None:
        if not self.controllable:
            self._reset_pause_action()
            return
        if paused:
            self.trainer.pause()
            self.status_label.setText(f"Paused {self.run_name}: press Space or Resume to go on")
        else:
            self.trainer.resume()
            self.status_label.setText(f"Training {self.run_name}…")
        self.pause_action.setText("Resume" if paused else "Pause")

    @Slot()
    def stop_run(self) -> None:
        if self.controllable:
            self.worker.request_stop()
            self.status_label.setText("Stopping after this batch…")

    @Slot()
    def reset_run(self) -> None:
        """Forget the current run (it stays in the runs list) and clear the plots."""
        if self.busy:
            return
        self.trainer = None
        self.run_folder = None
        self.last_result = None
        self._history_shown = []
        config = self.controls.config()
        self.plots.start_run("", config.max_epochs if config else 0, config.patience if config else 0)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("idle")
        self.epoch_label.setText("")
        self.status_label.setText("Ready")
        self._update_actions()

    # Live settings reach the trainer (which applies them from the next batch) once they have rested
    # for LIVE_EDIT_DELAY_MS, or when the slider is let go: a drag across the learning-rate slider,
    # or a held arrow key, is one deliberate change with one marker, not one per value passed.
    @Slot(float)
    def _on_learning_rate_edited(self, value: float) -> None:
        self._edit_live("learning_rate", value)

    @Slot(float)
    def _on_momentum_edited(self, value: float) -> None:
        self._edit_live("momentum", value)

    @Slot(int)
    def _on_patience_edited(self, value: int) -> None:
        self._edit_live("patience", value)

    def _edit_live(self, name: str, value: float) -> None:
        if self.running:
            self._live_edits[name] = value
            self._live_timer.start()  # restarts the wait

    @Slot()
    def _apply_live_edits(self) -> None:
        if self.controls.learning_rate_slider.isSliderDown():
            return  # still dragging: the release applies the value it is let go at
        self._live_timer.stop()
        edits, self._live_edits = self._live_edits, {}
        if not self.running:
            return
        setters = {"learning_rate": self.trainer.set_learning_rate, "momentum": self.trainer.set_momentum,
                   "patience": self.trainer.set_patience}
        for name, value in edits.items():
            setters[name](value)

    # -- the worker's reports (GUI thread) ---------------------------------------------------

    @Slot(object)
    def _on_batch_progressed(self, progress: BatchProgress) -> None:
        # Batch reports come at up to 20 Hz; the plots redraw at PLOT_INTERVAL_MS, which keeps
        # the GUI thread (and its hold on the GIL) from slowing the training thread down.
        if not self._pending_batches and self.status_label.text().endswith("starting…"):
            self.status_label.setText(f"Training {self.run_name}…")  # the first batches are in
        self._pending_batches.append(progress)
        if not self._plot_timer.isActive():
            self._plot_timer.start()

    @Slot()
    def _show_pending_batches(self) -> None:
        pending, self._pending_batches = self._pending_batches, []
        self._plot_timer.stop()
        self.plots.add_batches(*pending)
        if pending:
            progress = pending[-1]
            fraction = progress.fraction
            left = progress.seconds / fraction - progress.seconds if fraction > 0 else 0.0
            self.progress_bar.setValue(round(1000 * fraction))
            self.progress_bar.setFormat(f"epoch {progress.epoch}: {100 * fraction:.0f}% · "
                                        f"{seconds_text(left)} left")
        for progress in pending:
            self.batch_shown.emit(progress)

    @Slot(object)
    def _on_epoch_finished(self, report: EpochReport) -> None:
        # Two turns of the event loop instead of one: the batch trace now, the epoch's points in
        # the next, so neither holds the GUI thread much past 10 ms. The queued signal keeps the
        # order of the worker's own events, which were posted before it.
        self._show_pending_batches()
        self._epochs_to_show.append(report)
        self._epoch_deferred.emit()

    @Slot()
    def _show_deferred_epochs(self) -> None:
        while self._epochs_to_show:
            self._show_epoch(self._epochs_to_show.pop(0))

    def _show_epoch(self, report: EpochReport) -> None:
        self.plots.add_epoch(report)
        self._history_shown.append(report)
        patience = "off" if report.patience_left is None else f"{report.patience_left} left"
        self.epoch_label.setText(
            f"Epoch {report.epoch} of {self._launch_epochs} · val acc {percent(report.val_accuracy)} · "
            f"best {percent(report.best_val_accuracy)} (epoch {report.best_epoch}) · patience {patience}")
        self.epoch_shown.emit(report)

    @Slot(object, object)
    def _on_best_network_changed(self, network: Network, report: EpochReport) -> None:
        """``network`` holds the weights of ``report``'s epoch, the best so far (both sent by the worker)."""
        self.sketch_panel.set_network(
            network, f"{self.run_name}, epoch {report.epoch}, val acc {percent(report.val_accuracy)}")

    @Slot(object)
    def _on_setting_changed(self, change: SettingChanged) -> None:
        self._show_pending_batches()
        self.plots.mark_change(change)
        if change.name == "learning_rate" and self.trainer is not None:
            self.plots.set_label(self._run_title(change.new))
        self.status_label.setText(f"{change.name.replace('_', ' ')} {change.old:g} → {change.new:g} "
                                  f"from epoch {change.epoch}, batch {change.batch}")
        self.change_shown.emit(change)

    @Slot(object)
    def _on_run_finished(self, result: TrainingResult) -> None:
        self._show_pending_batches()
        self._show_deferred_epochs()  # the last epoch's points before the result
        self.last_result = result
        self._end_controls()
        self.plots.show_result(result)

    @Slot(str)
    def _on_run_failed(self, message: str) -> None:
        self.last_result = None
        self._end_controls()
        self.status_label.setText(f"{self.run_name} failed: {message}")
        show_error(self, "Training failed", message)
        self.run_failed.emit(message)

    def _end_controls(self) -> None:
        """The run has ended (its thread is finishing): Pause and Stop go off at once."""
        self._run_ending = True
        self._reset_pause_action()
        self._update_actions()

    @Slot()
    def _on_worker_done(self) -> None:
        """The job is over: wait for its thread, then save and list the run, a step per event-loop turn."""
        join(self.thread_)
        self.worker = self.thread_ = None
        self._run_ending = False
        self._reset_pause_action()
        self._show_deferred_epochs()
        result = self.last_result
        self.progress_bar.setValue(1000 if result and result.reason != "stopped" else self.progress_bar.value())
        self.progress_bar.setFormat("done" if result else "failed")
        if result is None:
            self._update_actions()
            if self._close_pending:
                self._close_when_idle()
            return
        self.status_label.setText(f"{self.run_name}: {result.message}; test accuracy "
                                  f"{percent(result.test_accuracy)}")
        self._saving = self._save_run_steps(result)
        self._update_actions()
        self._save_timer.start()

    @Slot()
    def _save_next_step(self) -> None:
        try:
            next(self._saving)
        except StopIteration:
            self._save_timer.stop()
            self._saving = None
            self._update_actions()
            self.run_finished.emit(self.last_result)
            if self._close_pending:
                self._close_when_idle()

    def _finish_saving(self) -> None:
        """Take the remaining save steps now (the window is closing)."""
        while self._saving is not None:
            self._save_next_step()

    def _save_run_steps(self, result: TrainingResult) -> Iterator[None]:
        """Save the run folder (model, history CSV, history picture) and list it, yielding between steps.

        Each step takes at most ~15 ms, and the event loop turns between them, so the window keeps
        painting and answering while a run is written (drawing and writing the picture in one go took
        over 100 ms). The form stays locked meanwhile: the steps read the trainer's network and history.
        """
        if not result.epochs:
            return
        trainer, name = self.trainer, self.run_name
        try:
            if self.run_folder is None:
                self.run_folder = new_run_folder(self.runs_root)
            folder = self.run_folder
            save_run(folder, trainer, name=name)
            yield
            image = draw_history(trainer.history, title=name)
            yield
            save_png(image, folder / PLOT)
            yield
            run = load_run(folder)
        except (OSError, ModelFileError) as exc:
            log.exception("could not save the run")
            show_error(self, "Could not save the run", f"The run could not be saved in {self.runs_root}: {exc}")
            return
        self.runs_panel.add_run(run)

    # -- runs --------------------------------------------------------------------------------

    @Slot(object, bool)
    def _on_overlay_toggled(self, run: Run, shown: bool) -> None:
        key = str(run.folder)
        if shown:
            self.plots.set_overlay(key, run.name, run.history, self.runs_panel.color(run))
        else:
            self.plots.remove_overlay(key)

    @Slot(object)
    def show_run_model(self, run: Run) -> None:
        try:
            saved = load_model(run.model_path)
        except ModelFileError as exc:
            show_error(self, "Cannot load the model", str(exc))
            return
        accuracy = run.summary.get("test_accuracy")
        self.sketch_panel.set_network(saved.network, f"{run.name}, test acc {percent(accuracy)}")

    @Slot()
    def choose_run_folder(self) -> None:
        folder = choose_folder(self, "Open a run folder", self.runs_root)
        if folder is None:
            return
        try:
            run = load_run(folder)
        except (OSError, ModelFileError) as exc:
            show_error(self, "Cannot open the run", f"{folder} is not a run folder: {exc}")
            return
        self.runs_panel.add_run(run)
        self.runs_panel.set_checked(run, True)

    # -- files -------------------------------------------------------------------------------

    def _save_path(self, title: str, name: str, kinds: str) -> Path | None:
        """Ask where to save; a name typed without an extension gets ``name``'s (``mymodel`` -> ``mymodel.npz``),
        so the file shows under the filter it was saved with."""
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path.home() / name), kinds)
        if not path:
            return None
        path = Path(path)
        return path if path.suffix else path.with_name(path.name + Path(name).suffix)

    def _current_history(self) -> tuple:
        # The GUI's own list: the trainer's history is written by the training thread during a run.
        if self.trainer is not None and self._history_shown:
            return tuple(self._history_shown)
        run = self.runs_panel.selected_run()
        return run.history if run else ()

    @Slot()
    def choose_model_to_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a model", str(self.runs_root), "Models (*.npz)")
        if not path:
            return
        try:
            saved = load_model(path)
        except ModelFileError as exc:
            show_error(self, "Cannot load the model", str(exc))
            return
        self.sketch_panel.set_network(saved.network, str(saved.metadata.get("name", Path(path).name)))

    @Slot()
    def choose_model_to_save(self) -> None:
        """Save the live run's best network, or (with no live run) the model of the run selected in the list."""
        if self.busy:
            return
        run = self.runs_panel.selected_run() if self.trainer is None else None
        if self.trainer is None and run is None:
            return
        path = self._save_path("Save the model", "model.npz", "Models (*.npz)")
        if path is None:
            return
        try:
            if run is not None:
                copy_file(run.model_path, path)
            else:
                metadata = {"name": self.run_name, "config": self.trainer.config.to_dict()}
                if self.last_result is not None:
                    metadata["test_accuracy"] = self.last_result.test_accuracy
                save_model(path, self.trainer.network, metadata=metadata)
        except OSError as exc:
            show_error(self, "Cannot save the model", f"{path}: {exc.strerror or exc}")
            return
        self.status_label.setText(f"Saved the model to {path}")

    @Slot()
    def choose_csv_to_export(self) -> None:
        history = self._current_history()
        if not history:
            show_error(self, "Nothing to export", "Train a run (or select one in the runs list) first.")
            return
        path = self._save_path("Export the history", "history.csv", "CSV files (*.csv)")
        if path is None:
            return
        try:
            write_history_csv(path, history)
        except OSError as exc:
            show_error(self, "Cannot export", f"{path}: {exc.strerror or exc}")
            return
        self.status_label.setText(f"Wrote {len(history)} epochs to {path}")

    @Slot()
    def choose_png_to_export(self) -> None:
        if not self._history_shown and not self.plots.overlay_keys() and not len(self.plots.batch_trace()[0]):
            show_error(self, "Nothing to export", "The plots are empty: train a run (or tick one in the runs "
                       "list) first.")
            return
        path = self._save_path("Export the plots", "training_plots.png", "PNG images (*.png)")
        if path is None:
            return
        try:
            self.plots.export_png(path)
        except OSError as exc:
            show_error(self, "Cannot export", str(exc))
            return
        self.status_label.setText(f"Saved the plots to {path}")

    # -- state -------------------------------------------------------------------------------

    @Slot()
    def _update_actions(self, *_: object) -> None:
        busy = self.busy
        idle_trainer = not busy and self.trainer is not None
        # Not after a divergence, nor after a failure (the weights may be half-updated): Start afresh.
        can_continue = idle_trainer and self.last_result is not None and self.last_result.reason != "diverged"
        reason = ""
        if self.split is None:
            reason = "No training data yet: download MNIST or choose its folder."
        elif not self.controls.is_valid:
            reason = "Fix the settings marked below to start."
        if self._close_pending:
            reason, can_continue = "Closing…", False
        self.start_action.setEnabled(not busy and not reason)
        self.start_action.setToolTip(reason or "Train a new network with the settings below (Space).")
        self.start_reason.setText(reason)
        self.start_reason.setVisible(bool(reason))
        self.pause_action.setEnabled(self.controllable)
        self.stop_action.setEnabled(self.controllable)
        self.one_more_action.setEnabled(can_continue and self.split is not None)
        self.reset_action.setEnabled(idle_trainer)
        # Like Export history CSV, Save model acts on the live run, else on the run selected in the list.
        selected = self.runs_panel.selected_run() is not None
        self.save_model_action.setEnabled(not busy and (self.trainer is not None or selected))
        self.open_data_action.setEnabled(not busy)
        self.controls.set_structure_locked(busy)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """Let text fields and the sketch pad keep Space and Esc instead of the window's shortcuts."""
        if (event.type() == QEvent.Type.ShortcutOverride
                and event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Escape)
                and isinstance(watched, QWidget) and watched.window() is self
                and (isinstance(watched, KEY_OWNERS) or self.sketch_panel.isAncestorOf(watched))):
            event.accept()
            return True
        return False

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Stop a run (keeping it), cancel a download, wait for their threads, remember the layout.

        A thread that does not end within CLOSE_WAIT_MS (a batch of a huge network, a download stuck
        in a read) keeps the window open, saying so; it closes itself once the thread has ended and
        the run is saved. (Closing with a thread still running would crash the app at exit.)
        """
        if self.running:
            self.worker.request_stop()
            if self._close_pending or not join(self.thread_, CLOSE_WAIT_MS):
                self._wait_to_close(event, "Stopping… the window closes when the current batch ends")
                return
            # Deliver the worker's last queued reports now, so the stopped run is saved and listed.
            QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        self._finish_saving()
        if self.download_dialog is not None:
            self.download_dialog.cancel_download()
        if is_running(self._download_thread) and (self._close_pending
                                                  or not join(self._download_thread, CLOSE_WAIT_MS)):
            self._wait_to_close(event, "Cancelling the download… the window closes when it has stopped")
            return
        self._remember()
        QApplication.instance().removeEventFilter(self)
        super().closeEvent(event)

    def _wait_to_close(self, event: QCloseEvent, message: str) -> None:
        event.ignore()
        self._close_pending = True
        self.status_label.setText(message)
        self._update_actions()

    def _close_when_idle(self) -> None:
        """Close now if the close asked for earlier has nothing left to wait for."""
        if not self.busy and not is_running(self._download_thread):
            QTimer.singleShot(0, self.close)

    def _remember(self) -> None:
        s = self.settings
        s.set_byte_array("geometry", self.saveGeometry())
        for splitter in self.splitters:
            s.set_byte_array(splitter.objectName(), splitter.saveState())
        config = self.controls.config()
        if config is not None:
            s.training_config = config
            s.preset = self.controls.current_preset()
        s.log_loss = self.plots.log_loss
        if self.data_folder is not None and self.split is not None:
            s.data_dir = self.data_folder
        s.sync()
