"""The run's actions (Start, Pause, Stop, +1 epoch, Reset, Start/Pause), for menus, buttons and keys.

:class:`RunActions` turns a user's command into a call on the :class:`RunSession`, with the
form's configuration and the workspace's data, and keeps each action enabled exactly when it
can act. The main window puts them in its Run menu; the Train tab makes buttons of them.

With a repeat count above 1 (:meth:`RunActions.set_repeat_count`, the form's "Repeat ×N"), Start
trains the form's configuration N times with seeds 0..N-1 in worker processes
(:class:`~nnstudio.gui.repeat_runs.RepeatRuns`), and Stop stops them.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QIcon, QKeySequence

from nnstudio.gui.messages import show_error
from nnstudio.gui.repeat_runs import RepeatRuns

NO_DATA = "No training data yet: download MNIST or choose its folder."
FIX_FORM = "Fix the settings marked below to start."
START_TIP = "Train a new network with the settings on the left (Space)."


def make_action(parent: QObject, text: str, slot, shortcut=None, tip: str = "", checkable: bool = False,
                name: str = "") -> QAction:
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    action.setCheckable(checkable)
    if name:
        action.setObjectName(name)
    (action.toggled if checkable else action.triggered).connect(slot)
    return action


class RunActions(QObject):
    """Start, Pause, Stop, +1 epoch, Reset and Start/Pause, bound to ``session``, ``workspace`` and ``form``
    (a :class:`~nnstudio.gui.controls.ControlsPanel`). ``reason`` says why Start is off ("" when on)."""

    changed = Signal()  # the actions' states (and ``reason``) were brought up to date

    def __init__(self, session, workspace, form, parent: QObject) -> None:
        super().__init__(parent)
        self.session, self.workspace, self.form = session, workspace, form
        self.closing = False
        self.reason = ""
        self.repeat_count = 1  # 1: Start trains one run in the window; more: repeats in worker processes
        self.repeats = RepeatRuns(workspace, self)
        a = make_action
        self.start = a(parent, "Start", self.start_run, None, START_TIP, name="startAction")
        self.pause = a(parent, "Pause", self.set_paused, None, "Pause after the current batch; press again to "
                       "resume.", checkable=True, name="pauseAction")
        self.stop = a(parent, "Stop", self.stop_run, Qt.Key.Key_Escape,
                      "Stop after the current batch and keep the best weights so far (Esc).", name="stopAction")
        self.one_more = a(parent, "+1 epoch", self.train_one_more_epoch, None,
                          "Train the finished run's network for one more epoch.", name="oneMoreAction")
        self.reset = a(parent, "Reset", session.reset, None, "Clear the plots and forget the current run.",
                       name="resetAction")
        self.toggle = a(parent, "Start / Pause", self.start_or_pause, Qt.Key.Key_Space,
                        "Start a run, or pause and resume the one going on (Space).", name="toggleAction")
        for action in (self.start, self.stop, self.toggle):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.start.setIcon(QIcon.fromTheme("media-playback-start"))
        self.stop.setIcon(QIcon.fromTheme("media-playback-stop"))
        self.pause.setIcon(QIcon.fromTheme("media-playback-pause"))
        self.all = (self.toggle, None, self.start, self.pause, self.stop, self.one_more, None, self.reset)

        session.phase_changed.connect(self.update)
        session.cleared.connect(self.update)
        session.paused_changed.connect(self._show_paused)
        form.validity_changed.connect(self.update)
        self.repeats.started.connect(self.update)
        self.repeats.finished.connect(self.update)
        workspace.data_changed.connect(self.update)
        self.update()

    @property
    def busy(self) -> bool:
        """A run or a group of repeats is going on."""
        return self.session.busy or self.repeats.running

    @Slot(int)
    def set_repeat_count(self, count: int) -> None:
        """How many times Start trains the form's configuration (seeds 0..count-1; 1 is a normal run)."""
        self.repeat_count = max(1, int(count))
        self.start.setText("Start" if self.repeat_count == 1 else f"Start ×{self.repeat_count}")
        self.update()

    @Slot()
    def stop_run(self) -> None:
        """Stop the run, or every repeat, after the current batch (keeping the best weights)."""
        if self.repeats.running:
            self.repeats.stop()
        else:
            self.session.stop()

    def shutdown(self, timeout_ms: int) -> bool:
        """Stop the repeats, if any, and wait up to ``timeout_ms`` for them (the window closing)."""
        return self.repeats.shutdown(timeout_ms)

    @Slot()
    def start_run(self) -> None:
        """Train a fresh network with the form's configuration (or its repeats, see :meth:`set_repeat_count`)."""
        config = self.form.config()
        if self.busy or config is None or self.workspace.split is None or self.closing:
            return
        if self.repeat_count > 1:
            reason = self.repeats.start(config, self.repeat_count, f"{self.form.current_preset()} ×{self.repeat_count}")
            if reason:
                self.workspace.post_message(reason)
            return
        split = self.workspace.split
        if self.workspace.mnist is not None and len(split.x_val) != config.validation_size:
            config = config.replace(validation_size=len(split.x_val))  # the run records what it validated on
        try:
            self.session.start(config, split, self.form.current_preset())
        except ValueError as exc:
            show_error(self.parent(), "Cannot start", str(exc))

    @Slot()
    def train_one_more_epoch(self) -> None:
        """Continue the finished run by one epoch, with the form's live settings."""
        if not self.one_more.isEnabled():
            return  # also after a failure or a divergence: see update
        self.session.continue_run(1, self.form.live_settings())

    @Slot()
    def start_or_pause(self) -> None:
        if self.session.controllable:
            self.pause.toggle()
        elif self.start.isEnabled():
            self.start_run()

    @Slot(bool)
    def set_paused(self, paused: bool) -> None:
        if not self.session.controllable:
            self._show_paused(False)
            return
        self.session.set_paused(paused)

    @Slot(bool)
    def _show_paused(self, paused: bool) -> None:
        """Checked and reading "Resume" while paused, without pausing or resuming anything."""
        blocked = self.pause.blockSignals(True)
        self.pause.setChecked(paused)
        self.pause.setText("Resume" if paused else "Pause")
        self.pause.blockSignals(blocked)

    @Slot()
    def update(self, *_: object) -> None:
        session = self.session
        busy = self.busy
        reason = ""
        if self.workspace.split is None:
            reason = NO_DATA
        elif not self.form.is_valid:
            reason = FIX_FORM
        elif self.repeat_count > 1 and not self.repeats.running:
            reason = self.repeats.problem(self.repeat_count)
        if self.closing:
            reason = "Closing…"
        self.reason = reason
        self.start.setEnabled(not busy and not reason)
        self.start.setToolTip(reason or START_TIP)
        self.pause.setEnabled(session.controllable)
        if not session.controllable:
            self._show_paused(False)
        self.stop.setEnabled(session.controllable or self.repeats.running)
        self.one_more.setEnabled(session.can_continue and self.workspace.split is not None and not self.closing
                                 and not self.repeats.running)
        self.reset.setEnabled(not busy and session.trainer is not None)
        self.changed.emit()
