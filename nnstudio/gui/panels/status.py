"""The status bar's panel: what the app is doing, the epoch's figures and the run's progress."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QWidget

from nnstudio.core.formatting import percent, time_left
from nnstudio.core.reports import BatchProgress, EpochReport, SettingChanged, TrainingResult
from nnstudio.gui.plot_style import setting_value
from nnstudio.gui.steady_label import SteadyLabel

WIDEST_EPOCH_TEXT = "Epoch 100 of 100 · val acc 100.00% · best 100.00% (epoch 100) · patience 100 left · lr 1.23e-4"


def run_time_left(progress: BatchProgress, last_epoch: int, epoch_seconds: list[float]) -> float:
    """Seconds until the launch reaches ``last_epoch``: the rest of this epoch at its own pace, then each
    epoch still to come at the mean pace of the epochs done (or this one's, before any is done)."""
    fraction = progress.fraction
    this_epoch = progress.seconds / fraction if fraction > 0 else 0.0
    per_epoch = sum(epoch_seconds) / len(epoch_seconds) if epoch_seconds else this_epoch
    return (this_epoch - progress.seconds) + max(last_epoch - progress.epoch, 0) * per_epoch


class StatusPanel(QWidget):
    """A message on the left; the epoch's figures and a progress bar on the right."""

    def __init__(self, workspace, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusPanel")
        self.setAccessibleName("Status")
        self.workspace, self.session = workspace, session
        self.status_label = QLabel("Ready")
        self.status_label.setObjectName("statusMessage")
        # Its text changes every epoch: a SteadyLabel asks for no new layout of the window (a QLabel's
        # new text did, on every tab, each epoch).
        self.epoch_label = SteadyLabel("epochLabel")
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("epochProgress")
        self.progress_bar.setRange(0, 100)  # whole percent: the bar repaints only when one is passed
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("idle")
        self.progress_bar.setToolTip("The progress of this epoch, and the time left until the run's last epoch "
                                     "(less if early stopping ends it sooner)")
        self.progress_bar.setFixedWidth(260)
        for widget, name in ((self.status_label, "Status message"), (self.epoch_label, "Epoch"),
                             (self.progress_bar, "Run progress")):
            widget.setAccessibleName(name)
        # Labels whose text changes every epoch must not ask for a new layout of the whole window.
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.epoch_label.setFixedWidth(self.epoch_label.fontMetrics().horizontalAdvance(WIDEST_EPOCH_TEXT) + 8)
        self.epoch_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status_label, 1)
        layout.addWidget(self.epoch_label)
        layout.addWidget(self.progress_bar)
        self._first_batch_seen = False

        session.started.connect(self._on_started)
        session.progressed.connect(self._on_progressed)
        session.epoch_finished.connect(self._on_epoch)
        session.setting_changed.connect(self._on_setting_changed)
        session.paused_changed.connect(self._on_paused)
        session.stop_requested.connect(lambda: self.show_message("Stopping after this batch…"))
        session.ended.connect(self._on_ended)
        session.failed.connect(self._on_failed)
        session.cleared.connect(self._on_cleared)
        workspace.message_posted.connect(self.show_message)

    @Slot(str)
    def show_message(self, text: str) -> None:
        self.status_label.setText(text)

    def message(self) -> str:
        return self.status_label.text()

    @Slot(object)
    def _on_started(self, launch) -> None:
        # Until the first batch reports (seconds, with a big network) say so, not what the last run said.
        self._first_batch_seen = False
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("starting…")
        self.show_message(f"Training {launch.name}: starting…")
        self.epoch_label.setText(f"Epoch {launch.first_epoch} of {launch.last_epoch}")

    @Slot(object)
    def _on_progressed(self, reports) -> None:
        if not self._first_batch_seen:
            self._first_batch_seen = True
            if self.message().endswith("starting…"):  # the first batches are in, on the threads chosen for them
                threads = getattr(self.session.trainer, "threads", None)
                on = f" on {threads} thread{'s' if threads != 1 else ''}" if threads else ""
                self.show_message(f"Training {self.session.run_name}{on}…")
        progress, launch = reports[-1], self.session.launch
        last = launch.last_epoch if launch else progress.epoch
        done = [r.seconds for r in self.session.history[launch.first_epoch if launch else 0:]]
        left = run_time_left(progress, last, done)
        # setValue repaints at once (not at the next paint), so only a new whole percent does
        self.progress_bar.setValue(int(100 * progress.fraction))
        text = f"epoch {progress.epoch} of {last}: {100 * progress.fraction:.0f}% · {time_left(left)} left"
        if text != self.progress_bar.format():
            self.progress_bar.setFormat(text)

    @Slot(object)
    def _on_epoch(self, report: EpochReport) -> None:
        patience = "off" if report.patience_left is None else f"{report.patience_left} left"
        launch = self.session.launch
        last = launch.last_epoch if launch else report.epoch
        # A scheduled learning rate changes every epoch: show the one this epoch trained with.
        rate = f" · lr {report.learning_rate:.3g}" if launch and launch.config.schedule != "constant" else ""
        self.epoch_label.setText(
            f"Epoch {report.epoch} of {last} · val acc {percent(report.val_accuracy, '–')} · "
            f"best {percent(report.best_val_accuracy, '–')} (epoch {report.best_epoch}) · patience {patience}{rate}")

    @Slot(object)
    def _on_setting_changed(self, change: SettingChanged) -> None:
        old, new = setting_value(change.name, change.old), setting_value(change.name, change.new)
        self.show_message(f"{change.name.replace('_', ' ')} {old} → {new} from epoch {change.epoch}, "
                          f"batch {change.batch}")

    @Slot(bool)
    def _on_paused(self, paused: bool) -> None:
        name = self.session.run_name
        self.show_message(f"Paused {name}: press Space or Resume to go on" if paused else f"Training {name}…")

    @Slot(object)
    def _on_ended(self, result: TrainingResult) -> None:
        if result.reason == "stopped":  # partway: the bar stays where the run was stopped
            self.progress_bar.setFormat(f"stopped at epoch {result.epochs + 1}")
        else:
            self.progress_bar.setValue(100)
            self.progress_bar.setFormat("diverged" if result.reason == "diverged" else "done")
        self.show_message(f"{self.session.run_name}: {result.message}; test accuracy "
                          f"{percent(result.test_accuracy, '–')}")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.progress_bar.setFormat("failed")
        self.show_message(f"{self.session.run_name} failed: {message}")

    @Slot()
    def _on_cleared(self) -> None:
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("idle")
        self.epoch_label.setText("")
        self.show_message("Ready")
