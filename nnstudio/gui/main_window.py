"""The studio's main window: it places the panels, owns the menus and actions, and closes cleanly.

What the app knows lives in two objects the window creates and hands to the panels: the
:class:`~nnstudio.gui.workspace.Workspace` (data, runs, the model in use, the sketch) and the
:class:`~nnstudio.gui.run_session.RunSession` (the live run, on its worker thread). Data flows
one way: controls -> session -> trainer (its thread) -> session -> panels. The tabs are listed
in :data:`TABS`, one line each; the sketch pad is a dock beside them, visible from every tab.
The first tab is built with the window, the others when first shown (or before the first run starts,
or a run is selected, so that they follow it whole; the app builds them once idle after start-up).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QTabBar,
    QTabWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.dataset import Split
from nnstudio.core.mnist import resolve_data_dir
from nnstudio.core.run_folder import run_folders
from nnstudio.gui.about import show_about
from nnstudio.gui.controls import ControlsPanel
from nnstudio.gui.messages import show_error
from nnstudio.gui.panels.data_banner import DataBannerPanel
from nnstudio.gui.panels.evaluate_tab import EvaluatePanel
from nnstudio.gui.panels.inside import InsidePanel
from nnstudio.gui.panels.sketch import SketchDockPanel
from nnstudio.gui.panels.status import StatusPanel
from nnstudio.gui.panels.teach_tab import TeachTab
from nnstudio.gui.panels.train_tab import TrainTab
from nnstudio.gui.file_actions import FileActions
from nnstudio.gui.run_actions import RunActions, make_action
from nnstudio.gui.run_session import RunSession
from nnstudio.gui.settings import Settings, from_environment
from nnstudio.gui.when_shown import LazyPage
from nnstudio.gui.workspace import Workspace
from nnstudio.resources import resource_path

DEFAULT_SIZE = (1400, 900)
MINIMUM_SIZE = (1100, 700)
SKETCH_WIDTH = 340
SKETCH_MIN_WIDTH = 300
RUNS_LISTED_AT_ONCE = 100  # more run folders than this are listed on a worker thread
IDLE_BUILD_MS = 1000  # after start-up the tabs not shown yet are built once the window has been idle this long
CLOSE_WAIT_MS = 3000  # closing waits this long for a run or a download to end, then closes once they have
TEXT_KEYS = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)  # keep Space and Esc
SPACE_KEYS = TEXT_KEYS + (QAbstractButton, QAbstractItemView, QComboBox, QAbstractSlider, QTabBar)  # keep Space

# The tabs, one line each: (title, how to build the panel from the window). See nnstudio/gui/panels.
TABS = (
    ("Train", lambda w: TrainTab(w.workspace, w.session, w.run_actions)),
    ("Evaluate", lambda w: EvaluatePanel(w.workspace, w.session)),
    ("Inside the network", lambda w: InsidePanel(w.workspace, w.session)),
    ("Teach", lambda w: TeachTab(w.workspace, w.session, w.run_actions)),
)


class MainWindow(QMainWindow):
    """The studio. ``settings`` remembers the form, the data folder and the layout; ``runs_root`` is
    where runs are saved and listed from; ``data_dir`` overrides where MNIST is looked for (else the
    remembered folder, else ``$NNSTUDIO_DATA``, else the user cache); ``split`` uses that data instead
    of loading MNIST (tests pass small real subsets)."""

    def __init__(self, settings: Settings, runs_root: Path, *, data_dir: Path | None = None,
                 split: Split | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.close_wait_ms = CLOSE_WAIT_MS
        self._close_pending = False
        self.setWindowTitle("nnstudio")
        self.setObjectName("mainWindow")
        icon = resource_path("icon.svg")
        if icon.exists():
            self.setWindowIcon(QIcon(str(icon)))

        self.workspace = Workspace(runs_root, self)
        if len(run_folders(runs_root)) <= RUNS_LISTED_AT_ONCE:
            self.workspace.load_runs()
        else:  # thousands of runs list in the background: the window opens at once
            self.workspace.load_runs_in_background()
        self.session = RunSession(self.workspace, self)
        self.controls = ControlsPanel()
        if settings.training_config is not None:
            self.controls.set_config(settings.training_config, settings.preset)
        self.run_actions = RunActions(self.session, self.workspace, self.controls, self)
        self._build_panels()
        self._build_actions()
        self._build_menus()
        self._connect()
        self._restore()
        # Space and Esc reach the focused widget first: it alone is watched (an application-wide
        # filter would run Python for each of the thousands of events an epoch of plotting makes).
        QApplication.instance().focusChanged.connect(self._watch_focus)
        self._watch_focus(None, QApplication.focusWidget())

        if split is not None:
            self.workspace.set_data(split, None)
            self.workspace.post_message(self.workspace.describe_data())
        else:
            folder = data_dir or settings.data_dir or resolve_data_dir()
            QTimer.singleShot(0, self, lambda: self.banner.load(folder, quiet=True))

    # -- construction ------------------------------------------------------------------------

    def _build_panels(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        self.tabs.setAccessibleName("Views")
        self.tabs.setDocumentMode(True)
        self.train: TrainTab = TABS[0][1](self)  # the first tab is built now, the others when first needed
        self.tabs.addTab(self.train, TABS[0][0])
        for title, make in TABS[1:]:
            self.tabs.addTab(LazyPage(lambda make=make: make(self)), title)
        self.train.plots.set_log_loss(self.settings.log_loss)
        self.banner = DataBannerPanel(self.workspace)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.sketch_panel = SketchDockPanel(self.workspace)
        self.sketch_dock = QDockWidget("Sketch a digit")
        self.sketch_dock.setObjectName("sketchDock")
        self.sketch_dock.setAccessibleName("Sketch a digit")
        self.sketch_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        holder = QWidget()
        QVBoxLayout(holder).addWidget(self.sketch_panel)
        holder.setMinimumWidth(SKETCH_MIN_WIDTH)
        self.sketch_dock.setWidget(holder)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.sketch_dock)

        self.status = StatusPanel(self.workspace, self.session)
        self.statusBar().addWidget(self.status, 1)

    def _build_actions(self) -> None:
        def a(*args, **kwargs):
            action = make_action(self, *args, **kwargs)
            self.addAction(action)  # shortcuts work without a menu bar too
            return action

        plots = self.train.plots
        self.file_actions = FileActions(self.workspace, self.session, plots, self.banner, self)
        self.quit_action = a("Quit", self.close, "Ctrl+Q")
        self.log_loss_action = a("Log-scale loss", plots.set_log_loss, None,
                                 "Show both loss plots on a logarithmic scale.", checkable=True)
        self.log_loss_action.setChecked(plots.log_loss)
        self.fit_action = a("Fit plots", plots.fit_view, "Ctrl+0", "Show the whole run and follow it.")
        self.about_action = a("About nnstudio", lambda: show_about(self))
        for action in (*self.run_actions.all, *self.file_actions.all):
            if action is not None:
                self.addAction(action)  # shortcuts work without a menu bar too

    def _build_menus(self) -> None:
        r = self.run_actions
        menus = {"&File": (*self.file_actions.all, None, self.quit_action),
                 "&Run": r.all,
                 "&View": (self.log_loss_action, self.fit_action, None, self.sketch_dock.toggleViewAction()),
                 "&Help": (self.about_action,)}
        for title, actions in menus.items():
            menu = self.menuBar().addMenu(title)
            for action in actions:
                menu.addSeparator() if action is None else menu.addAction(action)

    def _connect(self) -> None:
        session, workspace = self.session, self.workspace
        session.best_network_changed.connect(lambda network, report: workspace.set_model(
            network, session.describe(report)))
        session.failed.connect(lambda message: show_error(self, "Training failed", message))
        session.save_failed.connect(lambda message: show_error(self, "Could not save the run", message))
        session.phase_changed.connect(self._close_when_idle)
        # A panel that follows runs is built before the first run starts or a run is selected.
        session.launching.connect(self.build_pages)
        workspace.selection_changed.connect(self._build_pages_for_selection)
        workspace.data_changed.connect(self._remember_data_folder)
        self.train.plots.log_loss_changed.connect(self.log_loss_action.setChecked)
        self._update_actions()

    def _restore(self) -> None:
        """The remembered geometry, docks, splitters and tab, else the default layout at 1400×900."""
        self.setMinimumSize(*MINIMUM_SIZE)
        self.resize(*DEFAULT_SIZE)
        self.resizeDocks([self.sketch_dock], [SKETCH_WIDTH], Qt.Orientation.Horizontal)
        s = self.settings
        self.restoreGeometry(s.byte_array("geometry"))
        self.restoreState(s.byte_array("state"))
        for splitter in self.train.splitters:
            state = s.byte_array(splitter.objectName())
            if not state.isEmpty():
                splitter.restoreState(state)
        self.tabs.setCurrentIndex(s.tab if s.tab < self.tabs.count() else 0)

    def _remember(self) -> None:
        s = self.settings
        s.set_byte_array("geometry", self.saveGeometry())
        s.set_byte_array("state", self.saveState())
        for splitter in self.train.splitters:
            s.set_byte_array(splitter.objectName(), splitter.saveState())
        s.tab = self.tabs.currentIndex()
        config = self.controls.config()
        if config is not None:
            s.training_config = config
            s.preset = self.controls.current_preset()
        s.log_loss = self.train.plots.log_loss
        if self.workspace.data_folder is not None and self.workspace.split is not None:
            self._remember_data_folder(True)
        s.sync()

    @Slot(bool)
    def _remember_data_folder(self, has_data: bool) -> None:
        folder = self.workspace.data_folder
        if has_data and folder is not None and (folder == self.banner.chosen_folder or not from_environment(folder)):
            self.settings.data_dir = folder  # but not a folder only $NNSTUDIO_DATA named: it ends with the variable

    def panel(self, title: str) -> QWidget:
        """The panel of the tab titled ``title`` (built now if it was not yet)."""
        page = self.tabs.widget(self._tab_index(title))
        return page.panel() if isinstance(page, LazyPage) else page

    def show_panel(self, title: str) -> QWidget:
        """Bring the tab titled ``title`` to the front, as a click on it would; returns its panel."""
        panel = self.panel(title)
        self.tabs.setCurrentIndex(self._tab_index(title))
        return panel

    def _tab_index(self, title: str) -> int:
        return [self.tabs.tabText(i) for i in range(self.tabs.count())].index(title)

    def _unbuilt_pages(self) -> list[LazyPage]:
        pages = [self.tabs.widget(i) for i in range(self.tabs.count())]
        return [page for page in pages if isinstance(page, LazyPage) and not page.built]

    @Slot()
    def build_pages(self, *_: object) -> bool:
        """Build every tab's panel not built yet; whether any was."""
        new = self._unbuilt_pages()
        for page in new:
            page.build()
        return bool(new)

    def build_pages_when_idle(self, delay_ms: int = IDLE_BUILD_MS) -> None:
        """Build the tabs not built yet once the window has been idle ``delay_ms``, one per turn of the
        event loop (the app does this after start-up, so the first Start click builds nothing)."""
        QTimer.singleShot(delay_ms, self, self._build_next_page)

    @Slot()
    def _build_next_page(self) -> None:
        new = self._unbuilt_pages()
        if new:
            new[0].build()
            QTimer.singleShot(0, self, self._build_next_page)

    @Slot(object)
    def _build_pages_for_selection(self, run: object) -> None:
        if run is not None and self.build_pages():  # panels built just now missed it: say it again
            self.workspace.select_run(run)

    # -- state -------------------------------------------------------------------------------

    @Slot()
    def _update_actions(self, *_: object) -> None:
        self.run_actions.closing = self._close_pending
        self.run_actions.update()

    @Slot(object, object)
    def _watch_focus(self, old: QWidget | None, new: QWidget | None) -> None:
        for widget, watch in ((old, False), (new, True)):
            try:
                if widget is not None and (not watch or widget.window() is self):
                    (widget.installEventFilter if watch else widget.removeEventFilter)(self)
            except RuntimeError:  # deleted meanwhile
                pass

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """Space and Esc go to the focused widget that uses them, not to the window's shortcuts: Space
        to text fields, buttons, check boxes, lists, combo boxes, sliders and the sketch pad; Esc to
        text fields and the sketch pad. Elsewhere Space starts or pauses a run and Esc stops it."""
        if (event.type() == QEvent.Type.ShortcutOverride
                and event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Escape)
                and isinstance(watched, QWidget) and watched.window() is self):
            owners = SPACE_KEYS if event.key() == Qt.Key.Key_Space else TEXT_KEYS
            if isinstance(watched, owners) or self.sketch_panel.isAncestorOf(watched):
                event.accept()
                return True
        return False

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Stop a run (keeping it), cancel a download, wait for their threads, remember the layout.

        A thread that does not end within ``close_wait_ms`` (a batch of a huge network, a download
        stuck in a read) keeps the window open, saying so; it closes itself once the thread has ended
        and the run is saved. (Closing with a thread still running would crash the app at exit.)
        """
        wait = 0 if self._close_pending else self.close_wait_ms
        if not self.session.shutdown(wait):
            self._wait_to_close(event, "Stopping… the window closes when the current batch ends")
            return
        if not self.run_actions.shutdown(wait):  # Repeat ×N: its processes stop at their next batch
            self.run_actions.repeats.finished.connect(self._close_when_idle, Qt.ConnectionType.UniqueConnection)
            self._wait_to_close(event, "Stopping the repeats… the window closes when their current batches end")
            return
        if not self.banner.cancel_download(wait):
            self.banner.download_thread.finished.connect(self._close_when_idle, Qt.ConnectionType.UniqueConnection)
            self._wait_to_close(event, "Cancelling the download… the window closes when it has stopped")
            return
        self.workspace.stop_listing()
        self._remember()
        QApplication.instance().focusChanged.disconnect(self._watch_focus)
        self._watch_focus(QApplication.focusWidget(), None)
        super().closeEvent(event)

    def _wait_to_close(self, event: QCloseEvent, message: str) -> None:
        event.ignore()
        self._close_pending = True
        self.workspace.post_message(message)
        self._update_actions()

    @Slot()
    def _close_when_idle(self, *_: object) -> None:
        """Close now if the close asked for earlier has nothing left to wait for."""
        if (self._close_pending and not self.session.busy and not self.banner.download_running()
                and not self.run_actions.repeats.running):
            QTimer.singleShot(0, self.close)
