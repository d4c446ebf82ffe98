"""What a running training tells its watcher: plain, frozen records that cross threads safely."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class BatchProgress:
    """Progress within an epoch, sent at most every ``progress_interval`` seconds.

    ``losses`` holds the training loss of every batch since the previous progress report,
    in order (a copy the receiver may keep); ``first_batch`` is the 0-based index of the
    first of them within the epoch, so the batch trace can be drawn at ``epoch - 1 + b / batches``.
    """

    epoch: int
    batch: int  # batches done in this epoch
    batches: int  # batches per epoch
    first_batch: int
    losses: np.ndarray
    seconds: float  # time spent in this epoch so far
    # Diagnostics taken every N batches since the previous report (nnstudio.core.diagnostics.BatchDiagnostics).
    diagnostics: tuple = field(default=(), compare=False, repr=False)

    @property
    def fraction(self) -> float:
        return self.batch / self.batches if self.batches else 1.0


@dataclass(frozen=True)
class EpochReport:
    """The end of one epoch. Train figures are accumulated from the epoch's own batches."""

    epoch: int  # 1-based
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    learning_rate: float
    seconds: float  # wall time of the epoch, training plus validation
    best_epoch: int
    best_val_loss: float
    best_val_accuracy: float
    patience_left: int | None  # None when early stopping is off
    improved: bool
    # A look inside (nnstudio.core.diagnostics.Diagnostics), measured at the epoch's end; not saved.
    diagnostics: object | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class SettingChanged:
    """A live change of a hyperparameter that the trainer applied from ``batch`` of ``epoch`` on."""

    epoch: int
    batch: int
    batches: int
    name: str  # "learning_rate", "momentum" or "patience"
    old: float
    new: float

    @property
    def position(self) -> float:
        """Where the change happened, in epochs (for markers on an epoch axis)."""
        return self.epoch - 1 + self.batch / max(self.batches, 1)


@dataclass(frozen=True)
class TrainingResult:
    """How a run ended. The network holds the best epoch's weights when it ends."""

    reason: str  # "early_stopping", "max_epochs", "stopped", "diverged"
    message: str
    epochs: int  # epochs completed
    best_epoch: int  # 0 when no epoch completed
    best_val_loss: float
    best_val_accuracy: float
    test_loss: float | None
    test_accuracy: float | None
    seconds: float
    history: tuple[EpochReport, ...] = field(default_factory=tuple)
